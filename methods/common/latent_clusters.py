"""Clusters in a pretrained generator's latent space (docs/METHODS.md §1, step 1), shared by IMLE
clusters and its truncation control so that both steer the very same clusters.

N seeded latents z are grouped by k-means on flatten(G[:layer](z)) (FAISS, every sample
counted), or on z itself, or by random labels (`assign_by`); optionally inside one coarse cluster
formed at a shallower layer first (the paper's §4.3). `LatentClusters` is the control family that
samples each cluster through latents: it carries Z_c, the weights |Z_c| / N and the picture of
the clusters before any mapping.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch
from torch import nn

from ganctrl.faiss_search import kmeans
from ganctrl.methods.common.contract import Clusters, to_grid

ASSIGNERS = ("layer", "latent", "random")

# A job's independent random streams: the clustered latents, the random-label baseline's
# permutation, per cluster T_c's initial weights and its noise (methods/imle_clusters.py), and
# the prior draws that size the truncation trick's shrink (methods/truncated_clusters.py).
# Sharing one seed between two of them would correlate what should not be. New streams go last:
# a stream's seed depends on its position.
STREAMS = ("latents", "assignment", "init", "noise", "prior")


def stream_seed(seed: int, stream: str, cluster: int = 0) -> int:
    """The seed of one stream: the child (stream, cluster) spawned from the job's seed."""
    child = np.random.SeedSequence(seed, spawn_key=(STREAMS.index(stream), cluster))
    return int(child.generate_state(1)[0])


@torch.no_grad()
def layer_activations(
    generator: nn.Module, latents: torch.Tensor, layer: int, batch_size: int = 500
) -> torch.Tensor:
    """flatten(G[:layer](z)) for every latent, on the CPU as float32 (k-means' input)."""
    generator.eval()
    parts = [
        generator.features(latents[i : i + batch_size], layer).flatten(1).float().cpu()
        for i in range(0, len(latents), batch_size)
    ]
    return torch.cat(parts)


def by_size(labels: torch.Tensor, k: int) -> torch.Tensor:
    """Relabel clusters so that 0 is the largest (ties by old label): stable, readable grids."""
    sizes = torch.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-int(sizes[c]), c))
    new_label = torch.empty(k, dtype=torch.long)
    new_label[order] = torch.arange(k)
    return new_label[labels]


def split_by_cluster(latents: torch.Tensor, labels: torch.Tensor, k: int) -> list[torch.Tensor]:
    """[Z_0, …, Z_{k-1}]; every cluster needs two latents at least (it has a spread)."""
    members = [latents[labels == c] for c in range(k)]
    sizes = [len(m) for m in members]
    if min(sizes) < 2:
        raise ValueError(
            f"cluster sizes {sizes}: every cluster needs at least 2 latents; "
            "raise method.clustering.num_latents or lower method.clustering.clusters"
        )
    return members


class LatentClustering:
    """Step 1 of §1 with its settings: `form(device)` → (latents, cluster of each)."""

    def __init__(
        self,
        generator: nn.Module,
        clusters: int = 10,
        layer: int = 2,
        assign_by: Literal["layer", "latent", "random"] = "layer",
        num_latents: int = 20000,
        kmeans_iterations: int = 25,
        hierarchy_layer: int | None = None,
        hierarchy_clusters: int = 2,
        hierarchy_keep: int = 0,
        seed: int = 0,
    ):
        where = "method.clustering"  # the config node these settings live in
        if assign_by not in ASSIGNERS:
            raise ValueError(f"{where}.assign_by must be one of {ASSIGNERS}, got {assign_by!r}")
        if clusters < 1:
            raise ValueError(f"{where}.clusters must be >= 1, got {clusters}")
        if hierarchy_layer is not None:
            if assign_by != "layer":
                raise ValueError(f"{where}.hierarchy_layer needs {where}.assign_by=layer")
            if hierarchy_layer >= layer:
                raise ValueError(
                    f"{where}.hierarchy_layer ({hierarchy_layer}) must be shallower than "
                    f"{where}.layer ({layer}): §4.3 splits coarsely at an earlier layer, then "
                    "finely at a later one"
                )
        if not 0 <= hierarchy_keep < hierarchy_clusters:
            raise ValueError(
                f"{where}.hierarchy_keep must lie in [0, {hierarchy_clusters}), "
                f"got {hierarchy_keep}"
            )
        for tap in (layer, hierarchy_layer):
            if assign_by == "layer" and tap is not None:
                generator.check_layer(tap)
        self.generator = generator
        self.k, self.layer, self.assign_by = clusters, layer, assign_by
        self.num_latents, self.kmeans_iterations, self.seed = num_latents, kmeans_iterations, seed
        self.hierarchy = (hierarchy_layer, hierarchy_clusters, hierarchy_keep)
        self.facts: dict = {}

    @property
    def subpopulation(self) -> bool:
        """Whether the clusters partition one coarse cluster rather than all of G's samples."""
        return self.hierarchy[0] is not None

    def _assign(self, latents: torch.Tensor, layer: int, k: int) -> torch.Tensor:
        if self.assign_by == "random":
            rng = torch.Generator().manual_seed(stream_seed(self.seed, "assignment"))
            return torch.randperm(len(latents), generator=rng) % k
        if self.assign_by == "latent":
            points = latents.cpu()
        else:
            points = layer_activations(self.generator, latents, layer)
        labels, _ = kmeans(points, k, self.seed, self.kmeans_iterations)
        return by_size(torch.from_numpy(labels), k)

    def form(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents, cluster of each): N seeded latents, clustered as `assign_by` says. Records
        the clustering's seconds (and the coarse sizes of a hierarchy) in `facts`."""
        start = time.perf_counter()
        rng = torch.Generator().manual_seed(stream_seed(self.seed, "latents"))
        latents = self.generator.sample_latents(self.num_latents, generator=rng, device="cpu")
        latents = latents.to(device)
        coarse_layer, coarse_k, keep = self.hierarchy
        if coarse_layer is not None:  # §4.3: keep one coarse cluster, cluster it again
            coarse = self._assign(latents, coarse_layer, coarse_k)
            latents = latents[coarse.to(device) == keep]
            self.facts["coarse_sizes"] = torch.bincount(coarse, minlength=coarse_k).tolist()
        labels = self._assign(latents, self.layer, self.k).to(device)
        self.facts["clustering_seconds"] = time.perf_counter() - start
        return latents, labels


class LatentClusters(Clusters):
    """Cluster c is G(z) for latents z that `sample_cluster_latents(c, …)` draws; weights
    |Z_c| / N. `subpopulation`: the clusters split one coarse cluster (IMLE's hierarchy), so
    comparisons of the mixture with the whole data set do not apply (metrics/clusters.py)."""

    def __init__(
        self, generator: nn.Module, members: list[torch.Tensor], subpopulation: bool = False
    ):
        super().__init__(generator)
        self.members = members
        self.k = len(members)
        sizes = torch.tensor([len(m) for m in members], dtype=torch.float64)
        self.weights = sizes / sizes.sum()
        self.subpopulation = subpopulation

    def sample_cluster(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        return self.render_latents(self.sample_cluster_latents(cluster, n, seed))

    def cluster_latents(self, cluster: int) -> torch.Tensor:
        return self.members[cluster]

    def pictures(self, seed: int = 0) -> dict[str, torch.Tensor]:
        """Adds `source_grid`: G(z) for the first ten clustered z of each cluster, as formed."""
        rows = [self.render_latents(m[:10].to(self.device)) for m in self.members]
        return {**super().pictures(seed), "source_grid": to_grid(torch.cat(rows), nrow=10)}
