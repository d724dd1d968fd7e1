"""Method 5 (Ying et al.): MIC-GAN with ACRP sampling, and its pixel k-means baseline."""
