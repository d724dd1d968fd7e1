"""The direction family (docs/METRICS.md, "Directions"): every `Directions` control is scored at
calibrated edit magnitudes, so that methods are compared at equal visual change, not equal latent
norm.

Calibration: τ is half the median feature distance between two independent samples; for each
direction k, a_k is found by bisection so that the median feature change between G(x) and
G(edit(x, k, ±a_k)) over a fixed batch equals τ. A direction G ignores never reaches τ: its a_k is
`max_scale` and it is flagged. Then, at ε ∈ [−a_k, a_k]: the image change at a_k, RCA post-hoc
(and own, where the control has a reconstructor), PPL along the directions, and S_disent / N_attr
from the attribute-change matrix; the run saves the traversal strips and the matrix as pictures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from ganctrl.methods.common.contract import Directions, to_grid
from ganctrl.metrics.attribute_change import attribute_change_scores, merge_factor_values
from ganctrl.metrics.attributes import attribute_names, attribute_scores
from ganctrl.metrics.evaluate import Context, register_family
from ganctrl.metrics.path_length import FeatureDistance, path_lengths, trimmed_mean
from ganctrl.metrics.pictures import heat_map, profile_bars
from ganctrl.metrics.reconstruction import (
    edit_each,
    random_edits,
    reconstruction_accuracy,
    train_reconstructor,
)


@dataclass
class Calibration:
    scale: float  # a_k, latent units
    change: float  # the median feature change it gives
    reached: bool  # False: even max_scale stays below τ (G ignores the direction)
    evaluations: int
    image_change: float = float("nan")  # the median RMS pixel change at ±scale, images in [−1, 1]


def bisect_scale(
    change_at: Callable[[float], float],
    target: float,
    max_scale: float,
    tolerance: float = 0.01,
    max_evaluations: int = 60,
) -> Calibration:
    """The a with change_at(a) = target within `tolerance` (relative), for change_at increasing
    from change_at(0) = 0: double from 1 until the target is bracketed, then bisect."""
    low, high, evaluations = 0.0, min(1.0, max_scale), 0
    change = change_at(high)
    evaluations += 1
    while change < target and high < max_scale:
        low, high = high, min(2 * high, max_scale)
        change = change_at(high)
        evaluations += 1
    if change < target:
        return Calibration(high, change, False, evaluations)
    scale = high
    while abs(change - target) > tolerance * target and evaluations < max_evaluations:
        scale = (low + high) / 2
        change = change_at(scale)
        evaluations += 1
        low, high = (scale, high) if change < target else (low, scale)
    return Calibration(scale, change, True, evaluations)


def half_median_distance(features: torch.Tensor) -> float:
    """τ: half the median distance between the first and second half of independent samples."""
    half = len(features) // 2
    return 0.5 * float((features[:half] - features[half : 2 * half]).norm(dim=1).median())


@torch.no_grad()
def symmetric_edits(control: Directions, latents: torch.Tensor, k: int, scale: float):
    """Rendered edits of every latent by +scale, then by −scale."""
    both = torch.cat([control.edit(latents, k, scale), control.edit(latents, k, -scale)])
    return control.render(both)


def calibrate(
    ctx: Context,
    control: Directions,
    latents: torch.Tensor,
    tau: float,
    max_scale: float,
    tolerance: float,
) -> list[Calibration]:
    """a_k for every direction, each with the image change of the edits it was judged on."""
    originals = control.render(latents).repeat(2, 1, 1, 1)
    base = ctx.run_net(originals).features
    image_change = {}

    def median_change(k: int, scale: float) -> float:
        edited = symmetric_edits(control, latents, k, scale)
        rms = (edited - originals).square().mean(dim=(1, 2, 3)).sqrt()
        image_change[k, scale] = float(rms.median())
        return float((ctx.run_net(edited).features - base).norm(dim=1).median())

    found = [
        bisect_scale(lambda a, k=k: median_change(k, a), tau, max_scale, tolerance)
        for k in range(control.k)
    ]
    return [replace(c, image_change=image_change[k, c.scale]) for k, c in enumerate(found)]


@torch.no_grad()
def traversal_strips(control: Directions, scales: torch.Tensor, seed: int, steps: int):
    """One row per direction, ε from −a_k to a_k around one sampled latent. A w⁺ control's rows
    start with a bar chart of how far the direction moves each layer (ContraFeat's attention)."""
    base = control.sample_latents(1, seed)
    fractions = torch.linspace(-1, 1, steps, device=control.device)
    rows = [
        control.render(
            control.edit(base.expand(steps, *base.shape[1:]), k, fractions * float(scales[k]))
        )
        for k in range(control.k)
    ]
    profile = control.layer_profile()
    if profile is None:
        return to_grid(torch.cat(rows), nrow=steps)
    _, channels, size, _ = rows[0].shape
    bars = profile_bars(profile, channels, size).to(rows[0])
    with_bars = [torch.cat([bar[None], row]) for bar, row in zip(bars, rows, strict=True)]
    return to_grid(torch.cat(with_bars), nrow=steps + 1)


@torch.no_grad()
def attribute_change_matrix(
    ctx: Context, control: Directions, latents: torch.Tensor, scales: torch.Tensor, absolute: bool
) -> np.ndarray:
    """(K, A): |E[Δ score]| (or E|Δ score|) of each attribute between the edits +a_k and −a_k of
    the same latents, scores z-scored by their spread on real test images."""
    dm, seed = ctx.datamodule, ctx.settings.seed
    rows = torch.randperm(dm.size("test"), generator=torch.Generator().manual_seed(seed))
    real = attribute_scores(ctx, dm.images("test")[rows[: ctx.settings.n]])
    spread = real.std(axis=0)
    spread[spread == 0] = 1.0  # an attribute constant on real data: its raw change
    matrix = []
    for k in range(control.k):
        scores = attribute_scores(ctx, symmetric_edits(control, latents, k, float(scales[k])))
        delta = (scores[: len(latents)] - scores[len(latents) :]) / spread
        matrix.append(np.abs(delta).mean(axis=0) if absolute else np.abs(delta.mean(axis=0)))
    return np.stack(matrix)


def direction_path_lengths(
    control: Directions, scales: torch.Tensor, n: int, seed: int, delta: float, distance
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPL samples along the directions, t ~ U[−a_k, a_k], k uniform: with a step of δ in latent
    units (unit-norm directions), and of δ·a_k (per calibrated unit)."""
    latents, k, rng = random_edits(control, n, seed)
    a = scales.to(control.device)[k]
    t = (2 * torch.rand(n, generator=rng, device=control.device) - 1) * a
    start = edit_each(control, latents, k, t)
    latent_unit = path_lengths(
        control.render, start, edit_each(control, latents, k, t + delta), distance, delta
    )
    calibrated = path_lengths(
        control.render, start, edit_each(control, latents, k, t + delta * a), distance, delta
    )
    return latent_unit, calibrated


CHANGE_FORMS = ("mean", "absolute")


@dataclass
class DirectionSettings:
    calibration_samples: int = 128  # the fixed batch a_k is bisected on
    tolerance: float = 0.01  # relative: |median change − τ| ≤ tolerance · τ
    max_scale: float = 100.0  # latent units; a direction still below τ here is flagged
    rca_steps: int = 1000  # post-hoc reconstructor training steps
    rca_batch: int = 32
    rca_lr: float = 1e-3
    rca_reuse: int = 1  # passes over each rendered chunk of edits (1: every batch fresh)
    rca_eval_batches: int = 100  # × rca_batch fresh edits (Voynov: 100 × 32)
    ppl_samples: int = 2000
    ppl_delta: float = 1e-4
    attribute_samples: int = 256  # latents edited ±a_k for the attribute-change matrix
    attribute_change: str = "mean"  # "mean": |E Δ|; "absolute": E|Δ|
    traversal_steps: int = 9


def _stream(seed: int, name: str) -> int:
    """A seed of its own for each use of the evaluation seed within this family."""
    streams = ("calibration", "reconstructor", "reconstructor_test", "own_test", "ppl", "edits")
    return int(np.random.SeedSequence([seed, streams.index(name)]).generate_state(1)[0] >> 1)


@register_family(
    "directions",
    Directions,
    DirectionSettings,
    lower_is_better=("ppl_directions", "ppl_directions_calibrated"),
    unranked=("edit_scale", "image_change"),
    per_generator=True,
)
def direction_family(ctx: Context, control: Directions, s: DirectionSettings) -> None:
    if s.attribute_change not in CHANGE_FORMS:
        raise ValueError(
            f"metrics.directions.attribute_change must be one of {CHANGE_FORMS}, "
            f"got {s.attribute_change!r}"
        )
    seed = ctx.settings.seed
    start = time.perf_counter()
    independent = ctx.run_net(control.sample(2 * s.calibration_samples, seed)).features
    tau = half_median_distance(independent)
    latents = control.sample_latents(s.calibration_samples, _stream(seed, "calibration"))
    found = calibrate(ctx, control, latents, tau, s.max_scale, s.tolerance)
    scales = torch.tensor([c.scale for c in found])
    ctx.record(
        "edit_scale",
        float(scales.mean()),
        s.calibration_samples,
        time.perf_counter() - start,
        tau=tau,
        per_direction=scales.tolist(),
        reached=[c.reached for c in found],
        changes=[c.change for c in found],
        evaluations=sum(c.evaluations for c in found),
    )

    changes = [c.image_change for c in found]
    ctx.record(
        "image_change",
        float(np.mean(changes)),
        s.calibration_samples,
        0.0,
        per_direction=changes,
        seconds_shared_with=["edit_scale"],
        unit="median RMS pixel change at ±a_k, images in [-1, 1]",
    )
    ctx.pictures["traversals"] = traversal_strips(
        control, scales, ctx.settings.grid_seed, s.traversal_steps
    )

    start = time.perf_counter()
    net, curve = train_reconstructor(
        control,
        scales,
        s.rca_steps,
        s.rca_batch,
        s.rca_lr,
        _stream(seed, "reconstructor"),
        s.rca_reuse,
    )
    n_test = s.rca_eval_batches * s.rca_batch
    accuracy = reconstruction_accuracy(
        lambda a, b: net(a, b)[0],
        control,
        scales,
        s.rca_eval_batches,
        s.rca_batch,
        _stream(seed, "reconstructor_test"),
    )
    ctx.record(
        "rca_posthoc",
        accuracy,
        n_test,
        time.perf_counter() - start,
        k=control.k,
        chance=1 / control.k,
        steps=s.rca_steps,
        reuse=s.rca_reuse,
        curve=curve,
        image_change=float(np.mean(changes)),
    )
    if hasattr(control, "reconstruct"):
        start = time.perf_counter()
        own = reconstruction_accuracy(
            control.reconstruct,
            control,
            scales,
            s.rca_eval_batches,
            s.rca_batch,
            _stream(seed, "own_test"),
        )
        ctx.record(
            "rca_own", own, n_test, time.perf_counter() - start, k=control.k, chance=1 / control.k
        )

    start = time.perf_counter()
    distance = FeatureDistance(ctx)
    latent_unit, calibrated = direction_path_lengths(
        control, scales, s.ppl_samples, _stream(seed, "ppl"), s.ppl_delta, distance
    )
    seconds = time.perf_counter() - start
    pair = {
        "distance": distance.name,
        "delta": s.ppl_delta,
        "seconds_shared_with": ["ppl_directions", "ppl_directions_calibrated"],
    }
    ctx.record(
        "ppl_directions",
        trimmed_mean(latent_unit),
        s.ppl_samples,
        seconds,
        unit="per latent unit²",
        **pair,
    )
    ctx.record(
        "ppl_directions_calibrated",
        trimmed_mean(calibrated),
        s.ppl_samples,
        seconds,
        unit="per calibrated unit²",
        **pair,
    )

    start = time.perf_counter()
    edited = control.sample_latents(s.attribute_samples, _stream(seed, "edits"))
    matrix = attribute_change_matrix(ctx, control, edited, scales, s.attribute_change == "absolute")
    names = attribute_names(ctx)
    scores = attribute_change_scores(matrix)
    by_factor, factors = merge_factor_values(matrix, names)
    factor_scores = attribute_change_scores(by_factor) if 1 < len(factors) < len(names) else None
    seconds = time.perf_counter() - start
    shared = ["s_disent", "n_attr"]
    shared += ["s_disent_factors", "n_attr_factors"] if factor_scores else []
    pair = {
        "seconds_shared_with": shared,
        "attributes": names,
        "change": s.attribute_change,
        "zero_rows": scores.zero_rows,
    }
    ctx.record(
        "s_disent", scores.s_disent, s.attribute_samples, seconds, matrix=matrix.tolist(), **pair
    )
    ctx.record("n_attr", scores.n_attr, s.attribute_samples, seconds, **pair)
    if factor_scores:  # only where some factor is split into values, and ≥ 2 factors remain
        pair.update(attributes=factors, zero_rows=factor_scores.zero_rows)
        ctx.record(
            "s_disent_factors",
            factor_scores.s_disent,
            s.attribute_samples,
            seconds,
            matrix=by_factor.tolist(),
            **pair,
        )
        ctx.record("n_attr_factors", factor_scores.n_attr, s.attribute_samples, seconds, **pair)
    directions = [f"d{k}" for k in range(len(matrix))]
    ctx.pictures["attribute_change"] = heat_map(matrix, names, directions, "attribute", "direction")
