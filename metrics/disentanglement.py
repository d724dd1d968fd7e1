"""Disentanglement scores against ground-truth factors (docs/METRICS.md, "Disentanglement"),
with disentanglement_lib's definitions and defaults. So far: MIG (Chen et al., 2018).

A representation is a (N, D) code per image; the factors are (N, F) integer labels. Continuous
codes are discretised per dimension into equal-width histogram bins (the library's
`_histogram_discretize`, 20 bins), and mutual information is scikit-learn's, in nats.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mutual_info_score

from ganctrl.finite import finite_rows


def histogram_discretize(codes, bins: int = 20) -> np.ndarray:
    """Each code dimension cut into `bins` equal-width bins over its own range: (N, D) bin ids."""
    codes = finite_rows(codes, "codes")
    discrete = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram(codes[:, d], bins)[1]
        discrete[:, d] = np.digitize(codes[:, d], edges[:-1])
    return discrete


def mutual_information(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(code d; factor f) for every pair: (D, F), in nats."""
    return np.array([[mutual_info_score(factors[:, f], discrete_codes[:, d])
                      for f in range(factors.shape[1])]
                     for d in range(discrete_codes.shape[1])])  # fmt: skip


def mig(codes, factors, bins: int = 20) -> float:
    """Mean over factors of (largest − second largest I(code d; factor)) / H(factor).

    A factor that takes one value carries no information to share: it is refused, since the
    library would divide by its zero entropy."""
    codes, factors = finite_rows(codes, "codes"), np.asarray(factors)
    if factors.ndim != 2 or len(factors) != len(codes):
        raise ValueError(f"factors must be (N, F) with N = {len(codes)} codes, got {factors.shape}")
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError("MIG needs a code of at least 2 dimensions")
    entropy = np.array([mutual_info_score(f, f) for f in factors.T])
    if (entropy == 0).any():
        raise ValueError(f"factors {np.flatnonzero(entropy == 0).tolist()} are constant")
    information = np.sort(mutual_information(histogram_discretize(codes, bins), factors), axis=0)
    return float(np.mean((information[-1] - information[-2]) / entropy))
