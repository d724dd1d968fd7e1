import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from ganctrl.metrics import clusters, exemplars


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_purity_nmi_ari_equal_scikit_learn_on_random_labelings(seed):
    rng = np.random.default_rng(seed)
    assigned, labels = rng.integers(0, 7, 300), rng.integers(0, 5, 300)
    table = contingency_matrix(labels, assigned)
    assert clusters.purity(assigned, labels) == pytest.approx(table.max(axis=0).sum() / 300)
    assert clusters.nmi(assigned, labels) == pytest.approx(
        normalized_mutual_info_score(labels, assigned, average_method="arithmetic"), abs=1e-5
    )
    assert clusters.ari(assigned, labels) == pytest.approx(
        adjusted_rand_score(labels, assigned), abs=1e-5
    )


def test_top_purity_and_covered_fraction_on_a_hand_case():
    assigned = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
    labels = np.array([5, 5, 5, 6, 7, 7, 8, 9, 9, 9])
    weights = [0.4, 0.3, 0.2, 0.1]
    value, covered = clusters.top_purity(assigned, labels, weights, top=2)
    assert value == pytest.approx(5 / 7) and covered == pytest.approx(0.7)
    assert clusters.purity(assigned, labels) == pytest.approx(8 / 10)


def test_hungarian_accuracy_of_a_permuted_labeling_is_one():
    labels = np.repeat(np.arange(4), 5)
    assert clusters.hungarian_accuracy((labels + 1) % 4, labels) == 1.0
    assert clusters.hungarian_accuracy(np.zeros(20, int), labels) == pytest.approx(0.25)


def test_generated_purity_weights_and_class_coverage():
    predicted = [np.array([1, 1, 1, 2]), np.array([1, 1, 0, 0, 0, 0]), np.array([3, 3, 3, 3])]
    scores = clusters.generated_purity(predicted, [0.5, 0.5, 0.0], num_classes=4)
    assert scores["generated_purity"] == pytest.approx(0.5 * 3 / 4 + 0.5 * 4 / 6)
    assert scores["class_coverage"] == pytest.approx(2 / 4)  # majorities 1 and 0; cluster 2 unused


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


def test_latent_spread_ratio_closed_forms():
    g = torch.Generator().manual_seed(0)
    source = torch.randn(500, 8, generator=g)
    assert clusters.latent_spread_ratio([source], [source], [1.0]) == pytest.approx(1.0)
    halved = 0.5 * source + 3.0  # a shift does not spread; halving quarters the variance
    assert clusters.latent_spread_ratio([halved], [source], [1.0]) == pytest.approx(0.25)
    # Per-cluster ratios 1 and 0.25, weighted 3 : 1.
    ratio = clusters.latent_spread_ratio([source, halved], [source, source], [0.75, 0.25])
    assert ratio == pytest.approx(0.75 * 1.0 + 0.25 * 0.25)
    assert clusters.latent_spread_ratio([source[:1].repeat(9, 1)], [source], [1.0]) == 0.0
