"""Label-free sensors that methods train with: AlexNet conv taps, random or ImageNet, and raw
pixels (the control a learned sensor must beat).

They live on the methods' side of the import rule (docs/DESIGN.md, "Who may import whom"): no
network trained on labels for evaluation may ever train a method. `random_alexnet` is the
seeded, untrained AlexNet the triple-coupled paper uses on MNIST; `imagenet_alexnet` loads
ImageNet weights from a file the user has (no download here).

Input convention: images in [-1, 1], any size, 1 or 3 channels → grey repeated to 3 channels,
resized bilinearly (no antialias) to `input_size` (64 px by default: at 32 px AlexNet's deep maps
shrink to nothing), then mapped to ImageNet's normalisation.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from ganctrl.seeding import cpu_seeded

# torchvision AlexNet: the ReLU after each of the five convs in `features`.
TAP_INDICES = (1, 4, 7, 9, 11)
_IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class AlexNetSensor(nn.Module):
    def __init__(self, weights_path: str | None = None, seed: int = 0, input_size: int = 64):
        super().__init__()
        with cpu_seeded(seed):
            self.features = torchvision.models.alexnet(weights=None).features
        if weights_path is not None:
            path = Path(weights_path).expanduser()
            if not path.is_file():
                raise FileNotFoundError(
                    f"AlexNet weights {path} not found: pass a torchvision AlexNet state_dict file"
                )
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = {
                k.removeprefix("features."): v for k, v in state.items() if "classifier" not in k
            }
            self.features.load_state_dict(state)
        self.input_size = input_size
        self.register_buffer("mean", _IMAGENET_MEAN.clone(), persistent=False)
        self.register_buffer("std", _IMAGENET_STD.clone(), persistent=False)
        self.eval().requires_grad_(False)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        if images.shape[-1] != self.input_size or images.shape[-2] != self.input_size:
            images = F.interpolate(
                images, size=self.input_size, mode="bilinear", align_corners=False, antialias=False
            )
        return ((images + 1) / 2 - self.mean) / self.std

    def forward(self, images: torch.Tensor, depth: int = len(TAP_INDICES)) -> list[torch.Tensor]:
        """The first `depth` of the five conv-ReLU maps, shallow to deep. Gradients flow to the
        images."""
        x, taps = self.prepare(images), []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAP_INDICES:
                taps.append(x)
                if len(taps) == depth:
                    break
        return taps

    def pooled(self, images: torch.Tensor, layer: int = 5) -> torch.Tensor:
        """Conv map `layer` (1–5), average pooled to one vector per image."""
        if not 1 <= layer <= len(TAP_INDICES):
            raise ValueError(f"layer must lie in [1, {len(TAP_INDICES)}], got {layer}")
        return self(images, depth=layer)[layer - 1].mean(dim=(2, 3))


def random_alexnet(seed: int = 0, input_size: int = 64) -> AlexNetSensor:
    return AlexNetSensor(None, seed, input_size)


def imagenet_alexnet(weights_path: str, input_size: int = 64) -> AlexNetSensor:
    return AlexNetSensor(weights_path, 0, input_size)


SENSORS = {"random_alexnet": random_alexnet, "imagenet_alexnet": imagenet_alexnet}
FEATURE_SENSORS = (*SENSORS, "pixels")


class PooledTap(nn.Module):
    """images → (N, D): one AlexNet conv map, average pooled."""

    def __init__(self, sensor: AlexNetSensor, layer: int):
        super().__init__()
        if not 1 <= layer <= len(TAP_INDICES):
            raise ValueError(f"feature_layer must lie in [1, {len(TAP_INDICES)}], got {layer}")
        self.sensor, self.layer = sensor, layer

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.sensor.pooled(images, self.layer)


class Pixels(nn.Module):
    """images → (N, C·H·W): the raw pixels, no network at all."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


def feature_extractor(
    sensor: str,
    layer: int = 5,
    seed: int = 0,
    input_size: int = 64,
    weights_path: str | None = None,
) -> nn.Module:
    """A frozen images → (N, D) feature map: a pooled AlexNet conv map, or the pixels."""
    if sensor == "pixels":
        return Pixels()
    if sensor == "random_alexnet":
        return PooledTap(random_alexnet(seed, input_size), layer)
    if sensor == "imagenet_alexnet":
        if weights_path is None:
            raise ValueError(
                "sensor=imagenet_alexnet needs sensor_weights: a torchvision "
                "AlexNet state_dict file (nothing is downloaded)"
            )
        return PooledTap(imagenet_alexnet(weights_path, input_size), layer)
    raise ValueError(f"sensor must be one of {FEATURE_SENSORS}, got {sensor!r}")
