"""Method 4 (Lu et al.) and Voynov & Babenko: a deformator and a reconstructor trained post hoc,
with the centroid loss.
"""
