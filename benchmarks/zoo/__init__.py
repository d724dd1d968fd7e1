"""The generator zoo: pretrained generators per (data, backbone), their quality and training
curves.
"""
