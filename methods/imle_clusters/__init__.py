"""Method 1 (Georgopoulos et al.): IMLE mappings per k-means cluster of G's features, and its
truncation controls.
"""
