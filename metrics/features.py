"""Evaluation nets, registered by name, and the one image convention into every net.

- `mnist_lenet`: a LeNet-style CNN trained by the harness on the data's own class labels
  (MNIST digits; on Fashion-MNIST, its classes). Features: the 256-d penultimate layer.
- `shapes_factors`: a multi-head CNN trained on the Shapes ground-truth factors; one softmax
  head per factor. Features: its 256-d penultimate layer; class probabilities: the shape head.
- `inception`: the standard FID Inception-v3 (torch-fidelity's port), features pool3 (2048-d),
  IS from its logits; weights from `metrics.inception_weights` or the usual download.

Nets trained here are cached by a hash of (net, data, recipe, seed) under
`${paths.cache}/feature_nets/`, atomically and under a lock (ganctrl/cache.py). They are
evaluation-only: the import rule keeps them out of every method (docs/DESIGN.md).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ganctrl.cache import build_once, config_hash

log = logging.getLogger(__name__)


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
        """One pass over an image set in batches; outputs on the CPU."""
        device = next(self.parameters()).device
        parts = [
            self.embed(self.convention(images[i : i + batch_size].to(device)))
            for i in range(0, len(images), batch_size)
        ]
        return NetOutput(
            torch.cat([p.features.float().cpu() for p in parts]),
            {k: torch.cat([p.logits[k].float().cpu() for p in parts]) for k in parts[0].logits},
        )


def _conv(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


class LeNet(EvaluationNet):
    name = "mnist_lenet"

    def __init__(self, num_classes: int = 10, channels: int = 1):
        super().__init__()
        self.convention = ImageConvention(size=32, channels=channels)
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 32, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(True),
        )  # fmt: skip
        self.dropout = nn.Dropout(0.3)
        self.heads = nn.ModuleDict({"class": nn.Linear(256, num_classes)})

    def embed(self, images: torch.Tensor) -> NetOutput:
        features = self.trunk(images)
        return NetOutput(features, {k: h(self.dropout(features)) for k, h in self.heads.items()})


class FactorNet(EvaluationNet):
    """One trunk, one softmax head per ground-truth factor; the first factor is the class."""

    name = "shapes_factors"

    def __init__(self, factor_names: tuple[str, ...], factor_sizes: tuple[int, ...], channels=3):
        super().__init__()
        self.convention = ImageConvention(size=32, channels=channels)
        self.class_head = factor_names[0]
        self.trunk = nn.Sequential(
            *_conv(channels, 32, 1), *_conv(32, 64, 2), *_conv(64, 64, 1), *_conv(64, 128, 2),
            *_conv(128, 128, 1), *_conv(128, 128, 2), nn.Flatten(),
            nn.Linear(128 * 4 * 4, 256), nn.ReLU(True),
        )  # fmt: skip
        self.heads = nn.ModuleDict(
            {n: nn.Linear(256, s) for n, s in zip(factor_names, factor_sizes, strict=True)}
        )

    def embed(self, images: torch.Tensor) -> NetOutput:
        features = self.trunk(images)
        return NetOutput(features, {k: h(features) for k, h in self.heads.items()})


@dataclass(frozen=True)
class TrainingRecipe:
    epochs: int
    lr: float = 1e-3
    batch_size: int = 64
    max_shift: int = 2  # random translation of each batch, pixels (augmentation)


def _targets(net: EvaluationNet, datamodule, split: str) -> dict[str, torch.Tensor]:
    if isinstance(net, FactorNet):
        factors = datamodule.factors(split)
        return {name: factors[:, i] for i, name in enumerate(net.heads)}
    return {"class": datamodule.labels(split)}


def _shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    if max_shift == 0:
        return images
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    return torch.roll(images, shifts=(dy, dx), dims=(2, 3))


def train_net(net: EvaluationNet, datamodule, recipe: TrainingRecipe, seed: int, device) -> None:
    """Supervised training on the train split (labels: evaluation only)."""
    generator = torch.Generator().manual_seed(seed)
    images = datamodule.images("train")
    targets = _targets(net, datamodule, "train")
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
def heldout_accuracy(net: EvaluationNet, datamodule, split: str = "test") -> dict[str, float]:
    """Per-head accuracy on a labelled split."""
    output = net.run(datamodule.images(split))
    targets = _targets(net, datamodule, split)
    return {k: float((output.logits[k].argmax(1) == targets[k]).float().mean()) for k in targets}


@dataclass(frozen=True)
class NetSpec:
    build: Callable[..., EvaluationNet]  # (datamodule) → untrained net
    recipe: TrainingRecipe


FEATURE_NETS: dict[str, NetSpec] = {}


def register_feature_net(name: str, build, recipe: TrainingRecipe) -> None:
    """Add an evaluation net by name (a user's own net needs no edit of this file)."""
    FEATURE_NETS[name] = NetSpec(build, recipe)


register_feature_net(
    "mnist_lenet",
    lambda dm: LeNet(dm.num_classes, dm.image_shape[0]),
    TrainingRecipe(epochs=15),
)
register_feature_net(
    "shapes_factors",
    lambda dm: FactorNet(dm.factor_names, dm.factor_sizes, dm.image_shape[0]),
    TrainingRecipe(epochs=12, max_shift=0),  # a shift would change the position factors
)

DEFAULT_NET = {"mnist_subset": "mnist_lenet", "mnist": "mnist_lenet",
               "fashion_mnist": "mnist_lenet", "shapes": "shapes_factors",
               "cifar10": "inception"}  # fmt: skip


def weights_hash(net: nn.Module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(net.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def evaluation_net(
    name: str, datamodule, cache_dir: str | Path, device, seed: int = 0,
    epochs: int | None = None, inception_weights: str | None = None,
) -> tuple[EvaluationNet, dict]:  # fmt: skip
    """The trained, frozen evaluation net `name` for this data, and facts about it."""
    if name == "inception":
        from ganctrl.metrics.inception import inception_net

        net = inception_net(inception_weights).to(device)
        return net, {"name": name, "weights_hash": net.weights_hash, "trained_here": False}
    if name not in FEATURE_NETS:
        raise KeyError(f"unknown feature net {name!r}; registered: {sorted(FEATURE_NETS)}")
    spec = FEATURE_NETS[name]
    recipe = (
        spec.recipe
        if epochs is None
        else TrainingRecipe(**{**asdict(spec.recipe), "epochs": epochs})
    )
    key = config_hash(
        {"net": name, "data": datamodule.identity(), "recipe": asdict(recipe), "seed": seed}
    )
    path = Path(cache_dir).expanduser() / "feature_nets" / f"{name}-{datamodule.name}-{key}.pt"

    def train() -> dict:
        torch.manual_seed(seed)
        net = spec.build(datamodule)
        start = time.perf_counter()
        train_net(net, datamodule, recipe, seed, device)
        seconds = time.perf_counter() - start
        accuracy = heldout_accuracy(net, datamodule)
        log.info("evaluation net %s trained in %.0f s; test accuracy %s", name, seconds, accuracy)
        state = {k: v.cpu() for k, v in net.state_dict().items()}
        return {"net": state, "test_accuracy": accuracy, "seconds": seconds}

    artifact, trained = build_once(path, train)
    net = spec.build(datamodule)
    net.load_state_dict(artifact["net"])
    net.to(device).eval().requires_grad_(False)
    net.weights_hash = weights_hash(net)
    info = {
        "name": name, "path": str(path), "trained_here": trained,
        "test_accuracy": artifact["test_accuracy"], "weights_hash": net.weights_hash,
        "convention": net.convention.describe(),
    }  # fmt: skip
    return net, info
