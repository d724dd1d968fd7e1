"""The contract between methods and metrics: what a method learned, as three control objects.

Every method is a `ControlMethod` (a LightningModule). After fitting, `controls()` returns one of:

- `Clusters`   — k clusters: `sample_cluster(c, n)`, `weights`, optional `assign(images)`, and
                 where the clusters live in G's latent space, `cluster_latents(c)` (the latents
                 the cluster was formed from) and `sample_cluster_latents(c, n)`;
- `Exemplars`  — `sample_like(images, n_per)`: generate in the "class" of given real images;
- `Directions` — k latent directions: `sample_latents(n)`, `edit(latents, k, eps)`, `render`,
                 and where edits are linear, `coordinates(latents)` and `layer_profile()`;

and the fidelity baseline `Unconditional`. All of them offer `sample(n, seed)` so the fidelity
metrics apply to every method, `grid(seed)` — the picture of what it learned — and `pictures(seed)`,
every picture a run saves (the grid first).
Images are float tensors in [-1, 1], (N, C, H, W), on the control's device.
"""

from __future__ import annotations

import abc

import torch
import torchvision
from pytorch_lightning import LightningModule
from torch import nn


def overrides(control: Control, base: type, name: str) -> bool:
    """Whether `control`'s class replaces `base`'s default (raising) version of method `name`:
    how a control says it offers an optional capability."""
    return getattr(type(control), name) is not getattr(base, name)


