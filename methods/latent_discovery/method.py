"""Unsupervised discovery of latent directions with a deformator and a reconstructor
(docs/METHODS.md §4): Voynov & Babenko's method, and Lu et al.'s two-shift training with the
centroid loss on top.

Post-hoc on the zoo's frozen G, in its own latent space (z, or w for a style-based G, every layer
of w⁺ shifted alike). Per step, with k ~ U{K} and ε = 6·U(−1, 1), |ε| ≥ 0.5:
- Voynov: R sees [G(x), G(x + A(ε e_k))] and predicts (k, ε); loss CE + 0.25·|ε̂ − ε|;
- Lu et al. (`two_shifts`): a second shift on top of the first, x₂ = G(x + A(ε₁e_{k1}) +
  A(ε₂e_{k2})); R predicts (k₁, ε₁) from (x₀, x₁) and (k₂, ε₂) from (x₁, x₂); loss CE + 0.5·L1
  over both pairs + 0.25·the centroid loss over both shifts' codes (`centroid`).
A and R are updated together (Adam, 1e-4 each); the id and random types keep A fixed.

The control edits x + A(ε e_k) − A(0): a deformator with a bias (linear, fc) shifts every latent by
A(0) whatever the direction, and the metrics' calibrated edits need ε = 0 to leave an image alone.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.methods.backbones.base import latent_space, space_dim
from ganctrl.methods.common.contract import ControlMethod
from ganctrl.methods.common.linear_directions import LinearDirections
from ganctrl.methods.common.streams import iteration_stream
from ganctrl.methods.latent_discovery.deformators import (
    MIN_SHIFT,
    SHIFT_SCALE,
    LatentDeformator,
    centroid_loss,
    one_hot_codes,
    sample_shifts,
)
from ganctrl.methods.latent_discovery.shift_predictors import shift_predictor
from ganctrl.seeding import cpu_seeded

CENTROID_SIGNS = ("pull", "literal")
SUMMARY_SHIFTS = 12  # ε values, spread over ±[0.5, 6], that summarise each learned direction


def pair_loss(
    logits: torch.Tensor,
    predicted_eps: torch.Tensor,
    directions: torch.Tensor,
    eps: torch.Tensor,
    shift_weight: float,
) -> torch.Tensor:
    """CE(k̂, k) + shift_weight·mean |ε̂ − ε| (Voynov: 0.25; Lu et al.: 0.5)."""
    return F.cross_entropy(logits, directions) + shift_weight * (predicted_eps - eps).abs().mean()


def cumulative_latents(base: torch.Tensor, shifts: list[torch.Tensor]) -> list[torch.Tensor]:
    """[x, x + s₁, x + s₁ + s₂, …]; a (B, d) shift moves every layer of a w⁺ base (B, L, d)."""
    latents = [base]
    for shift in shifts:
        latents.append(latents[-1] + (shift if base.ndim == 2 else shift[:, None]))
    return latents


def summary_shifts(device=None) -> torch.Tensor:
    """±ε on a grid over [0.5, 6], the training range."""
    half = torch.linspace(MIN_SHIFT, SHIFT_SCALE, SUMMARY_SHIFTS // 2, device=device)
    return torch.cat([-half.flip(0), half])


class DeformatorDirections(LinearDirections):
    """The deformator's K directions: edit(x, k, ε) = x + A(ε e_k) − A(0), ε in the deformator's
    own units. `directions` (what `coordinates` projects on) are each direction's mean unit shift
    over ε ∈ ±[0.5, 6], exact for every type but fc; `reconstruct` is the method's own R."""

    def __init__(
        self,
        generator: nn.Module,
        deformator: LatentDeformator,
        predictor: nn.Module,
        space: str,
        batch_size: int = 256,
    ):
        self.deformator, self.predictor = deformator.eval(), predictor.eval()
        self.k = deformator.k
        device = next(generator.parameters()).device
        with torch.no_grad():
            self.origin = deformator(torch.zeros(1, deformator.k, device=device))[0]
            eps = summary_shifts(device)
            mean_shifts, self.shift_norms = [], []
            for k in range(deformator.k):
                shifts = self.shift(k, eps)
                self.shift_norms.append(float((shifts.norm(dim=1) / eps.abs()).mean()))
                mean_shifts.append((torch.sign(eps)[:, None] * shifts).mean(dim=0))
        super().__init__(generator, torch.stack(mean_shifts), space, batch_size)

    @torch.no_grad()
    def shift(self, k: int, eps: torch.Tensor) -> torch.Tensor:
        """(N, d): A(ε e_k) − A(0) for each ε."""
        codes = one_hot_codes(torch.full_like(eps, k, dtype=torch.long), eps, self.k)
        return self.deformator(codes) - self.origin

    @torch.no_grad()
    def edit(self, latents: torch.Tensor, k: int, eps: float | torch.Tensor) -> torch.Tensor:
        eps = torch.as_tensor(eps, dtype=latents.dtype, device=latents.device)
        shifts = self.shift(k, eps.reshape(-1).expand(len(latents)))
        return latents + (shifts if self.space == "z" else shifts[:, None])

    @torch.no_grad()
    def reconstruct(self, originals: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
        return self.predictor(originals, edited)[0]


class LatentDiscovery(ControlMethod):
    """Voynov & Babenko (`two_shifts: false`, `centroid: false`) or Lu et al. (both true)."""

    needs_generator = True
    trains_on_images = False  # it learns from G alone, one batch of shifts per iteration
    supports_ddp = False  # each step's draws come from one seeded stream

    def __init__(
        self,
        generator: nn.Module,
        deformator: str = "ortho",
        directions: int = 10,
        steps: int = 100000,
        two_shifts: bool = False,
        centroid: bool = False,
        centroid_sign: str = "pull",
        shift_weight: float = 0.25,
        centroid_weight: float = 0.25,
        reconstructor: str = "lenet",
        random_init: bool = True,
        lr: float = 1e-4,
        batch_size: int = 32,
        seed: int = 0,
    ):
        if centroid_sign not in CENTROID_SIGNS:
            raise ValueError(
                f"method.centroid_sign must be one of {CENTROID_SIGNS}, got {centroid_sign!r}"
            )
        if centroid and not two_shifts and batch_size < 2:
            raise ValueError("the centroid loss needs a batch of at least 2 codes")
        super().__init__(steps)
        self.automatic_optimization = False
        self.generator = generator.eval().requires_grad_(False)
        self.space = latent_space(generator)
        self.k, self.two_shifts, self.centroid = directions, two_shifts, centroid
        self.literal = centroid_sign == "literal"
        self.shift_weight, self.centroid_weight = shift_weight, centroid_weight
        self.lr, self.batch_size, self.seed = lr, batch_size, seed
        dim = space_dim(generator, self.space)
        self.deformator = LatentDeformator(deformator, directions, dim, seed, random_init)
        with cpu_seeded(seed + 1):
            self.predictor = shift_predictor(reconstructor, generator.channels, directions)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(range(self.steps), batch_size=None, shuffle=False)

    def configure_optimizers(self):
        nets = [self.predictor] + ([self.deformator] if self.deformator.trainable else [])
        return [torch.optim.Adam(net.parameters(), lr=self.lr) for net in nets]

    def render(self, latents: torch.Tensor) -> torch.Tensor:
        """G over base latents (z, or w⁺), with gradients to the shifts."""
        return self.generator(latents) if self.space == "z" else self.generator.synthesis(latents)

    def training_step(self, iteration: int, batch_idx: int) -> None:
        rng = iteration_stream(self.seed, int(iteration))
        g, n = self.generator, self.batch_size
        with torch.no_grad():
            base = g.sample_latents(n, generator=rng, device="cpu").to(self.device)
            base = base if self.space == "z" else g.mapping(base)
        draws = [sample_shifts(n, self.k, rng, self.device) for _ in range(1 + self.two_shifts)]
        shifts = [self.deformator(one_hot_codes(k, eps, self.k)) for k, eps in draws]
        images = [self.render(x) for x in cumulative_latents(base, shifts)]
        pairs = zip(images, images[1:], strict=False)  # (x₀, x₁), and (x₁, x₂) with two shifts
        logits, predicted = zip(*(self.predictor(a, b) for a, b in pairs), strict=True)
        directions = torch.cat([k for k, _ in draws])
        eps = torch.cat([e for _, e in draws])
        logits, predicted = torch.cat(logits), torch.cat(predicted)
        loss = pair_loss(logits, predicted, directions, eps, self.shift_weight)
        accuracy = (logits.argmax(1) == directions).float().mean()
        logged = {"loss/pair": loss.detach(), "accuracy": accuracy}
        if self.centroid:
            centroid = centroid_loss(torch.cat(shifts), directions, eps, self.literal)
            loss = loss + self.centroid_weight * centroid
            logged["loss/centroid"] = centroid.detach()
        optimisers = self.optimizers()
        optimisers = optimisers if isinstance(optimisers, list) else [optimisers]
        for optimiser in optimisers:
            optimiser.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        for optimiser in optimisers:
            optimiser.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the deformator's loss became non-finite at iteration "
                f"{self.iteration}: lower method.lr"
            )
        self.log_dict(logged, prog_bar=True)

    def controls(self) -> DeformatorDirections:
        return DeformatorDirections(
            self.generator,
            copy.deepcopy(self.deformator),
            copy.deepcopy(self.predictor),
            self.space,
        )

    def summary(self) -> dict:
        control = self.controls()
        return {
            **super().summary(),
            "space": self.space,
            "deformator": self.deformator.kind,
            "origin_norm": float(control.origin.norm()),
            "shift_norm_per_unit": control.shift_norms,
        }
