import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from ganctrl.metrics import clusters


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


def test_generated_purity_names_an_empty_cluster_of_positive_weight():
    predicted = [np.array([1, 1, 2]), np.array([], dtype=np.int64), np.array([0, 0])]
    with pytest.raises(ValueError, match="cluster 1 has weight 0.25 but no samples"):
        clusters.generated_purity(predicted, [0.5, 0.25, 0.25], num_classes=3)
    # Weight 0: nothing to weigh, no NaN either.
    scores = clusters.generated_purity(predicted, [0.5, 0.0, 0.5], num_classes=3)
    assert scores["generated_purity"] == pytest.approx(0.5 * 2 / 3 + 0.5 * 1.0)
    assert scores["class_coverage"] == pytest.approx(2 / 3)


def test_generated_purity_needs_one_weight_per_cluster():
    with pytest.raises(ValueError, match="2 clusters of predictions for 3 weights"):
        clusters.generated_purity([np.array([0]), np.array([1])], [0.3, 0.3, 0.4], 2)


def test_non_finite_latents_and_weights_are_rejected_by_name():
    source = torch.randn(20, 4, generator=torch.Generator().manual_seed(1))
    broken = source.clone()
    broken[5, 2] = float("nan")
    with pytest.raises(ValueError, match=r"^mapped latents of cluster 1: 1 of 20 rows hold NaN"):
        clusters.latent_spread_ratio([source, broken], [source, source], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^source latents of cluster 0: 1 of 20 rows"):
        clusters.latent_spread_ratio([source], [broken], [1.0])
    with pytest.raises(ValueError, match=r"^cluster weights: 1 of 2 rows hold NaN or inf$"):
        clusters.latent_spread_ratio([source, source], [source, source], [0.5, float("inf")])


def test_the_label_histogram_counts_each_cluster_s_classes_by_descending_weight(monkeypatch):
    drawn = {}

    def capture(matrix, columns, rows, *_):
        drawn.update(m=matrix, rows=rows)

    monkeypatch.setattr(clusters, "heat_map", capture)
    assigned, labels = np.array([0, 0, 1, 1, 1, 2]), np.array([1, 1, 0, 0, 1, 2])
    clusters.label_histogram(assigned, labels, np.array([0.2, 0.5, 0.3]), ("a", "b", "c"))
    assert drawn["m"].tolist() == [[2, 1, 0], [0, 0, 1], [0, 2, 0]]  # clusters 1, 2, 0
    assert drawn["rows"][0].startswith("c1 π=0.500 n=3")
