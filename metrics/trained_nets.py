"""The evaluation nets the harness trains on a data set's own labels, and their training loop.

- `mnist_lenet`: a LeNet-style CNN trained on the data's class labels (MNIST digits; on
  Fashion-MNIST, its classes). Features: the 256-d penultimate layer.
- `shapes_factors`: a multi-head CNN trained on the Shapes ground-truth factors; one softmax
  head per factor. Features: its 256-d penultimate layer; class probabilities: the shape head.

Each is cached by a hash of (net, data, recipe, seed, code) under `${paths.cache}/feature_nets/`,
atomically and under a lock (ganctrl/cache.py). Labels train these nets and nothing else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ganctrl.cache import build_once, code_version, config_hash, training_hardware
from ganctrl.metrics.features import (
    EvaluationNet,
    ImageConvention,
    NetOutput,
    register_feature_net,
    weights_hash,
)

log = logging.getLogger(__name__)


def _conv(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


class TrainedNet(EvaluationNet):
    """An evaluation net the harness trains: it says which labels each of its heads learns."""

    def targets(self, datamodule, split: str) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class LeNet(TrainedNet):
    name = "mnist_lenet"

    def __init__(self, num_classes: int = 10, channels: int = 1):
        super().__init__()
        self.convention = ImageConvention(size=32, channels=channels)
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 32, 5, padding=2),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 8 * 8, 256),
            nn.ReLU(True),
        )
        self.dropout = nn.Dropout(0.3)
        self.heads = nn.ModuleDict({"class": nn.Linear(256, num_classes)})

    def embed(self, images: torch.Tensor) -> NetOutput:
        features = self.trunk(images)
        return NetOutput(features, {k: h(self.dropout(features)) for k, h in self.heads.items()})

    def targets(self, datamodule, split: str) -> dict[str, torch.Tensor]:
        return {"class": datamodule.labels(split)}


class FactorNet(TrainedNet):
    """One trunk, one softmax head per ground-truth factor; the first factor is the class."""

    name = "shapes_factors"

    def __init__(self, factor_names: tuple[str, ...], factor_sizes: tuple[int, ...], channels=3):
        super().__init__()
        self.convention = ImageConvention(size=32, channels=channels)
        self.class_head = factor_names[0]
        self.trunk = nn.Sequential(
            *_conv(channels, 32, 1),
            *_conv(32, 64, 2),
            *_conv(64, 64, 1),
            *_conv(64, 128, 2),
            *_conv(128, 128, 1),
            *_conv(128, 128, 2),
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 256),
            nn.ReLU(True),
        )
        self.heads = nn.ModuleDict(
            {n: nn.Linear(256, s) for n, s in zip(factor_names, factor_sizes, strict=True)}
        )

    def embed(self, images: torch.Tensor) -> NetOutput:
        features = self.trunk(images)
        return NetOutput(features, {k: h(features) for k, h in self.heads.items()})

    def targets(self, datamodule, split: str) -> dict[str, torch.Tensor]:
        factors = datamodule.factors(split)
        return {name: factors[:, i] for i, name in enumerate(self.heads)}


@dataclass(frozen=True)
class TrainingRecipe:
    epochs: int
    lr: float = 1e-3
    batch_size: int = 64
    max_shift: int = 2  # random translation of each batch, pixels (augmentation)


def _shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    if max_shift == 0:
        return images
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    return torch.roll(images, shifts=(dy, dx), dims=(2, 3))


def train_net(net: TrainedNet, datamodule, recipe: TrainingRecipe, seed: int, device) -> None:
    """Supervised training on the train split (labels: evaluation only)."""
    generator = torch.Generator().manual_seed(seed)
    images = datamodule.images("train")
    targets = net.targets(datamodule, "train")
    net.to(device).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    steps = recipe.epochs * (len(images) // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, recipe.lr, total_steps=steps)
    bar = tqdm(total=steps, desc=f"evaluation net {net.name}", unit="it", mininterval=5.0)
    for _ in range(recipe.epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(order) - recipe.batch_size + 1, recipe.batch_size):
            batch = order[start : start + recipe.batch_size]
            x = _shift(images[batch], recipe.max_shift, generator).to(device)
            logits = net.embed(net.convention(x)).logits
            loss = sum(F.cross_entropy(logits[k], targets[k][batch].to(device)) for k in logits)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            bar.update(1)
    bar.close()
    net.eval()


@torch.no_grad()
def heldout_accuracy(net: TrainedNet, datamodule, split: str = "test") -> dict[str, float]:
    """Per-head accuracy on a labelled split."""
    output = net.run(datamodule.images(split))
    targets = net.targets(datamodule, split)
    return {k: float((output.logits[k].argmax(1) == targets[k]).float().mean()) for k in targets}


def register_trained_net(name: str, build: Callable[..., TrainedNet], recipe: TrainingRecipe):
    """Register net `name`: `build(datamodule)` trained with `recipe` on the data's train split
    the first time any job asks, then read from the cache."""

    def load(datamodule, cache_dir: Path, device, settings) -> tuple[TrainedNet, dict]:
        seed, epochs = settings.feature_net_seed, settings.feature_net_epochs
        chosen = recipe if epochs is None else replace(recipe, epochs=epochs)
        key = config_hash(
            {
                "net": name,
                "data": datamodule.identity(),
                "recipe": asdict(chosen),
                "seed": seed,
                "code": code_version(build),
                **training_hardware(device),
            }
        )
        path = cache_dir / "feature_nets" / f"{name}-{datamodule.name}-{key}.pt"

        def train() -> dict:
            torch.manual_seed(seed)
            net = build(datamodule)
            start = time.perf_counter()
            train_net(net, datamodule, chosen, seed, device)
            seconds = time.perf_counter() - start
            accuracy = heldout_accuracy(net, datamodule)
            log.info(
                "evaluation net %s trained in %.0f s; test accuracy %s", name, seconds, accuracy
            )
            state = {k: v.cpu() for k, v in net.state_dict().items()}
            return {"net": state, "test_accuracy": accuracy, "seconds": seconds}

        artifact, trained = build_once(path, train)
        net = build(datamodule)
        net.load_state_dict(artifact["net"])
        net.to(device).eval().requires_grad_(False)
        net.weights_hash = weights_hash(net)
        info = {
            "name": name,
            "path": str(path),
            "trained_here": trained,
            "test_accuracy": artifact["test_accuracy"],
            "weights_hash": net.weights_hash,
            "convention": net.convention.describe(),
        }
        return net, info

    register_feature_net(name, load)


def _lenet(datamodule) -> LeNet:
    return LeNet(datamodule.num_classes, datamodule.image_shape[0])


def _factor_net(datamodule) -> FactorNet:
    return FactorNet(datamodule.factor_names, datamodule.factor_sizes, datamodule.image_shape[0])


register_trained_net("mnist_lenet", _lenet, TrainingRecipe(epochs=15))
# No shifts for Shapes: a shift would change the position factors.
register_trained_net("shapes_factors", _factor_net, TrainingRecipe(epochs=12, max_shift=0))
