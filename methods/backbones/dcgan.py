"""DCGAN (Radford et al. 2016) at 32 or 64 px, with conditioning hooks and per-block taps."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganctrl.methods.backbones.base import GeneratorBase
from ganctrl.methods.backbones.conditioning import LatentInput


class _Project(nn.Module):
    """z → (channels, 4, 4): the generator's first block."""

    def __init__(self, in_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        self.linear = nn.Linear(in_dim, channels * 16, bias=False)
        self.post = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.post(self.linear(z).view(-1, self.channels, 4, 4))


def num_upsamplings(image_size: int) -> int:
    n = int(math.log2(image_size / 4))
    if image_size < 8 or 4 * 2**n != image_size:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return n


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DCGANGenerator(GeneratorBase):
    """Blocks: projection to 4×4, then ×2 transposed-conv blocks up to the image.

    `features(z, n)` is the activation after the first n blocks (n = 2: the first up-sampling
    block; n = num_blocks: the image).
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        z_dim: int = 100,
        width: int = 64,
        num_classes: int = 0,
        cond_dim: int = 0,
    ):
        super().__init__()
        self.z_dim, self.channels, self.image_size = z_dim, channels, image_size
        self.input = LatentInput(z_dim, num_classes, cond_dim)
        n_up = num_upsamplings(image_size)
        widths = [width * 2 ** (n_up - 1 - i) for i in range(n_up)]  # e.g. 256, 128, 64
        blocks = [_Project(self.input.out_dim, widths[0])]
        blocks += [up_block(widths[i], widths[i + 1]) for i in range(n_up - 1)]
        blocks.append(self._output_block(widths[-1], channels))
        self.blocks = nn.ModuleList(blocks)
        self.num_blocks = len(self.blocks)

    def _output_block(self, c_in: int, channels: int) -> nn.Module:
        return nn.Sequential(nn.ConvTranspose2d(c_in, channels, 4, 2, 1), nn.Tanh())

    def features(self, z: torch.Tensor, layer: int, labels=None, cond=None) -> torch.Tensor:
        self.check_layer(layer)
        h = self.input(z, labels, cond)
        for block in self.blocks[:layer]:
            h = block(h)
        return h

    def forward(self, z: torch.Tensor, labels=None, cond=None) -> torch.Tensor:
        return self.features(z, self.num_blocks, labels, cond)


class DCGANDiscriminator(nn.Module):
    """Strided convs down to 4×4, then one unconditional logit plus one per class.

    `forward(x)` gives the unconditional logit; `forward(x, labels)` the logit of each image's
    class head (MIC-GAN's K-way head). `channels` is the input's (2× for pair discriminators).
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        width: int = 64,
        num_classes: int = 0,
        batch_norm: bool = True,
    ):
        super().__init__()
        n_down = num_upsamplings(image_size)
        layers, c_in = [], channels
        for i in range(n_down):
            c_out = width * 2**i
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm or i == 0))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c_in * 16, 1 + num_classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return select_head(self.head(self.trunk(x)), labels)


def select_head(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Column 0 is the unconditional head; column 1 + y the head of class y."""
    if labels is None:
        return logits[:, 0]
    return logits.gather(1, (labels + 1).view(-1, 1)).squeeze(1)
