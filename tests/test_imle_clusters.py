"""IMLE clusters (docs/METHODS.md §1) pinned on hand-made latents: matching direction, loss,
k-means, per-cluster independence, and the fit on a small generator."""

import functools

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ganctrl.benchmarks.job.trainer import build_trainer
from ganctrl.faiss_search import kmeans
from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.latent_clusters import (
    STREAMS,
    LatentClustering,
    by_size,
    stream_seed,
)
from ganctrl.methods.imle_clusters.method import (
    IMLEClusters,
    imle_loss,
    mapping_network,
    nearest_generated,
)
from ganctrl.metrics.clusters import latent_spread_ratio, nmi

CPU = OmegaConf.create({"_target_": "pytorch_lightning.Trainer", "accelerator": "cpu"})


def test_imle_loss_is_the_batch_mean_of_squared_distances():
    targets = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    mapped = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert imle_loss(targets, mapped).item() == pytest.approx((25.0 + 0.0) / 2)


def test_matching_queries_the_real_latents_against_the_generated_ones():
    targets = torch.tensor([[0.1], [0.2], [9.0]])
    generated = torch.tensor([[0.0], [10.0], [50.0]])  # 50 is nobody's nearest: no matter
    assert nearest_generated(targets, generated).tolist() == [0, 0, 1]


def test_matching_agrees_with_brute_force_search():
    g = torch.Generator().manual_seed(0)
    targets, generated = torch.randn(200, 16, generator=g), torch.randn(2000, 16, generator=g)
    brute = torch.cdist(targets, generated).argmin(dim=1)
    assert torch.equal(nearest_generated(targets, generated), brute)


def test_a_mapping_that_already_covers_the_cluster_has_zero_loss():
    torch.manual_seed(0)
    mapping = mapping_network(8, 16).eval()
    own = torch.randn(50, 8)
    with torch.no_grad():
        targets = mapping(own)  # every target is exactly T(e) for some e in the pool
        pool = torch.cat([torch.randn(500, 8), own])
        matched = pool[nearest_generated(targets, mapping(pool))]
        assert imle_loss(targets, mapping(matched)).item() < 1e-8


def test_mapping_is_three_bias_free_linears_with_batchnorm_and_relu_between():
    layers = list(mapping_network(8, 16))
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    assert [type(m).__name__ for m in layers] == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Linear",
    ]
    assert all(m.bias is None for m in linears)
    assert (linears[0].in_features, linears[-1].out_features) == (8, 8)


def blobs(n_per: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[10.0, 0, 0, 0], [0, 10.0, 0, 0], [0, 0, 10.0, 0]])
    truth = np.repeat(np.arange(3), n_per)
    return centres[truth] + torch.randn(3 * n_per, 4, generator=g), truth


