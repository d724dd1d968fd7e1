"""Exemplar metrics (docs/METRICS.md, "Exemplars"): does `sample_like(x)` stay in x's class,
and how class-consistent is a feature space's neighbourhood."""

from __future__ import annotations

import numpy as np

from ganctrl.faiss_search import neighbours_excluding_self


def conditional_accuracy(predicted, exemplar_labels, n_per: int) -> float:
    """Share of samples whose predicted class equals their exemplar's label; `predicted` is in
    exemplar order, n_per samples per exemplar (the `sample_like` contract)."""
    expected = np.repeat(np.asarray(exemplar_labels), n_per)
    return float((np.asarray(predicted) == expected).mean())


def kth_neighbour_rates(features, labels, ks=(1, 2, 5)) -> dict[int, float]:
    """For each k: share of points whose literal k-th nearest other point has the same label."""
    labels = np.asarray(labels)
    neighbours = neighbours_excluding_self(features, max(ks))
    return {k: float((labels[neighbours[:, k - 1]] == labels).mean()) for k in ks}
