"""Perceptual path length (docs/METRICS.md, "Directions"): pure functions, and the family that
scores every generator with StyleGAN's standard PPL.

PPL = E[d(G(p(t)), G(p(t + δ))) / δ²] over a path p, trimmed to the distances between the 1st and
99th percentiles (inclusive, "lower" interpolation: StyleGAN's and torchmetrics' rule). Standard
PPL is StyleGAN's "full" form: t ~ U[0, 1] on the path between two independent latents, slerp in
z for generators without a mapping network, lerp in w for style-based ones.

d is LPIPS where its weights are present; no LPIPS weights ship with the harness, so every PPL
here uses the fallback the column names: the squared distance between channel-normalised
(unit-length) evaluation-net feature vectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ganctrl.methods.backbones.base import latent_space, synthesise
from ganctrl.methods.common.contract import Directions, Unconditional, seeded
from ganctrl.metrics.evaluate import Context, register_family


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t.reshape(-1, *([1] * (a.ndim - 1)))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b, with the norm interpolated linearly
    (StyleGAN's z-path: there z is normalised first, and the norm carries no information)."""
    t = t.reshape(-1, 1)
    na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua * ub).sum(dim=1, keepdim=True).clamp(-1.0, 1.0)).clamp_min(1e-7)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * (na + (nb - na) * t)


def trimmed_mean(values: torch.Tensor, low: float = 0.01, high: float = 0.99) -> float:
    """Mean of the values between the `low` and `high` quantiles, both kept."""
    lo = torch.quantile(values, low, interpolation="lower")
    hi = torch.quantile(values, high, interpolation="lower")
    return float(values[(values >= lo) & (values <= hi)].mean())


class FeatureDistance:
    """d(x, y) = ‖f(x)/‖f(x)‖ − f(y)/‖f(y)‖‖², f the evaluation net's features: LPIPS's
    channel-normalised squared distance, on the one feature layer the net exposes."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.name = f"{ctx.net.name} features, channel-normalised, squared L2"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        features = self.ctx.run_net(images).features
        return features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.features(x) - self.features(y)).square().sum(dim=1)


def path_lengths(
    render: Callable, start: torch.Tensor, step_end: torch.Tensor, distance: Callable, delta: float
) -> torch.Tensor:
    """d(G(start), G(step_end)) / δ² per pair: the samples a PPL averages."""
    return distance(render(start), render(step_end)).double() / delta**2


def standard_path_lengths(control, n: int, seed: int, delta: float, distance) -> torch.Tensor:
    """StyleGAN's "full" PPL samples for the control's generator: slerp in z, or lerp in w."""
    g, device = control.generator, control.device
    rng = seeded(seed, device)
    a, b = g.sample_latents(n, generator=rng), g.sample_latents(n, generator=rng)
    t = torch.rand(n, generator=rng, device=device)
    if latent_space(g) == "w":
        with torch.no_grad():
            wa, wb = g.mapping(a)[:, 0], g.mapping(b)[:, 0]

        def render(w: torch.Tensor) -> torch.Tensor:
            return synthesise(g, w[:, None].expand(-1, g.num_ws, -1), control.batch_size)

        return path_lengths(render, lerp(wa, wb, t), lerp(wa, wb, t + delta), distance, delta)
    return path_lengths(
        control.render_latents, slerp(a, b, t), slerp(a, b, t + delta), distance, delta
    )


@dataclass
class PathLengthSettings:
    samples: int = 2000  # latent pairs
    delta: float = 1e-4


@register_family(
    "path_length",
    (Unconditional, Directions),
    PathLengthSettings,
    lower_is_better=("ppl_standard",),
    per_generator=True,
)
def path_length_family(ctx: Context, control, s: PathLengthSettings) -> None:
    """Standard PPL of the generator behind the control (the zoo's, for these control types)."""
    start = time.perf_counter()
    distance = FeatureDistance(ctx)
    values = standard_path_lengths(control, s.samples, ctx.settings.seed, s.delta, distance)
    space = "w, lerp" if latent_space(control.generator) == "w" else "z, slerp"
    ctx.record(
        "ppl_standard",
        trimmed_mean(values),
        s.samples,
        time.perf_counter() - start,
        path=f"full, {space}",
        delta=s.delta,
        distance=distance.name,
    )
