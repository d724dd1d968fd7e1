"""Fidelity metrics pinned to closed forms, hand cases and torchmetrics (docs/METRICS.md)."""

import math

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm
from torchmetrics.image.fid import FrechetInceptionDistance

from ganctrl.metrics import fidelity


def test_fid_closed_form_for_known_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2  # ‖Δμ‖² + Σ(√a − √b)²
    assert math.isclose(fidelity.fid_from_stats(mu1, s1, mu2, s2), expected, rel_tol=1e-12)


def test_fid_trace_term_matches_sqrtm_on_non_commuting_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    mu = np.zeros(6)
    reference = np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrtm(s1 @ s2)).real
    assert math.isclose(fidelity.fid_from_stats(mu, s1, mu, s2), reference, rel_tol=1e-9)


def test_fid_equals_torchmetrics_on_the_same_features():
    class Identity(torch.nn.Module):
        def forward(self, x):
            return x

    torch.manual_seed(0)
    real, fake = torch.randn(300, 16), torch.randn(250, 16) * 1.3 + 0.2
    reference = FrechetInceptionDistance(feature=Identity(), input_img_size=(16,))
    reference.update(real, real=True)
    reference.update(fake, real=False)
    ours = fidelity.fid(real, fake)
    assert math.isclose(ours, reference.compute().item(), rel_tol=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_needs_two_samples():
    features = np.random.default_rng(1).normal(size=(500, 32))
    assert abs(fidelity.fid(features, features)) < 1e-6
    with pytest.raises(ValueError, match="at least 2"):
        fidelity.fid(features[:1], features)


def test_inception_score_on_hand_made_probability_tables():
    uniform = np.full((100, 10), 0.1)
    assert fidelity.inception_score(uniform, splits=10) == pytest.approx((1.0, 0.0))
    one_hot = np.eye(5)[np.arange(100) % 5]  # balanced over C = 5 classes
    mean, _ = fidelity.inception_score(one_hot, splits=1)
    assert mean == pytest.approx(5.0)


def test_kid_is_unbiased_on_identical_distributions():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    mean, std = fidelity.kid(x, y, subsets=50, subset_size=100, seed=0)
    assert abs(mean) < 2 * std / math.sqrt(50) + 1e-3
    shifted, _ = fidelity.kid(x, y + 1.0, subsets=50, subset_size=100, seed=0)
    assert shifted > 20 * abs(mean)
    # the statistic itself: unbiased MMD² by hand on a 3-point case
    a, b = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [1.0], [3.0]])
    k = lambda u, v: (u * v + 1.0) ** 3  # noqa: E731  (d = 1)
    kaa = sum(k(a[i, 0], a[j, 0]) for i in range(3) for j in range(3) if i != j) / 6
    kbb = sum(k(b[i, 0], b[j, 0]) for i in range(3) for j in range(3) if i != j) / 6
    kab = sum(k(a[i, 0], b[j, 0]) for i in range(3) for j in range(3)) / 9
    assert fidelity.mmd2_unbiased(a, b) == pytest.approx(kaa + kbb - 2 * kab)


def _collapsed():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 4))
    fake = real[:5][rng.integers(0, 5, 500)] + rng.normal(scale=1e-3, size=(500, 4))
    return real, fake


def test_precision_recall_orientation_on_a_mode_collapsed_set():
    real, fake = _collapsed()
    precision, recall = fidelity.precision_recall(real, fake, k=3)
    assert precision > 0.95 and recall < 0.1


def test_density_coverage_identical_and_collapsed():
    rng = np.random.default_rng(4)
    real, other = rng.normal(size=(800, 4)), rng.normal(size=(800, 4))
    density, coverage = fidelity.density_coverage(real, other, k=5)
    assert 0.85 < density < 1.15 and coverage > 0.9
    _, collapsed_coverage = fidelity.density_coverage(*_collapsed(), k=5)
    assert collapsed_coverage < 0.1


def test_precision_membership_uses_less_or_equal_and_density_strict():
    real = np.array([[0.0], [2.0], [4.0]])  # 1-NN radii: 2, 2, 2
    fake = np.array([[6.0], [100.0]])  # 6.0 lies exactly on the ball of 4.0
    precision, _ = fidelity.precision_recall(real, fake, k=1)
    assert precision == 0.5
    density, _ = fidelity.density_coverage(real, fake, k=1)
    assert density == 0.0  # on the boundary only: strict < counts none


def test_kid_with_subsets_as_large_as_the_sets_is_one_exact_mmd():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3)) + 0.5
    mean, std = fidelity.kid(x, y, subsets=100, subset_size=1000)
    assert mean == pytest.approx(fidelity.mmd2_unbiased(x, y)) and std == 0.0
