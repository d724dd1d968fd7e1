"""Fidelity metrics pinned to closed forms, hand cases and reference implementations on the
same features: torchmetrics (FID), torch-fidelity (IS, KID, precision/recall) and prdc
(density/coverage, and precision/recall where its conventions agree) (docs/METRICS.md)."""

import math

import numpy as np
import pytest
import torch
from prdc import compute_prdc
from scipy.linalg import sqrtm
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric
from torchmetrics.image.fid import FrechetInceptionDistance

from ganctrl.metrics import fidelity, neighbours
from ganctrl.metrics.neighbours import KidDraws, ReferenceSet, compare


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


def test_class_confidence_on_hand_made_probability_tables():
    assert fidelity.class_confidence(np.eye(4)) == 1.0
    assert fidelity.class_confidence(np.full((6, 5), 0.2)) == pytest.approx(0.2)
    table = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.3, 0.3, 0.4]])
    assert fidelity.class_confidence(table) == pytest.approx((0.7 + 0.5 + 0.4) / 3)
    with pytest.raises(ValueError, match="probs: 1 of 2 rows"):
        fidelity.class_confidence(np.array([[1.0, 0.0], [np.nan, 0.5]]))


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


def test_inception_score_equals_torch_fidelity_on_the_same_logits():
    logits = 3.0 * torch.randn(
        500, 10, generator=torch.Generator().manual_seed(6), dtype=torch.float64
    )
    probs = torch.softmax(logits, dim=1).numpy()
    ours = fidelity.inception_score(probs, splits=10, seed=7)
    # Conventions: torch-fidelity takes logits and shuffles with RandomState(rng_seed); we take
    # probabilities and shuffle with default_rng(seed). So it gets our order and no shuffle. Its
    # split bounds i·N//splits put the longer splits last where np.array_split puts them first:
    # the same splits only where splits divides N, as here.
    order = np.random.default_rng(7).permutation(500)
    reference = isc_features_to_metric(logits[order], splits=10, shuffle=False)
    expected = (reference["inception_score_mean"], reference["inception_score_std"])
    assert ours == pytest.approx(expected, rel=1e-10)
    assert ours[1] > 0.01  # the splits differ: the std is compared too, not two zeros


def test_inception_score_needs_a_row_per_split():
    probs = np.full((7, 3), 1 / 3)
    with pytest.raises(ValueError, match="7 rows for 10 splits"):
        fidelity.inception_score(probs, splits=10)
    assert fidelity.inception_score(probs, splits=7) == pytest.approx((1.0, 0.0))


def test_kid_equals_torch_fidelity_on_the_same_features():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(120, 16)), rng.normal(size=(120, 16)) * 1.1 + 0.3
    # Conventions: torch-fidelity draws subsets with RandomState(rng_seed), we with
    # default_rng(seed), so draws are compared only where they cannot matter (whole sets), and the
    # estimator draw by draw. torch-fidelity refuses subset_size > N; we clamp it to N.
    mean, std = fidelity.kid(x, y, subsets=4, subset_size=1000)
    reference = kid_features_to_metric(
        torch.from_numpy(x),
        torch.from_numpy(y),
        kid_subsets=4,
        kid_subset_size=120,
        verbose=False,
    )
    assert mean == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-9)
    assert std == 0.0 and reference["kernel_inception_distance_std"] < 1e-12
    for _ in range(3):
        a, b = x[rng.choice(120, 50, replace=False)], y[rng.choice(120, 50, replace=False)]
        assert fidelity.mmd2_unbiased(a, b) == pytest.approx(kernel_mmd(a, b), rel=1e-9)


def _seeded_pair(seed=9, d=32):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(300, d)), rng.normal(size=(240, d)) * 1.15 + 0.1


@pytest.mark.parametrize("k", [3, 5])
def test_precision_recall_equal_torch_fidelity_and_prdc_on_the_same_features(k):
    real, fake = _seeded_pair()
    precision, recall = fidelity.precision_recall(real, fake, k)
    assert 0 < precision < 1 and 0 < recall < 1 and precision != recall
    # torch-fidelity: features_1 is the generated set; ≤ membership like ours. Its means are
    # float32, hence abs=1e-6 (one point is 1/300).
    reference = prc_features_to_metric(
        torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=k, verbose=False
    )
    assert (precision, recall) == pytest.approx(
        (reference["precision"], reference["recall"]), abs=1e-6
    )
    # prdc counts strictly (<): the same on continuous features, where no distance ties a radius.
    ref = compute_prdc(real, fake, k)
    assert (precision, recall) == pytest.approx((ref["precision"], ref["recall"]), abs=1e-12)