def test_kmeans_recovers_separable_clusters_using_every_point():
    points, truth = blobs(1000)  # 3 000 points > FAISS's default sample of 256 per centroid
    labels, centroids = kmeans(points, 3, seed=0)
    assert nmi(labels, truth) == pytest.approx(1.0)
    # Every point shaped the centroids: each is exactly the mean of its cluster.
    means = np.stack([points.numpy()[labels == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(centroids, means, atol=1e-4)


def test_by_size_makes_cluster_zero_the_largest():
    assert by_size(torch.tensor([2, 2, 2, 0, 1, 1]), 3).tolist() == [0, 0, 0, 2, 1, 1]


def clustered(**settings) -> functools.partial:
    """The `clustering` node as Hydra instantiates it (`_partial_`): the method adds G."""
    return functools.partial(LatentClustering, **settings)


def tiny_generator(seed: int = 0) -> DCGANGenerator:
    torch.manual_seed(seed)
    return DCGANGenerator(channels=1, image_size=8, z_dim=6, width=4).eval()


def fit(method: IMLEClusters) -> IMLEClusters:
    build_trainer(CPU, "imle test").fit(method)
    return method


def test_each_mapping_depends_only_on_its_own_cluster(monkeypatch):
    """Cluster 1 is trained after cluster 0: changing cluster 0's latents (even their number)
    must not change T_1 — no shared random stream, optimizer or statistics."""
    g = torch.Generator().manual_seed(1)
    cluster_1 = torch.randn(40, 6, generator=g) + 3.0

    def trained(cluster_0_size: int) -> IMLEClusters:
        cluster_0 = torch.randn(cluster_0_size, 6, generator=g)
        latents = torch.cat([cluster_0, cluster_1])
        labels = torch.tensor([0] * cluster_0_size + [1] * 40)
        method = IMLEClusters(tiny_generator(), clustered(clusters=2), epochs=4, rematch_every=2)
        monkeypatch.setattr(method, "form_clusters", lambda: (latents, labels))
        return fit(method)

    a, b = trained(30), trained(70)
    for pa, pb in zip(
        a.mappings[1].state_dict().values(), b.mappings[1].state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.mappings[0][0].weight, b.mappings[0][0].weight)


def test_imle_learns_to_cover_a_cluster(monkeypatch):
    """A cluster of latents off the origin: IMLE brings T_c's samples onto it — every target
    gets a close sample — without collapsing them onto its centre."""
    g = torch.Generator().manual_seed(0)
    targets = torch.randn(300, 6, generator=g) * 0.5 + 1.0
    method = IMLEClusters(tiny_generator(), clustered(clusters=1), epochs=60, lr=1e-2)
    monkeypatch.setattr(method, "form_clusters", lambda: (targets, torch.zeros(300).long()))
    untrained = method.mappings[0].eval()(torch.randn(300, 6)).detach()
    fit(method)
    control = method.controls()
    mapped = control.sample_cluster_latents(0, 300, seed=1)
    first, last = method.facts["first_loss"][0], method.facts["final_loss"][0]
    assert last < 0.2 * first
    assert (mapped.mean(0) - targets.mean(0)).norm() < 0.3
    nearest_before = torch.cdist(targets, untrained).min(dim=1).values.pow(2).mean()
    nearest_after = torch.cdist(targets, mapped).min(dim=1).values.pow(2).mean()
    assert nearest_after < 0.2 * nearest_before
    assert 0.5 < latent_spread_ratio([mapped], [targets], [1.0]) < 2.0
    assert control.sample_cluster(0, 5).shape == (5, 1, 8, 8)


@pytest.mark.parametrize(
    "assign_by, clustered_width", [("layer", 4 * 4 * 4), ("latent", 6), ("random", None)]
)
def test_clusters_partition_the_latents_and_weigh_them_by_size(
    assign_by, clustered_width, monkeypatch
):
    widths = []

    def recording_kmeans(points, k, seed, iterations=25):
        widths.append(points.shape[1])
        return kmeans(points, k, seed, iterations)

    monkeypatch.setattr("ganctrl.methods.common.latent_clusters.kmeans", recording_kmeans)
    method = fit(
        IMLEClusters(
            tiny_generator(),
            clustered(clusters=3, layer=1, num_latents=300, assign_by=assign_by),
            epochs=1,
        )
    )
    assert widths == ([clustered_width] if clustered_width else [])  # G[:1](z) is (4, 4, 4)
    sizes = method.facts["cluster_sizes"]
    assert sum(sizes) == 300 and sizes == sorted(sizes, reverse=True)
    control = method.controls()
    assert control.weights.tolist() == pytest.approx([s / 300 for s in sizes])
    assert sum(len(control.cluster_latents(c)) for c in range(3)) == 300
    if assign_by == "random":
        assert max(sizes) - min(sizes) <= 1
    pictures = control.pictures()
    assert list(pictures) == ["grid", "cluster_0", "cluster_1", "cluster_2", "source_grid"]


def test_hierarchy_reclusters_the_largest_coarse_cluster():
    method = fit(
        IMLEClusters(
            tiny_generator(),
            clustered(
                clusters=2, layer=2, num_latents=400, hierarchy_layer=1, hierarchy_clusters=3
            ),
            epochs=1,
        )
    )
    coarse = method.facts["coarse_sizes"]
    assert sum(coarse) == 400 and sum(method.facts["cluster_sizes"]) == max(coarse)
    assert method.controls().subpopulation  # the metrics drop whole-data guards for it
    assert (
        not fit(IMLEClusters(tiny_generator(), clustered(clusters=2, num_latents=400), epochs=1))
        .controls()
        .subpopulation
    )


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"assign_by": "pixels"}, "method.clustering.assign_by"),
        ({"layer": 9}, "layer must lie in"),
        ({"assign_by": "latent", "hierarchy_layer": 1}, "method.clustering.hierarchy_layer"),
        ({"hierarchy_layer": 1, "hierarchy_keep": 2}, "method.clustering.hierarchy_keep"),
        ({"layer": 2, "hierarchy_layer": 2}, r"hierarchy_layer \(2\) must be shallower"),
        ({"layer": 2, "hierarchy_layer": 3}, r"hierarchy_layer \(3\) must be shallower"),
    ],
)
def test_bad_settings_fail_at_construction_naming_the_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        IMLEClusters(tiny_generator(), clustered(**settings))
    with pytest.raises(ValueError, match="method.epochs, rematch_every and pool_factor must be"):
        IMLEClusters(tiny_generator(), epochs=0)


