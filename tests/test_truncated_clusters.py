"""The truncation control of IMLE clusters (docs/METHODS.md §1): IMLE's very clusters, sampled
as shrunk copies whose latent spread ratio is the one asked for."""

import functools

import pytest
import torch

from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.latent_clusters import LatentClustering
from ganctrl.methods.imle_clusters.method import IMLEClusters
from ganctrl.methods.imle_clusters.truncation import (
    TruncatedClusters,
    shrink_toward,
    total_variance,
)
from ganctrl.metrics.clusters import latent_spread_ratio


def clustered(**settings) -> functools.partial:
    """The `clustering` node as Hydra instantiates it (`_partial_`): the method adds G."""
    return functools.partial(LatentClustering, **settings)


def small_generator() -> DCGANGenerator:
    torch.manual_seed(0)
    return DCGANGenerator(channels=1, image_size=8, z_dim=16, width=4).eval()


def spread_of(control, seed: int = 0) -> float:
    """The metric's own measure: |Z_c| samples per cluster against Z_c."""
    members = [control.cluster_latents(c) for c in range(control.k)]
    mapped = [control.sample_cluster_latents(c, len(m), seed + c) for c, m in enumerate(members)]
    return latent_spread_ratio(mapped, members, control.weights.numpy())


def test_shrink_toward_is_the_truncation_trick_about_a_centre():
    latents = torch.tensor([[2.0, 4.0], [0.0, 0.0]])
    centre = torch.tensor([1.0, 1.0])
    expected = torch.tensor([[1.5, 2.5], [0.5, 0.5]])
    assert torch.equal(shrink_toward(latents, centre, 0.5), expected)
    assert total_variance(torch.tensor([[0.0, 1.0], [2.0, 5.0]])) == pytest.approx(2.0 + 8.0)


@pytest.mark.parametrize("draw_from", ["cluster", "prior"])
@pytest.mark.parametrize("spread_ratio", [0.2, 0.5, 1.0])
def test_spread_ratio_is_the_one_requested(draw_from, spread_ratio):
    control = TruncatedClusters(
        small_generator(),
        spread_ratio=spread_ratio,
        draw_from=draw_from,
        clustering=clustered(clusters=4, layer=1, num_latents=4000),
    ).controls()
    # ~1 000 draws per cluster of a 16-d latent: tr Cov is known to about ±4 %.
    assert spread_of(control) == pytest.approx(spread_ratio, rel=0.06)
    for c in range(control.k):  # the centre: μ_c + a_c·(E z − μ_c), E z = μ_c or the prior's 0
        mean = control.cluster_latents(c).mean(0)
        drawn_mean = mean if draw_from == "cluster" else torch.zeros_like(mean)
        expected = shrink_toward(drawn_mean, mean, control.factors[c])
        centre = control.sample_cluster_latents(c, 4000, seed=c).mean(0)
        assert torch.allclose(centre, expected, atol=0.1)


def test_zero_spread_is_the_cluster_mean_and_full_spread_resamples_the_cluster():
    method = TruncatedClusters(
        small_generator(),
        spread_ratio=0.0,
        clustering=clustered(clusters=3, layer=1, num_latents=600),
    )
    control = method.controls()
    means = control.sample_cluster_latents(1, 5)
    assert torch.allclose(means, control.cluster_latents(1).mean(0).expand(5, -1), atol=1e-6)
    full = TruncatedClusters(
        small_generator(),
        spread_ratio=1.0,
        clustering=clustered(clusters=3, layer=1, num_latents=600),
    ).controls()
    members = full.cluster_latents(2)
    drawn = full.sample_cluster_latents(2, 50)
    nearest = torch.cdist(drawn, members, compute_mode="donot_use_mm_for_euclid_dist").min(1).values
    assert nearest.max() < 1e-5  # every draw is one of the cluster's own latents


@pytest.mark.parametrize("assign_by", ["layer", "latent", "random"])
def test_the_control_steers_exactly_imles_clusters(assign_by):
    settings = dict(clusters=3, layer=1, num_latents=500, assign_by=assign_by, seed=3)
    imle = IMLEClusters(small_generator(), clustered(**settings), epochs=1)
    imle_latents, imle_labels = imle.form_clusters()
    control = TruncatedClusters(small_generator(), clustering=clustered(**settings)).controls()
    for c in range(3):
        assert torch.equal(control.cluster_latents(c), imle_latents[imle_labels == c])
    assert control.weights.sum().item() == pytest.approx(1.0)


def test_the_method_records_its_clusters_and_shrink_and_has_nothing_to_train():
    method = TruncatedClusters(
        small_generator(),
        spread_ratio=0.25,
        clustering=clustered(clusters=3, layer=1, num_latents=600),
    )
    assert not method.trains
    method.controls()
    facts = method.summary()
    assert sum(facts["cluster_sizes"]) == 600
    assert facts["shrink_factors"] == pytest.approx([0.5] * 3)
    assert list(method.controls().pictures())[-1] == "source_grid"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"spread_ratio": -0.1}, "spread_ratio must be finite and >= 0"),
        ({"spread_ratio": float("nan")}, "spread_ratio must be finite and >= 0"),
        ({"draw_from": "mean"}, "draw_from must be one of"),
        (
            {"clustering": clustered(layer=1, hierarchy_layer=1)},
            r"method.clustering.hierarchy_layer \(1\) must be shallower",
        ),
    ],
)
def test_bad_settings_fail_at_construction_naming_the_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        TruncatedClusters(small_generator(), **settings)
