"""Exemplar metrics (docs/METRICS.md, "Exemplars"): hand cases, and clear errors for the inputs
that numpy would otherwise broadcast or FAISS would answer with index -1."""

import numpy as np
import pytest
import torch

from ganctrl.metrics import exemplars


def test_kth_neighbour_rate_on_a_hand_made_point_set():
    points = np.array([[0.0], [1.0], [3.0], [10.0], [11.5], [14.0]])
    labels = np.array([0, 0, 1, 1, 1, 0])
    # 1st neighbours: 1, 0, 1, 4, 3, 4 → same label for points 0, 1, 3, 4
    # 2nd neighbours: 2, 2, 0, 5, 5, 3 → same label for none
    rates = exemplars.kth_neighbour_rates(points, labels, ks=(1, 2))
    assert rates[1] == pytest.approx(4 / 6)
    assert rates[2] == pytest.approx(0 / 6)


def test_conditional_accuracy_counts_in_exemplar_order():
    predicted = np.array([3, 3, 1, 3, 2, 2])
    assert exemplars.conditional_accuracy(predicted, [3, 1, 2], n_per=2) == pytest.approx(5 / 6)


def test_conditional_accuracy_rejects_a_column_of_predictions():
    truth = np.repeat([3, 1, 2], 2)
    # An (N, 1) column broadcast against the labels scored 1/3 here, where the truth is 1.0.
    with pytest.raises(ValueError, match=r"1-D with 3 exemplars x 2 = 6 entries.*\(6, 1\)"):
        exemplars.conditional_accuracy(truth[:, None], [3, 1, 2], n_per=2)
    assert exemplars.conditional_accuracy(truth, [3, 1, 2], n_per=2) == 1.0


@pytest.mark.parametrize("length", [5, 7])
def test_conditional_accuracy_needs_n_per_samples_for_every_exemplar(length):
    with pytest.raises(ValueError, match=f"6 entries in exemplar order, got shape \\({length},\\)"):
        exemplars.conditional_accuracy(np.zeros(length, int), [3, 1, 2], n_per=2)


def test_conditional_accuracy_needs_flat_labels_and_a_sample_each():
    with pytest.raises(ValueError, match=r"labels of shape \(3, 1\)"):
        exemplars.conditional_accuracy(np.zeros(6, int), [[3], [1], [2]], n_per=2)
    with pytest.raises(ValueError, match="n_per=0"):
        exemplars.conditional_accuracy(np.zeros(0, int), [3, 1, 2], n_per=0)


def test_value_shares_count_each_value_including_the_ones_never_predicted():
    assert exemplars.value_shares(np.array([2, 2, 0, 2]), size=4) == [0.25, 0.0, 0.75, 0.0]


def test_value_shares_refuse_values_outside_the_factor_and_empty_input():
    with pytest.raises(ValueError, match=r"lie in 0\.\.2, got 0\.\.3"):
        exemplars.value_shares(np.array([0, 3]), size=3)
    with pytest.raises(ValueError, match=r"got shape \(0,\)"):
        exemplars.value_shares(np.zeros(0, int), size=3)


def test_kth_neighbour_rates_reject_non_finite_features():
    features = torch.randn(30, 3, generator=torch.Generator().manual_seed(0))
    features[29] = float("nan")  # FAISS answered -1 here, read as the last point's label
    with pytest.raises(ValueError, match=r"^features: 1 of 30 rows hold NaN or inf$"):
        exemplars.kth_neighbour_rates(features, np.arange(30) % 2, ks=(1,))


def test_kth_neighbour_rates_need_one_label_per_point():
    points = np.arange(12.0)[:, None]
    with pytest.raises(ValueError, match=r"12 feature rows but labels of shape \(11,\)"):
        exemplars.kth_neighbour_rates(points, np.zeros(11, int), ks=(1,))