def test_too_few_latents_per_cluster_is_a_clear_error():
    with pytest.raises(ValueError, match="raise method.clustering.num_latents"):
        fit(IMLEClusters(tiny_generator(), clustered(clusters=5, num_latents=6), epochs=1))


@pytest.mark.parametrize("dim, sampler_wins", [(2, True), (100, False)])
def test_imle_objective_prefers_the_cluster_mean_in_high_dimensions(dim, sampler_wins):
    """Why IMLE's samples shrink toward each cluster's core (docs/results): with Γ = 10·|Z_c|,
    a perfect sampler of a 100-d Gaussian cluster scores a worse eq. 3 loss than the constant
    cluster mean, because the nearest of 10·|Z_c| fresh points is farther than the mean is."""
    g = torch.Generator().manual_seed(0)
    targets = torch.randn(1000, dim, generator=g)
    perfect = torch.randn(10 * 1000, dim, generator=g)
    sampler_loss = imle_loss(targets, perfect[nearest_generated(targets, perfect)])
    mean_loss = imle_loss(targets, targets.mean(0).expand_as(targets))
    assert (sampler_loss < mean_loss) == sampler_wins


def test_imle_objective_is_minimised_by_a_shrunk_copy_of_the_cluster():
    """Not the mean either: in 100-d the eq. 3 loss of a sampler a·N(0, I) of an N(0, I) cluster
    falls from 100 at a = 0 to its minimum near a = 0.35–0.4 (a variance ratio of 0.12–0.16,
    loss 86.5 against 118 for the perfect sampler). IMLE's mappings settle near such a copy, at
    a spread ratio of 0.2 (docs/results); the truncation control samples exactly such copies."""
    g = torch.Generator().manual_seed(0)
    targets = torch.randn(1000, 100, generator=g)
    pool = torch.randn(10 * 1000, 100, generator=g)

    def loss(a: float) -> float:
        shrunk = a * pool
        return imle_loss(targets, shrunk[nearest_generated(targets, shrunk)]).item()

    shrinks = [round(0.05 * i, 2) for i in range(21)]
    losses = [loss(a) for a in shrinks]
    best = shrinks[int(np.argmin(losses))]
    assert 0.3 <= best <= 0.45
    assert loss(0.4) < loss(0.0) and loss(0.4) < loss(1.0)


def test_random_streams_are_separate_children_of_the_job_seed():
    # The latents, the random labels, each T_c's initial weights and its noise: no two share one.
    seeds = [stream_seed(7, stream, c) for stream in STREAMS for c in range(3)]
    assert len(set(seeds)) == len(seeds)
    # Each is numpy's own spawned child (stream, cluster) of SeedSequence(job seed).
    child = np.random.SeedSequence(7).spawn(STREAMS.index("noise") + 1)[-1].spawn(2)[1]
    assert stream_seed(7, "noise", 1) == int(child.generate_state(1)[0])
