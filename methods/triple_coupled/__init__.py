"""Method 2 (Durall et al.): the triple-coupled latent-conditioned GAN, its featureless baseline
and its ablations.
"""
