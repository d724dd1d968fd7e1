"""The reconstructor R of Voynov & Babenko and Lu et al. (docs/METHODS.md §4): it sees an image
and its shifted version concatenated on channels and predicts the direction k (K logits) and the
shift ε (a scalar). Two architectures, as in Voynov's `latent_shift_predictor.py`: LeNet for
small images and ResNet-18 for larger ones.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

ARCHITECTURES = ("lenet", "resnet18")


def _head(width: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, outputs)
    )


class LeNetShiftPredictor(nn.Module):
    """Three 5×5 convs (6, 16, 120 channels at `width` 2) with batch norm and ReLU, the first two
    max-pooled, the maps averaged, then two heads of one hidden layer each (Voynov's LeNet)."""

    def __init__(self, channels: int, k: int, width: int = 2):
        super().__init__()
        convs = []
        for c_in, c_out, pool in (
            (2 * channels, 3 * width, True),
            (3 * width, 8 * width, True),
            (8 * width, 60 * width, False),
        ):
            convs += [nn.Conv2d(c_in, c_out, 5), nn.BatchNorm2d(c_out), nn.ReLU()]
            convs += [nn.MaxPool2d(2)] if pool else []
        self.convs = nn.Sequential(*convs)
        self.direction = _head(60 * width, 42 * width, k)
        self.shift = _head(60 * width, 42 * width, 1)

    def forward(self, originals: torch.Tensor, shifted: torch.Tensor):
        features = self.convs(torch.cat([originals, shifted], dim=1)).mean(dim=(2, 3))
        return self.direction(features), self.shift(features).squeeze(1)


class ResNetShiftPredictor(nn.Module):
    """torchvision's ResNet-18, untrained, its first conv widened to the pair's channels, with a
    linear direction head and a linear shift head on the pooled 512 features."""

    def __init__(self, channels: int, k: int):
        super().__init__()
        self.trunk = resnet18(weights=None)
        self.trunk.conv1 = nn.Conv2d(2 * channels, 64, 7, 2, 3, bias=False)
        nn.init.kaiming_normal_(self.trunk.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.trunk.fc = nn.Identity()
        self.direction = nn.Linear(512, k)
        self.shift = nn.Linear(512, 1)

    def forward(self, originals: torch.Tensor, shifted: torch.Tensor):
        features = self.trunk(torch.cat([originals, shifted], dim=1))
        return self.direction(features), self.shift(features).squeeze(1)


def shift_predictor(architecture: str, channels: int, k: int) -> nn.Module:
    if architecture == "lenet":
        return LeNetShiftPredictor(channels, k)
    if architecture == "resnet18":
        return ResNetShiftPredictor(channels, k)
    raise ValueError(f"method.reconstructor must be one of {ARCHITECTURES}, got {architecture!r}")
