"""The unconditional GAN: the recipe the zoo trains generators with, and the fidelity baseline."""