@pytest.mark.parametrize("k", [3, 5])
def test_density_coverage_equal_prdc_on_the_same_features(k):
    real, fake = _seeded_pair()
    density, coverage = fidelity.density_coverage(real, fake, k)
    ref = compute_prdc(real, fake, k)
    assert (density, coverage) == pytest.approx((ref["density"], ref["coverage"]), abs=1e-12)
    assert 0 < density and 0 < coverage < 1


def test_ties_on_an_integer_lattice_follow_each_reference_convention():
    """Small integers make every distance exact in all three implementations, and ties (between
    duplicates and equal distances) common: the membership rules are all that differ."""
    rng = np.random.default_rng(10)
    real, fake = rng.integers(-2, 3, size=(300, 4)), rng.integers(-2, 3, size=(250, 4))
    real, fake = real.astype(np.float64), fake.astype(np.float64)
    density, coverage = fidelity.density_coverage(real, fake, 5)
    ref = compute_prdc(real, fake, 5)
    assert (density, coverage) == pytest.approx((ref["density"], ref["coverage"]), abs=1e-12)
    precision, recall = fidelity.precision_recall(real, fake, 3)
    reference = prc_features_to_metric(
        torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=3, verbose=False
    )
    assert (precision, recall) == pytest.approx(
        (reference["precision"], reference["recall"]), abs=1e-6
    )
    # prdc's precision/recall count strictly (<), unlike Kynkäänniemi et al. and torch-fidelity
    # (≤): a radius of 0 (k+1 duplicates) then holds nothing, so prdc's values are lower here.
    strict = compute_prdc(real, fake, 3)
    assert strict["precision"] < precision and strict["recall"] < recall


def test_exact_duplicates_compared_with_their_copies():
    base = np.random.default_rng(0).normal(size=(50, 64))
    copies = np.tile(base, (4, 1))  # every point 4 times: k = 3 radii are exactly 0
    # ≤ keeps a point inside its own zero-radius ball. The float32 search this replaced left
    # 36% of them outside (precision 0.64).
    assert fidelity.precision_recall(copies, copies, 3) == (1.0, 1.0)
    # k = 5: each radius is the distance to the nearest distinct point, so a fake lies strictly
    # inside exactly its 4 copies' balls: density 4/5 (was 1.26), as prdc says.
    density, coverage = fidelity.density_coverage(copies, copies, 5)
    ref = compute_prdc(copies, copies, 5)
    assert (density, coverage) == pytest.approx((ref["density"], ref["coverage"]), abs=1e-12)
    assert density == pytest.approx(0.8, abs=1e-12)
    # k = 3 with strict <: zero radii hold nothing. (prdc's own answer there is noise: its
    # ‖x‖² + ‖y‖² − 2xᵀy distances put copies a rounding error apart.)
    assert fidelity.density_coverage(copies, copies, 3) == (0.0, 0.0)


@pytest.mark.parametrize("duplicates", [False, True])
def test_a_common_offset_changes_nothing(duplicates):
    real, fake = _seeded_pair(seed=11, d=64)
    if duplicates:
        real = fake = np.tile(real[:50], (4, 1))
    plain = fidelity.precision_recall(real, fake, 3) + fidelity.density_coverage(real, fake, 5)
    moved = fidelity.precision_recall(real + 100, fake + 100, 3) + fidelity.density_coverage(
        real + 100, fake + 100, 5
    )
    assert moved == pytest.approx(plain, abs=1e-9)


