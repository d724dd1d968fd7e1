"""Disentanglement scores (docs/METRICS.md) on hand-made codes and factors."""

import math

import numpy as np
import pytest

from ganctrl.metrics.disentanglement import histogram_discretize, mig


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
