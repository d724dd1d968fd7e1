"""Shared by every method plugin: the contract with the metrics, the control objects, and the
helpers that more than one plugin uses. Nothing here imports a plugin.
"""