def seeded(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def to_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """[-1, 1] images → one (3, H, W) picture in [0, 1], ready for save_image or wandb."""
    return torchvision.utils.make_grid(
        images.detach().float().cpu(), nrow=nrow, padding=1, normalize=True, value_range=(-1, 1)
    )


class Control(abc.ABC):
    """A trained generator plus what the method learned to steer it."""

    def __init__(self, generator: nn.Module, batch_size: int = 256):
        self.generator = generator.eval()
        self.batch_size = batch_size

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @abc.abstractmethod
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n unconditional samples."""

    @abc.abstractmethod
    def grid(self, seed: int = 0) -> torch.Tensor:
        """A (3, H, W) picture in [0, 1] of what the method controls."""

    def pictures(self, seed: int = 0) -> dict[str, torch.Tensor]:
        """Every picture a run saves, by file stem; "grid" first."""
        return {"grid": self.grid(seed)}

    @torch.no_grad()
    def render_latents(self, latents: torch.Tensor, **condition) -> torch.Tensor:
        """G over latents in batches of `batch_size` (conditions are split alongside)."""
        outputs = []
        for start in range(0, len(latents), self.batch_size):
            part = slice(start, start + self.batch_size)
            outputs.append(
                self.generator(latents[part], **{k: v[part] for k, v in condition.items()})
            )
        return torch.cat(outputs)


class Unconditional(Control):
    """The fidelity baseline: the generator as it is."""

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        latents = self.generator.sample_latents(n, generator=seeded(seed, self.device))
        return self.render_latents(latents)

    def grid(self, seed: int = 0) -> torch.Tensor:
        return to_grid(self.sample(64, seed), nrow=8)


class Clusters(Control):
    """k clusters with mixture weights; `sample(n)` draws from the weighted mixture.
    `subpopulation`: the clusters split one part of the data by design (IMLE's hierarchy), so
    comparing the mixture with the whole data set does not apply."""

    k: int
    weights: torch.Tensor  # (k,), sums to 1
    subpopulation: bool = False

    @abc.abstractmethod
    def sample_cluster(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        """n samples of one cluster."""

    def assign(self, images: torch.Tensor) -> torch.Tensor:
        """Cluster index per real image; only methods with an encoder can."""
        raise NotImplementedError(f"{type(self).__name__} cannot assign real images")

    @property
    def can_assign(self) -> bool:
        return overrides(self, Clusters, "assign")

    def cluster_latents(self, cluster: int) -> torch.Tensor:
        """The generator latents cluster `cluster` was formed from (post-hoc methods only)."""
        raise NotImplementedError(f"{type(self).__name__} has no latents behind its clusters")

    def sample_cluster_latents(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        """n latents of one cluster, as `sample_cluster` renders them."""
        raise NotImplementedError(f"{type(self).__name__} has no latents behind its clusters")

    @property
    def has_latents(self) -> bool:
        return overrides(self, Clusters, "cluster_latents")

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        rng = torch.Generator().manual_seed(seed)
        picks = torch.multinomial(self.weights.cpu().float(), n, replacement=True, generator=rng)
        per_cluster = torch.bincount(picks, minlength=self.k).tolist()
        parts = [self.sample_cluster(c, m, seed + c) for c, m in enumerate(per_cluster) if m]
        return torch.cat(parts)[torch.randperm(n, generator=rng)]

    def grid(self, seed: int = 0, per_cluster: int = 10) -> torch.Tensor:
        """One row per cluster."""
        rows = [self.sample_cluster(c, per_cluster, seed + c) for c in range(self.k)]
        return to_grid(torch.cat(rows), nrow=per_cluster)

    def pictures(self, seed: int = 0) -> dict[str, torch.Tensor]:
        """The grid, then an 8×8 picture of each cluster."""
        width = len(str(self.k - 1))
        return {
            "grid": self.grid(seed),
            **{
                f"cluster_{c:0{width}d}": to_grid(self.sample_cluster(c, 64, seed + c), nrow=8)
                for c in range(self.k)
            },
        }


class Exemplars(Control):
    """Generate images in the "class" of given real images (the triple-coupled GAN)."""

    @abc.abstractmethod
    def sample_like(self, images: torch.Tensor, n_per: int, seed: int = 0) -> torch.Tensor:
        """(len(images) · n_per) samples, n_per per exemplar in exemplar order."""

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The method's own (label-free) feature space, where it has one."""
        raise NotImplementedError(f"{type(self).__name__} has no feature space to encode into")

    @property
    def can_encode(self) -> bool:
        return overrides(self, Exemplars, "encode")


class Directions(Control):
    """k directions in a latent space: edit latents, then render them."""

    k: int

    @abc.abstractmethod
    def sample_latents(self, n: int, seed: int = 0) -> torch.Tensor: ...

    @abc.abstractmethod
    def edit(self, latents: torch.Tensor, k: int, eps: float | torch.Tensor) -> torch.Tensor: ...

    @abc.abstractmethod
    def render(self, latents: torch.Tensor) -> torch.Tensor: ...

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        return self.render(self.sample_latents(n, seed))

    def coordinates(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, K): each latent's coordinate along each direction, where edits are linear: the
        control code the disentanglement encoder learns."""
        raise NotImplementedError(f"{type(self).__name__} has no coordinates along its directions")

    @property
    def has_coordinates(self) -> bool:
        return overrides(self, Directions, "coordinates")

    def layer_profile(self) -> torch.Tensor | None:
        """(K, num_ws): how far each direction moves each layer of w⁺, where directions move
        layers unequally; None otherwise."""
        return None

    def grid(self, seed: int = 0, steps: int = 9, scale: float = 3.0) -> torch.Tensor:
        """One traversal strip per direction, from −scale to +scale."""
        base = self.sample_latents(1, seed)
        eps = torch.linspace(-scale, scale, steps)
        strips = [
            self.render(torch.cat([self.edit(base, k, e) for e in eps])) for k in range(self.k)
        ]
        return to_grid(torch.cat(strips), nrow=steps)


class ControlMethod(LightningModule):
    """A method plugin. Subclasses set the class flags and implement `controls()`.

    `needs_generator`: the job hands it the zoo's pretrained, frozen generator as `generator=`.
    `trains_on_images`: fit on the datamodule's images; a method that learns from the generator
    alone sets it False and brings its own `train_dataloader()` (its schedule of iterations).
    `steps`: the training budget in iterations of the method's own loop (Lightning's global_step
    counts optimizer steps, which differ from iterations when a step updates several nets);
    the method stops itself when the budget is spent. A method with steps = 0 has nothing to fit.
    `supports_ddp`: whether it can train in several processes; a method that brings its own
    schedule of iterations (IMLE: one cluster-epoch per iteration) cannot, and a job that asks
    for more than one device is refused at start.
    """

    needs_generator: bool = False
    trains_on_images: bool = True
    supports_ddp: bool = True

    def __init__(self, steps: int):
        super().__init__()
        if steps < 0:
            raise ValueError(f"method.steps must be >= 0, got {steps}")
        self.steps = steps
        self.iteration = 0

    @property
    def trains(self) -> bool:
        return self.steps > 0

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.iteration += 1
        if self.iteration >= self.steps:
            self.trainer.should_stop = True

    def summary(self) -> dict:
        """What fitting did, for results.json ("training")."""
        return {"iterations": self.iteration}

    @abc.abstractmethod
    def controls(self) -> Control: ...
