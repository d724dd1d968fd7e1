"""Method 3 (Zhu et al.): the ContraFeat navigator, its contrastive losses and its attention-only
rows.
"""
