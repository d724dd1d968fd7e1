"""Fidelity metrics from one feature pass per image set (docs/METRICS.md, "Fidelity").

Each metric is a pure function of features or class probabilities:
- FID (Heusel et al. 2017): ‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr((Σ₁Σ₂)^½), float64, covariances
  with N−1, trace term from eigenvalues of A Σ₂ A with A = Σ₁^½ (both symmetric eigh).
- IS (Salimans et al. 2016): exp(E KL(p(y|x) ‖ p(y))) over 10 seeded splits, mean and std.
- KID (Bińkowski et al. 2018): unbiased MMD² with k(x, y) = (xᵀy/d + 1)³ over 100 subsets.
- Precision/recall (Kynkäänniemi et al. 2019): k = 3, membership with ≤.
- Density/coverage (Naeem et al. 2020): k = 5, strict <.
"""

from __future__ import annotations

import numpy as np
import torch

from ganctrl.faiss_search import knn, kth_neighbour_radii


def _float64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (N − 1) in float64."""
    f = _float64(features)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def fid(features1, features2) -> float:
    return fid_from_stats(*gaussian_stats(features1), *gaussian_stats(features2))


def inception_score(probs, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """Mean and std (ddof 0) of exp(E KL(p(y|x) ‖ p(y))) over seeded splits."""
    p = _float64(probs)
    p = p[np.random.default_rng(seed).permutation(len(p))]
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.where(part > 0, part, 1)) - np.log(marginal)), 0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    m = len(x)
    kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.mean())


def kid(features1, features2, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """Mean and std of the unbiased MMD² over random equal-size subsets (can be negative)."""
    x, y = _float64(features1), _float64(features2)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if m == len(x) == len(y):
        subsets = 1  # every "subset" is the whole of both sets: all draws give the same value
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _ball_counts(queries, centres, radii, strict: bool, chunk: int = 2048) -> np.ndarray:
    """For each query, how many balls B(centre_i, radius_i) contain it."""
    q, c = torch.from_numpy(_float64(queries)), torch.from_numpy(_float64(centres))
    r = torch.from_numpy(_float64(radii))
    counts = []
    for start in range(0, len(q), chunk):
        d = torch.cdist(q[start : start + chunk], c)
        inside = d < r if strict else d <= r
        counts.append(inside.sum(dim=1))
    return torch.cat(counts).numpy()


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside some real k-NN ball; recall: the reverse."""
    real_radii, fake_radii = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)
    precision = (_ball_counts(fake, real, real_radii, strict=False) > 0).mean()
    recall = (_ball_counts(real, fake, fake_radii, strict=False) > 0).mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density: mean count of real k-NN balls around each fake / k; coverage: share of real
    points whose k-NN ball holds at least one fake."""
    real_radii = kth_neighbour_radii(real, k)
    density = _ball_counts(fake, real, real_radii, strict=True).mean() / k
    nearest_fake, _ = knn(real, fake, 1)
    coverage = (nearest_fake[:, 0] < real_radii).mean()
    return float(density), float(coverage)
