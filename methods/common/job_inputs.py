"""What a job hands a method beyond its config, for the methods that need more than the zoo's
frozen generator (`needs_generator`, methods/base.py). A method mixes in the marker; the job
(benchmarks/run.py) then passes the keyword argument.

- `OwnNetworks` → `networks=`, a `Networks`: the `generator` group's G and D built for this
  data, with whatever the method changes (a condition input, a K-way head, a discriminator that
  reads image pairs) passed as keyword arguments. For a method that trains a GAN of its own
  (the triple-coupled GAN, MIC-GAN).
- `TrainingImages` → `images=`: the training split's images, float in [−1, 1], (N, C, H, W), for a
  method that schedules its own passes over them or labels each by its index (MIC-GAN, k-means on
  pixels). Never the labels.
"""

from __future__ import annotations

from typing import Protocol

from torch import nn


class Networks(Protocol):
    image_shape: tuple[int, int, int]  # (channels, height, width) of the data

    def generator(self, **changes) -> nn.Module: ...

    def discriminator(self, **changes) -> nn.Module: ...


class OwnNetworks:
    """Marks a `ControlMethod` that the job builds with `networks=` (a `Networks`)."""


class TrainingImages:
    """Marks a `ControlMethod` that the job builds with `images=` (the training images)."""
