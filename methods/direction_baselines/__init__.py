"""The closed-form direction baselines (random, axes, GANSpace, SeFa) as one plugin."""
