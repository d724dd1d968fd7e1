"""Evaluation nets: the one image convention into every net, and the registry of nets by name.

A net registers a loader under its name (`register_feature_net`); `evaluation_net(name, …)`
returns the trained, frozen net and facts about it. The nets themselves live apart:
metrics/trained_nets.py (`mnist_lenet`, `shapes_factors`, trained by the harness on the data's
own labels) and metrics/inception.py (`inception`). Each data set names its default net
(`datamodule.evaluation_net`). Evaluation nets never train a method: the import rule keeps them
out of every method module (docs/DESIGN.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ImageConvention:
    """How images in [-1, 1] (N, C, H, W) are shaped for a net: grey repeated to RGB where the
    net takes 3 channels, resized bilinearly without antialias, then mapped to the net's range."""

    size: int | None  # None: the net resizes on its own (Inception, TF-style bilinear)
    channels: int
    low: float = -1.0
    high: float = 1.0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] != self.channels:
            if images.shape[1] == 1 and self.channels == 3:
                images = images.expand(-1, 3, -1, -1)
            else:
                raise ValueError(f"a net for {self.channels}-channel images got {images.shape[1]}")
        if self.size is not None and images.shape[-2:] != (self.size, self.size):
            images = F.interpolate(
                images, size=self.size, mode="bilinear", align_corners=False, antialias=False
            )
        return (images + 1.0) * ((self.high - self.low) / 2.0) + self.low

    def describe(self) -> dict:
        return {"input_range": [-1.0, 1.0], **asdict(self), "resize": "bilinear, no antialias"}


@dataclass
class NetOutput:
    features: torch.Tensor  # (N, d): what FID, KID, P/R and D/C compare
    logits: dict[str, torch.Tensor]  # head name → (N, classes); "class" drives IS and purity


class EvaluationNet(nn.Module):
    """A frozen net with a name, an input convention and a weights hash for cache keys."""

    name: str
    convention: ImageConvention
    class_head: str = "class"

    def __init__(self):
        super().__init__()
        self.weights_hash = ""

    def embed(self, images: torch.Tensor) -> NetOutput:
        raise NotImplementedError

    @torch.no_grad()
    def run(self, images: torch.Tensor, batch_size: int = 500) -> NetOutput:
        """One pass over an image set in batches; outputs on the CPU, the same whatever the
        batch size (other tools' FID moves with it): the net must be in eval mode, where batch
        norm and dropout treat each image on its own."""
        if self.training:
            raise ValueError(
                f"evaluation net {self.name} is in training mode: its features would "
                "depend on the batch; call .eval() first"
            )
        device = next(self.parameters()).device
        parts = [
            self.embed(self.convention(images[i : i + batch_size].to(device)))
            for i in range(0, len(images), batch_size)
        ]
        return NetOutput(
            torch.cat([p.features.float().cpu() for p in parts]),
            {k: torch.cat([p.logits[k].float().cpu() for p in parts]) for k in parts[0].logits},
        )


# A loader: (datamodule, cache_dir, device, metrics settings) → (trained frozen net, its facts).
NetLoader = Callable[..., tuple[EvaluationNet, dict]]
FEATURE_NETS: dict[str, NetLoader] = {}


def register_feature_net(name: str, load: NetLoader) -> None:
    """Add an evaluation net by name (a user's own net needs no edit of this file)."""
    if name in FEATURE_NETS:
        raise ValueError(f"an evaluation net named {name!r} is registered already")
    FEATURE_NETS[name] = load


def weights_hash(net: nn.Module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(net.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def evaluation_net(name: str, datamodule, cache_dir: str | Path, device, settings):
    """The trained, frozen evaluation net `name` for this data, and facts about it."""
    if name not in FEATURE_NETS:
        raise KeyError(f"unknown feature net {name!r}; registered: {sorted(FEATURE_NETS)}")
    return FEATURE_NETS[name](datamodule, Path(cache_dir).expanduser(), device, settings)
