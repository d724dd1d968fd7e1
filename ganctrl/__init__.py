"""ganctrl-bench: label-free GAN control methods on one harness."""
