"""SNGAN "standard CNN" (Miyato et al. 2018, Table 3), the triple-coupled paper's backbone.

The generator is DCGAN's, ending in a 3×3 conv at full resolution instead of a last transposed
conv; the discriminator interleaves 3×3 and strided 4×4 convs, all spectrally normalised.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganctrl.methods.backbones.dcgan import (
    DCGANGenerator,
    num_upsamplings,
    select_head,
    up_block,
)


class SNGANGenerator(DCGANGenerator):
    def _output_block(self, c_in: int, channels: int) -> nn.Module:
        return nn.Sequential(
            up_block(c_in, c_in // 2), nn.Conv2d(c_in // 2, channels, 3, 1, 1), nn.Tanh()
        )


class SNGANDiscriminator(nn.Module):
    def __init__(
        self, channels: int = 1, image_size: int = 32, width: int = 64, num_classes: int = 0
    ):
        super().__init__()
        layers, c_in = [], channels
        for i in range(num_upsamplings(image_size)):
            c_out = width * 2**i
            layers += [
                spectral_norm(nn.Conv2d(c_in, c_out, 3, 1, 1)),
                nn.LeakyReLU(0.1, inplace=True),
                spectral_norm(nn.Conv2d(c_out, c_out, 4, 2, 1)),
                nn.LeakyReLU(0.1, inplace=True),
            ]
            c_in = c_out
        layers += [spectral_norm(nn.Conv2d(c_in, 2 * c_in, 3, 1, 1)), nn.LeakyReLU(0.1, True)]
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.head = spectral_norm(nn.Linear(2 * c_in * 16, 1 + num_classes))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return select_head(self.head(self.trunk(x)), labels)
