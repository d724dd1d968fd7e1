"""The clustering step of MIC-GAN's Adversarial Chinese Restaurant Process (Ying et al.;
docs/METHODS.md §5), as small pure functions on NumPy arrays.

Each real image i has an embedding e_i = Q(x_i); each of K tables a Gaussian N(μ_k, Σ_k). One
`crp_rounds` call, as in the authors' `CRPClusterer.crp`: `rounds` times, start every image at
its most likely table, run `sweeps` sequential Gibbs sweeps (remove i from its table, draw its
table with p_k ∝ n_k·ℓ_ik, ℓ_ik the likelihood normalised by the image's largest, add it back),
refit every Gaussian to its members with the deviations inflated by 1.1, remove the tables left
with at most m·(d + 1) members (m = 10 in the authors' code; for good: their likelihood is 0 from
then on) and send their images to kept tables uniformly at random. π_k = n_k / N.

The sweep stays sequential (each draw sees the counts the previous draws left); vectorising it
across images would change the sampler.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from operator import mul

import numpy as np

INFLATION = 1.1  # the authors' `sigma_scalor`: deviations are scaled by it before the refit
MIN_MEMBERS_PER_DIM = 10  # the authors' m: a table needs more than m·(d + 1) members to be kept


@dataclass
class Tables:
    """K Gaussians over d-dimensional embeddings; a removed table is never chosen again."""

    means: np.ndarray  # (K, d)
    covariances: np.ndarray  # (K, d, d)
    removed: np.ndarray  # (K,) bool

    @property
    def k(self) -> int:
        return len(self.means)


def initial_tables(k: int, dim: int, variance: float = 0.1) -> Tables:
    """μ_k = e_k (one-hot), Σ_k = variance·I: the authors' start, with dim ≥ K."""
    if dim < k:
        raise ValueError(f"one-hot means need embed_dim >= K, got {dim} < {k}")
    return Tables(
        np.eye(k, dim), np.repeat(variance * np.eye(dim)[None], k, axis=0), np.zeros(k, dtype=bool)
    )


def log_likelihoods(embeddings: np.ndarray, tables: Tables) -> np.ndarray:
    """(N, K): log N(e_i; μ_k, Σ_k); −inf for removed tables."""
    n, dim = embeddings.shape
    out = np.full((n, tables.k), -np.inf)
    for k in np.flatnonzero(~tables.removed):
        chol = np.linalg.cholesky(tables.covariances[k])
        solved = np.linalg.solve(chol, (embeddings - tables.means[k]).T)  # L⁻¹ (e − μ)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, k] = -0.5 * (np.square(solved).sum(axis=0) + log_det + dim * np.log(2 * np.pi))
    return out


def normalised_likelihoods(log_likelihood: np.ndarray) -> np.ndarray:
    """ℓ_ik / max_k ℓ_ik, computed in log space (the raw densities underflow in 20 dims)."""
    return np.exp(log_likelihood - log_likelihood.max(axis=1, keepdims=True))


def gibbs_sweep(
    likelihoods: np.ndarray | list,
    labels: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
    alpha: float = 0.0,
) -> None:
    """One sweep over the images in a random order, updating `labels` and `counts` in place:
    i leaves its table, then joins table k with p_k ∝ n_k·ℓ_ik (an empty table: α·ℓ_ik, 0 by
    default as in the authors' code); if every p_k is 0, uniformly at random (their rule).
    `likelihoods`: (N, K), or its rows as lists (`tolist()` once for several sweeps)."""
    rows = likelihoods.tolist() if isinstance(likelihoods, np.ndarray) else likelihoods
    n, k_tables = len(rows), len(counts)
    order = rng.permutation(n).tolist()
    draws = rng.random(n).tolist()
    fallback = rng.integers(k_tables, size=n).tolist()
    table, count = labels.tolist(), counts.tolist()
    # Plain Python on lists with C-level accumulate and bisect: NumPy's per-call overhead on
    # 20-long rows costs more than the sums themselves.
    for step, i in enumerate(order):
        count[table[i]] -= 1
        weights = count if alpha == 0 else [c if c > 0 else alpha for c in count]
        cumulative = list(accumulate(map(mul, weights, rows[i])))
        total = cumulative[-1]
        chosen = bisect_right(cumulative, draws[step] * total) if total > 0 else fallback[step]
        table[i] = chosen
        count[chosen] += 1
    labels[:] = table
    counts[:] = count


def refit(
    embeddings: np.ndarray,
    labels: np.ndarray,
    tables: Tables,
    inflation: float = INFLATION,
    min_members_per_dim: float = MIN_MEMBERS_PER_DIM,
) -> Tables:
    """Each kept table's Gaussian refitted to its members: the mean, and the covariance of the
    deviations scaled by `inflation` (1.1), unbiased. A table with at most m·(d + 1) members
    (m = `min_members_per_dim`) is removed; a covariance that is not positive definite keeps the
    table's previous Gaussian (the authors keep it "fixed" on a degenerate fit)."""
    dim = embeddings.shape[1]
    means, covariances = tables.means.copy(), tables.covariances.copy()
    removed = tables.removed.copy()
    for k in np.flatnonzero(~removed):
        members = embeddings[labels == k]
        if len(members) <= min_members_per_dim * (dim + 1):
            removed[k] = True
            continue
        mean = members.mean(axis=0)
        deviations = inflation * (members - mean)
        covariance = deviations.T @ deviations / (len(members) - 1)
        try:
            np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            continue
        means[k], covariances[k] = mean, covariance
    return Tables(means, covariances, removed)


def reassign_removed(
    labels: np.ndarray, removed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Images at removed tables, each sent to a kept table uniformly at random."""
    kept = np.flatnonzero(~removed)
    if len(kept) == 0:
        raise ValueError("every table was removed: lower K or raise the number of images")
    labels = labels.copy()
    moved = removed[labels]
    labels[moved] = kept[rng.integers(len(kept), size=int(moved.sum()))]
    return labels


def crp_rounds(
    embeddings: np.ndarray,
    tables: Tables,
    rng: np.random.Generator,
    rounds: int = 3,
    sweeps: int = 3,
    alpha: float = 0.0,
    min_members_per_dim: float = MIN_MEMBERS_PER_DIM,
):
    """The authors' `crp`: (labels, tables after the last refit, π, seconds per sweep)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    sweep_seconds = []
    for _ in range(rounds):
        likelihoods = normalised_likelihoods(log_likelihoods(embeddings, tables))
        labels = likelihoods.argmax(axis=1)
        counts = np.bincount(labels, minlength=tables.k).astype(np.float64)
        rows = likelihoods.tolist()
        for _ in range(sweeps):
            start = time.perf_counter()
            gibbs_sweep(rows, labels, counts, rng, alpha)
            sweep_seconds.append(time.perf_counter() - start)
        tables = refit(embeddings, labels, tables, min_members_per_dim=min_members_per_dim)
        labels = reassign_removed(labels, tables.removed, rng)
    weights = np.bincount(labels, minlength=tables.k) / len(labels)
    return labels, tables, weights, sweep_seconds
