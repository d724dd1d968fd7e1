"""S_disent and N_attr (docs/METRICS.md, "Directions") on hand-made attribute-change matrices."""

import math

import numpy as np
import pytest

from ganctrl.metrics.attribute_change import attribute_change_scores, merge_factor_values


@pytest.mark.parametrize(
    "matrix, s_disent, n_attr",
    [
        # rows → [.25, 1, .125], [1, 1, 0], [1, 1/3, 1/3]: gaps .75, 0, 2/3; maxima at 1 and 0 (tie)
        ([[0.2, 0.8, 0.1], [0.5, 0.5, 0.0], [0.9, 0.3, 0.3]], 0.47222, 2),
        # rows → [.25, 1, .125], [1, .25, 1]: gaps .75 and 0; maxima at 1, and 0 and 2 (tie)
        ([[0.2, 0.8, 0.1], [0.4, 0.1, 0.4]], 0.375, 3),
        # one attribute per direction, each a different one
        (np.eye(4) * 3.0, 1.0, 4),
    ],
)
def test_s_disent_and_n_attr_match_the_hand_computed_values(matrix, s_disent, n_attr):
    scores = attribute_change_scores(matrix)
    assert scores.s_disent == pytest.approx(s_disent, abs=5e-6)
    assert scores.n_attr == n_attr and scores.zero_rows == 0


def test_rows_that_change_nothing_are_excluded_and_counted():
    scores = attribute_change_scores([[0.2, 0.8, 0.1], [0.0, 0.0, 0.0], [0.4, 0.1, 0.4]])
    assert scores.s_disent == pytest.approx(0.375) and scores.n_attr == 3
    assert scores.zero_rows == 1
    empty = attribute_change_scores(np.zeros((2, 3)))
    assert math.isnan(empty.s_disent) and (empty.n_attr, empty.zero_rows) == (0, 2)


def test_scale_of_a_row_does_not_matter():
    matrix = np.array([[0.2, 0.8, 0.1], [0.5, 0.5, 0.0]])
    scaled, plain = (
        attribute_change_scores(matrix * [[10.0], [0.01]]),
        attribute_change_scores(matrix),
    )
    assert scaled.s_disent == pytest.approx(plain.s_disent) and scaled.n_attr == plain.n_attr


@pytest.mark.parametrize(
    "matrix, message",
    [
        ([[0.1, -0.2]], "must be >= 0"),
        ([[0.1], [0.2]], "at least 2 attributes"),
        ([[0.1, float("nan")]], "NaN or inf"),
    ],
)
def test_bad_matrices_are_refused_with_the_reason(matrix, message):
    with pytest.raises(ValueError, match=message):
        attribute_change_scores(matrix)


def test_a_factors_values_merge_into_one_column_by_their_maximum():
    names = ["hue=0", "hue=1", "scale", "shape=0", "shape=1", "shape=2"]
    matrix = [
        [0.9, 1.0, 0.1, 0.0, 0.2, 0.0],  # turns hue 0 into hue 1: S_disent gap 0.1
        [0.1, 0.0, 0.2, 0.3, 0.4, 0.8],
    ]
    merged, factors = merge_factor_values(matrix, names)
    assert factors == ["hue", "scale", "shape"]
    np.testing.assert_array_equal(merged, [[1.0, 0.1, 0.2], [0.1, 0.2, 0.8]])
    assert attribute_change_scores(matrix).s_disent == pytest.approx((0.1 + 0.5) / 2)
    assert attribute_change_scores(merged).s_disent == pytest.approx((0.8 + 0.75) / 2)
    with pytest.raises(ValueError, match="6 attribute columns but 5 names"):
        merge_factor_values(matrix, names[:-1])