def test_tiles_and_float32_screening_change_nothing(monkeypatch):
    """Every decision taken from exact float64 distances (an infinite margin, no spare
    candidates: each radius from a whole exact row) against the float32 tiles' screening, in
    small and in whole tiles, on data with ties and a large common offset."""
    real, fake = _seeded_pair(seed=12, d=8)
    lattice = np.random.default_rng(12).integers(-2, 3, size=(200, 4)).astype(np.float64)
    cases = [(real, fake), (real + 1e3, fake + 1e3), (lattice, lattice[::-1] + 0.0)]

    def scores():
        return [compare(ReferenceSet.of(r, (3, 5)), f, 3, 5) for r, f in cases]

    screened = scores()
    monkeypatch.setattr(neighbours, "TILE_BYTES", 4 * 300 * 50)  # 50 rows a tile
    assert len(list(neighbours.squared_tiles(*[neighbours.Points.of(real, "x")] * 2))) == 6
    assert scores() == screened
    monkeypatch.setattr(neighbours, "_margin", lambda *args: math.inf)
    monkeypatch.setattr(neighbours, "SPARE_CANDIDATES", 0)
    assert scores() == screened


@pytest.mark.parametrize("roundoff", [2.0**-11, 2.0**-8])
def test_the_wider_bounds_of_tf32_and_bfloat16_products_change_nothing(roundoff, monkeypatch):
    """A GPU's TF32 or bfloat16 products widen the bound (`_unit_roundoff`), so far more
    distances and radii are undecided and go to the exact path; the CPU's float32 products are
    well inside those bounds, so the same screening runs here: every score as all-exact."""
    real, fake = _seeded_pair(seed=14, d=16)
    lattice = np.random.default_rng(14).integers(-2, 3, size=(200, 4)).astype(np.float64)
    cases = [(real, fake), (real + 1e3, fake + 1e3), (lattice, lattice[::-1] + 0.0)]
    with monkeypatch.context() as m:
        m.setattr(neighbours, "_margin", lambda *args: math.inf)
        everything = [compare(ReferenceSet.of(r, (3, 5)), f, 3, 5) for r, f in cases]
    monkeypatch.setattr(neighbours, "_unit_roundoff", lambda device: roundoff)
    assert [compare(ReferenceSet.of(r, (3, 5)), f, 3, 5) for r, f in cases] == everything


def test_a_row_whose_candidates_run_out_asks_only_about_its_undecided_entries(monkeypatch):
    """With no spare candidates every row's k = 5 radius is settled from its whole computed row:
    exactly as from all-exact rows, yet asking exact distances only for the entries the margin
    leaves undecided (whole exact rows made 2 048-d features 6× slower on a CPU)."""
    real, _ = _seeded_pair(seed=12, d=8)
    lattice = np.random.default_rng(12).integers(-2, 3, size=(200, 4)).astype(np.float64)
    exact_distances = neighbours.exact_distances
    monkeypatch.setattr(neighbours, "SPARE_CANDIDATES", 0)
    for points in (real, lattice):
        asked = []

        def counted(a, rows, b, cols, asked=asked):
            asked.append(len(rows))
            return exact_distances(a, rows, b, cols)

        monkeypatch.setattr(neighbours, "exact_distances", counted)
        screened = ReferenceSet.of(points, (3, 5)).radii
        assert sum(asked) >= 3 * len(points)  # a pair per row for each k, and per fallback
        assert sum(asked) < len(points) ** 2 / 10  # whole rows would ask len(points)² pairs
        monkeypatch.setattr(neighbours, "exact_distances", exact_distances)
        with monkeypatch.context() as m:
            m.setattr(neighbours, "_margin", lambda *args: math.inf)
            everything = ReferenceSet.of(points, (3, 5)).radii
        assert all(torch.equal(screened[k], everything[k]) for k in (3, 5))


