"""Exemplar metrics (docs/METRICS.md, "Exemplars"): does `sample_like(x)` stay in x's class,
and how class-consistent is a feature space's neighbourhood."""

from __future__ import annotations

import numpy as np

from ganctrl.faiss_search import neighbours_excluding_self
from ganctrl.finite import finite_rows


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


def kth_neighbour_rates(features, labels, ks=(1, 2, 5)) -> dict[int, float]:
    """For each k: share of points whose literal k-th nearest other point has the same label."""
    features, labels = finite_rows(features, "features", np.float32), np.asarray(labels)
    if labels.shape != (len(features),):
        raise ValueError(f"{len(features)} feature rows but labels of shape {labels.shape}")
    neighbours = neighbours_excluding_self(features, max(ks))
    return {k: float((labels[neighbours[:, k - 1]] == labels).mean()) for k in ks}
