"""Methods that train a GAN of their own (the triple-coupled GAN, MIC-GAN) on the backbone the
job's `generator` group names, instead of steering the zoo's frozen one.

Such a method mixes in `OwnNetworks`; the job then hands it `networks=`, a `Networks`: the group's
generator and discriminator built for this data, with whatever a method changes (a condition
input, a discriminator that reads image pairs) passed as keyword arguments.
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
