"""Disentanglement scores (docs/METRICS.md) on hand-made codes and factors."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganctrl.methods.common.contract import Clusters
from ganctrl.metrics.disentanglement import (
    dci,
    dci_from_importance,
    factor_vae_score,
    fixed_factor_sampler,
    histogram_discretize,
    mig,
    sap_from_matrix,
    sap_matrix,
    scorable,
)


def factors_and_noise(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, size=(n, 3)), rng


def test_mig_on_a_hand_case_is_the_closed_form():
    factors = np.array([[0], [0], [1], [1]])
    codes = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    # I(d0; f) = ln 2 = H(f); I(d1; f) = .5 ln(4/3) + .25 ln(2/3) + .25 ln 2
    second = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * math.log(2)
    assert mig(codes, factors, bins=2) == pytest.approx((math.log(2) - second) / math.log(2))


def test_mig_of_an_identity_code_is_high_and_of_a_random_code_low():
    factors, rng = factors_and_noise()
    identity = factors + 0.01 * rng.standard_normal(factors.shape)
    assert mig(identity, factors) > 0.9
    assert mig(rng.standard_normal(factors.shape), factors) < 0.2


def test_mig_of_a_code_that_duplicates_every_factor_is_near_zero():
    factors, _ = factors_and_noise()
    duplicated = np.repeat(factors.astype(float), 2, axis=1)  # two equal dimensions per factor
    assert mig(duplicated, factors) < 0.1


def test_discretisation_is_equal_width_bins_per_dimension():
    codes = np.array([[0.0, 10.0], [0.49, 10.0], [0.51, 30.0], [1.0, 20.0]])
    assert histogram_discretize(codes, bins=2).tolist() == [[1, 1], [1, 1], [2, 2], [2, 2]]


@pytest.mark.parametrize(
    "codes, factors, message",
    [
        (np.zeros((4, 2)), np.array([[0], [0], [0], [0]]), "constant"),
        (np.zeros((4, 2)), np.array([0, 1, 0, 1]), "factors must be"),
        (np.zeros((4, 1)), np.array([[0], [1], [0], [1]]), "at least 2 dimensions"),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(codes, factors, message):
    with pytest.raises(ValueError, match=message):
        mig(codes, factors)


def test_dci_of_an_importance_matrix_is_the_closed_form():
    # code 0 → factor 0 only; code 1 split evenly over both factors
    importance = np.array([[2.0, 0.0], [1.0, 1.0]])
    # P_0 = (1, 0): 1 − H₂ = 1; P_1 = (.5, .5): 1 − H₂ = 0; ρ = (.5, .5)
    # factor 0: (2/3, 1/3) over codes, factor 1: (0, 1); ρ = (.75, .25)
    h = -(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3)
    disentanglement, completeness = dci_from_importance(importance)
    assert disentanglement == pytest.approx(0.5, abs=1e-6)
    assert completeness == pytest.approx(0.75 * (1 - h) + 0.25 * 1.0, abs=1e-6)
    assert dci_from_importance(np.zeros((3, 2))) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_dci_of_a_perfect_code_is_high_and_of_noise_low():
    factors, rng = factors_and_noise(2000)
    factors = factors[:, :2] % 4
    test_factors = rng.integers(0, 4, size=(500, 2))
    perfect = dci(
        factors + 0.01 * rng.standard_normal(factors.shape),
        factors,
        test_factors + 0.01 * rng.standard_normal(test_factors.shape),
        test_factors,
    )
    assert perfect.disentanglement > 0.9 and perfect.completeness > 0.9
    assert perfect.informativeness_test > 0.95
    noise = dci(
        rng.standard_normal((2000, 2)), factors, rng.standard_normal((500, 2)), test_factors
    )
    assert noise.informativeness_test < 0.35  # chance is 0.25


def test_factor_vae_score_of_an_identity_code_is_one_and_of_noise_near_chance():
    factors, rng = factors_and_noise(3000)
    identity = factors + 0.01 * rng.standard_normal(factors.shape)
    sizes = (10, 10, 10)
    perfect = factor_vae_score(
        identity,
        factors,
        fixed_factor_sampler(identity, factors),
        sizes,
        train_votes=300,
        eval_votes=300,
    )
    assert perfect["eval_accuracy"] == 1.0 and perfect["active_dims"] == 3
    noise = rng.standard_normal((3000, 3))
    random = factor_vae_score(
        noise, factors, fixed_factor_sampler(noise, factors), sizes, train_votes=300, eval_votes=300
    )
    assert random["eval_accuracy"] < 0.6  # chance is 1/3; a majority vote overfits a little


def test_factor_vae_score_prunes_dead_dimensions():
    factors, rng = factors_and_noise(500)
    codes = np.zeros((500, 3))
    result = factor_vae_score(
        codes,
        factors,
        fixed_factor_sampler(codes, factors),
        (10,) * 3,
        train_votes=10,
        eval_votes=10,
    )
    assert result == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "active_dims": 0}


def test_sap_continuous_is_the_squared_correlation_gap():
    codes = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    factors = np.array([[0], [1], [2], [3]])
    scores = sap_matrix(codes, factors, codes, factors, continuous=True)
    # code 0 = factor: R² = 1; code 1 vs factor: corr = −0.4472, R² = 0.2
    assert scores[:, 0] == pytest.approx([1.0, 0.2])
    assert sap_from_matrix(scores) == pytest.approx(0.8)


def test_sap_discrete_separates_an_identity_code_from_a_duplicated_one():
    factors, rng = factors_and_noise(2000)
    factors = factors[:, :2] % 2
    identity = factors + 0.05 * rng.standard_normal(factors.shape)
    assert sap_from_matrix(sap_matrix(identity, factors, identity, factors, False)) > 0.4
    duplicated = np.repeat(identity[:, :1], 2, axis=1)
    assert (
        sap_from_matrix(sap_matrix(duplicated, factors[:, :1], duplicated, factors[:, :1], False))
        < 0.05
    )


def test_only_a_control_with_two_codes_or_more_is_scored_against_factors():
    """MIC-GAN K = 1 on Shapes: one cluster is a code that says nothing; scoring it would fail
    the job after its training (MIG refuses a one-dimensional code)."""

    class OneCodeFamily(Clusters):
        def sample_cluster(self, cluster, n, seed=0):
            raise AssertionError("not sampled")

    shapes, digits = SimpleNamespace(factor_names=("shape",)), SimpleNamespace(factor_names=())
    control = OneCodeFamily(torch.nn.Linear(1, 1))
    for k, expected in ((1, False), (2, True)):
        control.k = k
        assert scorable(shapes, control) is expected
    assert not scorable(digits, control)
