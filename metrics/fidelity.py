"""The fidelity family (docs/METRICS.md, "Fidelity"): every control, from one feature pass per
image set, each metric beside its real-vs-real floor.

Each metric is a pure function of features or class probabilities:
- FID (Heusel et al. 2017): ‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr((Σ₁Σ₂)^½), float64 on the job's
  device (at 2 048-d the covariances and eigendecompositions are the family's largest dense
  work), covariances with N−1, trace term from eigenvalues of A Σ₂ A with A = Σ₁^½ (both
  symmetric eigh); the real set's statistics are formed once for the generated set and the floor.
- IS (Salimans et al. 2016): exp(E KL(p(y|x) ‖ p(y))) over 10 seeded splits, mean and std.
- KID (Bińkowski et al. 2018): unbiased MMD² with k(x, y) = (xᵀy/d + 1)³ over 100 subsets.
- Precision/recall (Kynkäänniemi et al. 2019): k = 3, membership with ≤.
- Density/coverage (Naeem et al. 2020): k = 5, strict <.
- Confidence: the mean over images of the class head's largest probability, max_c p(c|x): how
  surely the evaluation net reads a class (on Shapes, a shape) in each image.
Every input is checked for NaN and inf first (ganctrl/finite.py). In the family, KID,
precision/recall and density/coverage come together from metrics/neighbours.py: three distance
matrices in tiles on the job's device, the real set's formed once for the generated set and the
floor, with exact float64 distances wherever a decision needs them. `kid` below is KID's float64
definition, which that shared pass equals on the same seeded subsets to float tolerance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ganctrl.finite import finite_rows
from ganctrl.methods.common.contract import Control
from ganctrl.metrics.evaluate import Context, register_family, timed
from ganctrl.metrics.neighbours import KidDraws, ReferenceSet, compare


def gaussian_stats(features, name: str = "features", device=None):
    """Mean and unbiased covariance (N − 1), float64 tensors on `device` (default the CPU)."""
    f = torch.from_numpy(finite_rows(features, name)).to(device or "cpu")
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors, got shape {tuple(f.shape)}")
    mean = f.mean(dim=0)
    centred = f - mean
    return mean, centred.T @ centred / (len(f) - 1)


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """From arrays or tensors, computed in float64 where `sigma1` lies. The eigenvalues of
    A Σ₂ A, A = Σ₁^½ = V Λ^½ Vᵀ, are those of the similar Wᵀ Σ₂ W with W = V Λ^½: one product
    fewer than forming A."""
    device = sigma1.device if isinstance(sigma1, torch.Tensor) else "cpu"
    mu1, sigma1, mu2, sigma2 = (
        torch.as_tensor(x, dtype=torch.float64, device=device) for x in (mu1, sigma1, mu2, sigma2)
    )
    eigenvalues, eigenvectors = torch.linalg.eigh((sigma1 + sigma1.T) / 2)
    w = eigenvectors * eigenvalues.clamp(min=0).sqrt()
    middle = w.T @ sigma2 @ w
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    diff = mu1 - mu2
    return (diff @ diff + sigma1.trace() + sigma2.trace() - 2.0 * trace_sqrt).item()


def fid(features1, features2, device=None) -> float:
    """FID between the scored set (the harness passes generated or floor features first) and
    the real reference, computed on `device`."""
    stats1 = gaussian_stats(features1, "fake features", device)
    return fid_from_stats(*stats1, *gaussian_stats(features2, "real features", device))


def inception_score(probs, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """Mean and std (ddof 0) of exp(E KL(p(y|x) ‖ p(y))) over seeded splits."""
    p = finite_rows(probs, "probs")
    if not 1 <= splits <= len(p):
        # An empty split has no marginal: its score would be NaN, and the mean with it.
        raise ValueError(f"IS needs at least one row per split: {len(p)} rows for {splits} splits")
    p = p[np.random.default_rng(seed).permutation(len(p))]
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.where(part > 0, part, 1)) - np.log(marginal)), 0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_confidence(probs) -> float:
    """Mean over rows of the largest class probability."""
    return float(finite_rows(probs, "probs").max(axis=1).mean())


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    m = len(x)
    kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.mean())


def kid(features1, features2, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """Mean and std of the unbiased MMD² over random equal-size subsets (can be negative)."""
    x, y = finite_rows(features1, "fake features"), finite_rows(features2, "real features")
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


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside some real k-NN ball; recall: the reverse (both ≤)."""
    scores = compare(ReferenceSet.of(real, (k,)), fake, pr_k=k, dc_k=k)
    return scores["precision"], scores["recall"]


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density: mean count of real k-NN balls around each fake / k; coverage: share of real
    points whose k-NN ball holds at least one fake (both strict <)."""
    scores = compare(ReferenceSet.of(real, (k,)), fake, pr_k=k, dc_k=k)
    return scores["density"], scores["coverage"]


@dataclass
class FidelitySettings:
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    pr_k: int = 3
    dc_k: int = 5


@register_family("fidelity", Control, FidelitySettings, lower_is_better=("fid", "kid"))
def fidelity_family(ctx: Context, control: Control, s: FidelitySettings) -> None:
    seed = ctx.settings.seed
    # Every set at one N: generated, real test, and the real-train floor.
    n = min(ctx.settings.n, ctx.datamodule.size("test"), ctx.datamodule.size("train"))
    test, test_cached = ctx.reference("test", n)
    train, _ = ctx.reference("train", n)
    images, sample_seconds = timed(control.sample, n, seed)
    generated, pass_seconds = timed(ctx.run_net, images)
    ctx.passes = {
        "sample_seconds": round(sample_seconds, 4),
        "feature_pass_seconds": round(pass_seconds, 4),
        "reference_cached": test_cached,
        "n": n,
    }
    fake, real, floor = generated.features, test.features, train.features

    start = time.perf_counter()
    real_stats = gaussian_stats(real, "real features", ctx.device)
    value = fid_from_stats(*gaussian_stats(fake, "fake features", ctx.device), *real_stats)
    seconds = time.perf_counter() - start
    floor_value = fid_from_stats(*gaussian_stats(floor, "floor features", ctx.device), *real_stats)
    ctx.record("fid", value, n, seconds, floor=floor_value)
    fake_probs, real_probs = ctx.class_probs(generated), ctx.class_probs(test)
    (mean, std), seconds = timed(inception_score, fake_probs, s.is_splits, seed)
    real_is = inception_score(real_probs, s.is_splits, seed)[0]
    ctx.record("is", mean, n, seconds, std=std, real_test=real_is, head=ctx.net.class_head)
    value, seconds = timed(class_confidence, fake_probs)
    ctx.record(
        "confidence",
        value,
        n,
        seconds,
        real_test=class_confidence(real_probs),
        head=ctx.net.class_head,
    )
    start = time.perf_counter()
    draws = KidDraws.of(n, n, s.kid_subsets, s.kid_subset_size, seed, ctx.device)
    reference = ctx.reference_set("test", n, (s.pr_k, s.dc_k), draws)
    scores = compare(reference, fake, s.pr_k, s.dc_k)
    seconds = time.perf_counter() - start
    floors = compare(reference, floor, s.pr_k, s.dc_k)
    shared = ["kid", "precision", "recall", "density", "coverage"]
    ctx.record(
        "kid",
        scores["kid"],
        n,
        seconds,
        std=scores["kid_std"],
        floor=floors["kid"],
        seconds_shared_with=shared,
    )
    for name in shared[1:]:  # one real pass and one fake–real pass serve all five
        k = s.pr_k if name in ("precision", "recall") else s.dc_k
        ctx.record(
            name, scores[name], n, seconds, floor=floors[name], k=k, seconds_shared_with=shared
        )