def test_exact_distances_are_float64_differences():
    real, fake = _seeded_pair(seed=13, d=8)
    a, b = neighbours.Points.of(fake, "fake"), neighbours.Points.of(real, "real")
    rows, cols = torch.arange(240).repeat_interleave(300), torch.arange(300).repeat(240)
    matrix = neighbours.exact_distances(a, rows, b, cols).view(240, 300).numpy()
    direct = np.sqrt(((fake[:, None, :] - real[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(matrix, direct, rtol=1e-14)


@pytest.mark.parametrize("offset", [0.0, 1.0])
def test_the_shared_pass_kid_equals_the_float64_definition_on_the_same_subsets(offset):
    """The same seeded draws, the kernel from float32 Gram tiles: equal to float tolerance. The
    offset checks the centring: KID's kernel, unlike a distance, sees the raw products. (The
    float32 kernel's error grows with ‖mean‖²/d: 1e-6 relative here at 1, 1e-3 at 2 500.)"""
    rng = np.random.default_rng(16)
    real, fake = rng.normal(size=(400, 32)) + offset, rng.normal(size=(300, 32)) * 1.1 + offset
    draws = KidDraws.of(300, 400, subsets=20, subset_size=100, seed=3)
    scores = compare(ReferenceSet.of(real, (3, 5), draws), fake)
    mean, std = fidelity.kid(fake, real, subsets=20, subset_size=100, seed=3)
    assert scores["kid"] == pytest.approx(mean, rel=1e-5, abs=1e-7)
    assert scores["kid_std"] == pytest.approx(std, rel=1e-4)
    assert abs(mean) > 1e-3  # a real difference, not two zeros agreeing


def test_radii_need_more_points_than_k():
    points = np.random.default_rng(13).normal(size=(3, 2))
    with pytest.raises(ValueError, match="real features: .*k=3.*got 3"):
        fidelity.precision_recall(points, points, 3)


def _with_bad_rows(rows: int = 40, bad=(3, 17)):
    values = np.random.default_rng(14).normal(size=(rows, 4))
    values[bad[0], 1], values[bad[1]] = np.nan, np.inf
    return values


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (lambda good, bad: fidelity.fid(bad, good), "fake features"),
        (lambda good, bad: fidelity.fid(good, bad), "real features"),
        (lambda good, bad: fidelity.kid(bad, good, 2, 10), "fake features"),
        (lambda good, bad: fidelity.kid(good, torch.from_numpy(bad)), "real features"),
        (lambda good, bad: fidelity.precision_recall(good, bad), "fake features"),
        (lambda good, bad: fidelity.precision_recall(bad, good), "real features"),
        (lambda good, bad: fidelity.density_coverage(good, bad), "fake features"),
        (lambda good, bad: fidelity.density_coverage(bad, good), "real features"),
        (lambda good, bad: fidelity.inception_score(np.abs(bad), 4), "probs"),
    ],
)
def test_non_finite_rows_are_rejected_by_name_and_count(metric, message):
    good = np.random.default_rng(15).normal(size=(40, 4))
    with pytest.raises(ValueError, match=f"^{message}: 2 of 40 rows hold NaN or inf$"):
        metric(good, _with_bad_rows())


def test_one_pass_gives_all_four_at_their_own_k_against_prdc():
    """The family's shared pass (k = 3 for precision/recall, 5 for density/coverage, the real
    set's radii and KID sums reused for a second fake set) against prdc at each k, and KID
    against its definition."""
    rng = np.random.default_rng(7)
    real, fake, floor = (rng.normal(size=(300, 6)) for _ in range(3))
    reference = ReferenceSet.of(real, (3, 5), KidDraws.of(300, 300, 10, 50, seed=0))
    for other in (fake + 0.3, floor):
        scores = compare(reference, other, pr_k=3, dc_k=5)
        at3, at5 = compute_prdc(real, other, 3), compute_prdc(real, other, 5)
        assert scores["precision"] == pytest.approx(at3["precision"])
        assert scores["recall"] == pytest.approx(at3["recall"])
        assert scores["density"] == pytest.approx(at5["density"])
        assert scores["coverage"] == pytest.approx(at5["coverage"])
        mean, _ = fidelity.kid(other, real, 10, 50, seed=0)
        assert scores["kid"] == pytest.approx(mean, rel=1e-5, abs=1e-7)


def test_only_entries_the_margin_cannot_settle_are_taken_again_exactly():
    """Gaps d² − r² with margin 1: −5 is surely inside, 3 surely outside, ±0.5 undecided."""
    gap = torch.tensor([[0.5, 3.0, 3.0], [-5.0, 0.5, 3.0], [3.0, 3.0, -0.5]])
    asked = []

    def exact(i, j):
        asked.extend(zip(i.tolist(), j.tolist(), strict=True))
        return torch.tensor([a == b for a, b in zip(i.tolist(), j.tolist(), strict=True)])

    # rows: row 1 is settled by its −5; rows 0 and 2 ask about their one undecided entry
    assert neighbours._any_within(gap, 1.0, 1, exact).tolist() == [True, True, True]
    assert sorted(asked) == [(0, 0), (2, 2)]
    asked.clear()
    # columns: column 0 is settled by the −5; column 1's 0.5 is asked and is outside (1 ≠ 0)
    columns = neighbours._any_within(gap, 1.0, 0, lambda i, j: exact(i, j) & (j != 1))
    assert columns.tolist() == [True, False, True] and sorted(asked) == [(1, 1), (2, 2)]
    asked.clear()
    flags = torch.empty((2, 3, 3), dtype=torch.bool)
    # one sure entry, and three undecided, on the diagonal, which exact() calls inside
    assert neighbours._count_within(gap, flags, 1.0, exact) == 4
    assert sorted(asked) == [(0, 0), (1, 1), (2, 2)]


CUDA_DEVICES = [torch.device("cuda")] if torch.cuda.is_available() else []


@pytest.mark.skipif(not CUDA_DEVICES, reason="needs CUDA (run on a GPU machine)")
@pytest.mark.parametrize("tf32", [False, True])
def test_cuda_gives_the_cpu_values(tf32, monkeypatch):
    """The shared pass on the GPU, also with TF32 products (a wider margin, more exact checks):
    the manifold metrics bit for bit, also with a large offset and on lattice data full of ties.
    KID, which has no exact fallback, to float tolerance where the products are float32 and the
    features near the origin (the module docstring's error bound). FID, float64 on either
    device (TF32 touches only float32 products), to float64 tolerance."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", tf32)
    real, fake = _seeded_pair(seed=21, d=8)
    lattice = np.random.default_rng(21).integers(-2, 3, size=(200, 4)).astype(np.float64)
    for case, (r, f) in enumerate(
        [(real, fake), (real + 1e3, fake + 1e3), (lattice, lattice[::-1] + 0.0)]
    ):
        on = {}
        for device in [torch.device("cpu"), *CUDA_DEVICES]:
            draws = KidDraws.of(len(f), len(r), 10, 50, seed=0, device=device)
            on[device.type] = compare(ReferenceSet.of(r, (3, 5), draws, device=device), f)
            on[device.type]["fid"] = fidelity.fid(f, r, device)
        assert on["cuda"]["fid"] == pytest.approx(on["cpu"]["fid"], rel=1e-9, abs=1e-9), case
        for metric in ("precision", "recall", "density", "coverage"):
            assert on["cuda"][metric] == on["cpu"][metric], (case, metric)
        if case == 0 and not tf32:
            assert on["cuda"]["kid"] == pytest.approx(on["cpu"]["kid"], rel=1e-4, abs=1e-7)


def test_a_candidate_on_the_rounded_lower_bound_is_still_taken_exactly():
    """1-D points at squared distances 0, 0.1, s2, s3, far… from point 0, its computed s2 exactly
    on the float32 bound s3 − margin, rounded down: neither surely nearer than its k = 3 radius
    nor, by the old second test, within the margin, it was dropped and the radius read inf."""
    margin, far = 0.0, [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0]
    for step in range(400):
        s3 = 0.5 + step * 1e-3
        squared = np.array([0.0, 0.1, s3 - margin, s3, *far])
        points = neighbours.Points.of(np.sqrt(squared)[:, None], "points")
        margin = 2 * neighbours._margin(points, slice(0, 1), points)  # as _radii widens it
        on_bound = torch.tensor([s3], dtype=torch.float32) - margin
        rounded_down = float(on_bound) < float(np.float32(s3)) - float(np.float32(margin))
        if rounded_down and abs(float(on_bound) - squared[2]) <= margin / 2:
            break
    else:
        pytest.fail("no s3 whose lower bound rounds down: the case was not built")
    tile = torch.tensor(squared, dtype=torch.float32)[None, :]
    tile[0, 2] = on_bound  # within the screening's error bound of the exact s2
    radius = neighbours._radii(points, slice(0, 1), tile, (3,))[3]
    assert radius.item() == pytest.approx(math.sqrt(s3), rel=1e-12)
