"""The exemplar family (docs/METRICS.md, "Exemplars"): does `sample_like(x)` stay in x's class,
and how class-consistent is a method's own feature space's neighbourhood."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ganctrl.faiss_search import neighbours_excluding_self
from ganctrl.finite import finite_rows
from ganctrl.methods.common.contract import Exemplars, to_grid
from ganctrl.metrics.evaluate import Context, register_family


def conditional_accuracy(predicted, exemplar_labels, n_per: int) -> float:
    """Share of samples whose predicted class equals their exemplar's label; `predicted` is in
    exemplar order, n_per samples per exemplar (the `sample_like` contract). Shapes are checked:
    numpy would broadcast an (N, 1) column against the labels and score every pair."""
    predicted, labels = np.asarray(predicted), np.asarray(exemplar_labels)
    if labels.ndim != 1 or len(labels) == 0 or n_per < 1:
        raise ValueError(
            f"need a 1-D, non-empty exemplar_labels and n_per >= 1, "
            f"got labels of shape {labels.shape} and n_per={n_per}"
        )
    if predicted.shape != (len(labels) * n_per,):
        raise ValueError(
            f"predicted must be 1-D with {len(labels)} exemplars x {n_per} = "
            f"{len(labels) * n_per} entries in exemplar order, got shape {predicted.shape}"
        )
    return float((predicted == np.repeat(labels, n_per)).mean())


def value_shares(predicted, size: int) -> list[float]:
    """Share of samples predicted as each of a factor's `size` values: an accuracy at chance
    reads differently when every sample is one value than when the values are drawn evenly."""
    predicted = np.asarray(predicted)
    if predicted.ndim != 1 or len(predicted) == 0:
        raise ValueError(f"need a non-empty 1-D array of predictions, got shape {predicted.shape}")
    if predicted.min() < 0 or predicted.max() >= size:
        raise ValueError(
            f"predictions must lie in 0..{size - 1}, got {predicted.min()}..{predicted.max()}"
        )
    return (np.bincount(predicted, minlength=size) / len(predicted)).tolist()


def kth_neighbour_rates(features, labels, ks=(1, 2, 5)) -> dict[int, float]:
    """For each k: share of points whose literal k-th nearest other point has the same label."""
    features, labels = finite_rows(features, "features", np.float32), np.asarray(labels)
    if labels.shape != (len(features),):
        raise ValueError(f"{len(features)} feature rows but labels of shape {labels.shape}")
    neighbours = neighbours_excluding_self(features, max(ks))
    return {k: float((labels[neighbours[:, k - 1]] == labels).mean()) for k in ks}


def factor_conditional_accuracy(
    ctx: Context, output, exemplar_factors: torch.Tensor, n_per: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per ground-truth factor, the share of samples whose predicted value (the factor net's
    head of that name) equals their exemplar's: which factors `sample_like` carries over; and
    the samples' `value_shares` for that factor."""
    dm, accuracy, shares = ctx.datamodule, {}, {}
    for i, (name, size) in enumerate(zip(dm.factor_names, dm.factor_sizes, strict=True)):
        predicted = output.logits[name].argmax(dim=1).numpy()
        accuracy[name] = conditional_accuracy(predicted, exemplar_factors[:, i].numpy(), n_per)
        shares[name] = value_shares(predicted, size)
    return accuracy, shares


def exemplar_rows(
    exemplars: torch.Tensor, labels: torch.Tensor, samples: torch.Tensor, n_per: int
) -> torch.Tensor:
    """A picture: for each class, its first exemplar, then that exemplar's samples."""
    firsts = [int(np.flatnonzero(labels.numpy() == c)[0]) for c in labels.unique().tolist()]
    rows = [
        torch.cat([exemplars[i : i + 1].to(samples.device), samples[i * n_per : (i + 1) * n_per]])
        for i in firsts
    ]
    return to_grid(torch.cat(rows), nrow=n_per + 1)


@dataclass
class ExemplarSettings:
    exemplars: int = 200  # real test exemplars for conditional accuracy
    samples_per_exemplar: int = 10
    neighbour_ks: list[int] = field(default_factory=lambda: [1, 2, 5])


@register_family("exemplars", Exemplars, ExemplarSettings)
def exemplar_family(ctx: Context, control: Exemplars, s: ExemplarSettings) -> None:
    seed, dm = ctx.settings.seed, ctx.datamodule
    images, labels = dm.images("test"), dm.labels("test")
    rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    rows = rows[: s.exemplars]
    start = time.perf_counter()
    samples = control.sample_like(images[rows], s.samples_per_exemplar, seed)
    output = ctx.run_net(samples)
    predicted = ctx.predicted_classes(output)
    value = conditional_accuracy(predicted, labels[rows].numpy(), s.samples_per_exemplar)
    ceiling = ctx.net_info.get("test_accuracy", {}).get(ctx.net.class_head)
    ctx.record(
        "conditional_accuracy",
        value,
        len(predicted),
        time.perf_counter() - start,
        chance=1.0 / dm.num_classes,
        classifier_test_accuracy=ceiling,
        predicted_shares=value_shares(predicted, dm.num_classes),
    )
    if dm.factor_names and set(dm.factor_names) <= set(output.logits):  # a factor net
        start = time.perf_counter()
        per_factor, shares = factor_conditional_accuracy(
            ctx, output, dm.factors("test")[rows], s.samples_per_exemplar
        )
        ctx.record(
            "factor_conditional_accuracy",
            float(np.mean(list(per_factor.values()))),
            len(predicted),
            time.perf_counter() - start,
            per_factor=per_factor,
            predicted_shares=shares,
            chance={
                n: 1.0 / size for n, size in zip(dm.factor_names, dm.factor_sizes, strict=True)
            },
        )
    ctx.pictures["exemplars"] = exemplar_rows(
        images[rows], labels[rows], samples, s.samples_per_exemplar
    )
    if control.can_encode:
        start = time.perf_counter()
        rates = kth_neighbour_rates(control.encode(images), labels.numpy(), s.neighbour_ks)
        seconds = time.perf_counter() - start
        names = [f"sensor_neighbour_rate_{k}" for k in rates]
        for name, rate in zip(names, rates.values(), strict=True):
            ctx.record(name, rate, len(images), seconds, seconds_shared_with=names)
