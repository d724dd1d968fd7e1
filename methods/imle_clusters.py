"""IMLE clusters (Georgopoulos et al.; docs/METHODS.md §1): steer a pretrained, frozen,
unconditional generator through the clusters that its own intermediate layer forms.

1. N latents z; y = flatten(G[:layer](z)); k-means on y with FAISS, every sample counted → Z_c.
2. Per cluster an independent mapping T_c: e ~ N(0, I) ↦ z, trained by IMLE. Every
   `rematch_every` epochs each z_i ∈ Z_c is matched to the nearest of Γ = pool_factor·|Z_c|
   generated latents T_c(e_γ) (the cluster's latents query, the generated ones are the database),
   the matched noises get a small jitter, and minibatch Adam minimises ‖z_i − T_c(e_i)‖².
3. The control samples cluster c as G(T_c(e)).

The baselines share every step but the first (`assign_by`): k-means on z itself, or random
labels. One iteration of the Lightning loop is one epoch of one cluster, cluster after cluster as
in the paper's Algorithm 1. Each cluster draws from its own seeded random stream, so T_c depends
on Z_c, c and the seed alone — never on the other clusters.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.faiss_search import kmeans, knn
from ganctrl.methods.base import Clusters, ControlMethod, seeded, to_grid
from ganctrl.methods.batchnorm import recalibrate_batchnorm

log = logging.getLogger(__name__)

ASSIGNERS = ("layer", "latent", "random")


def mapping_network(dim: int, hidden: int) -> nn.Sequential:
    """T_c: three linear layers without bias, BatchNorm + ReLU between them (the paper's §4)."""
    return nn.Sequential(
        nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Linear(hidden, dim, bias=False),
    )  # fmt: skip


def imle_loss(targets: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Eq. 3 over a minibatch: the mean of ‖z_i − T(e_i)‖²."""
    return (targets - mapped).pow(2).sum(dim=1).mean()


def nearest_generated(targets: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """Eq. 2: for every target z_i, the index of its nearest generated latent.

    The direction is IMLE's point: every real latent must be close to some sample (coverage);
    a generated latent may be nobody's nearest.
    """
    _, indices = knn(targets, generated, 1)
    return torch.from_numpy(indices[:, 0]).to(targets.device)


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


# The job's independent random streams: the clustered latents, the random-label baseline's
# permutation, and per cluster T_c's initial weights and its noise (matching pools, jitter,
# minibatch order). Sharing one seed between two of them would correlate what should not be.
STREAMS = ("latents", "assignment", "init", "noise")


def stream_seed(seed: int, stream: str, cluster: int = 0) -> int:
    """The seed of one stream: the child (stream, cluster) spawned from the job's seed."""
    child = np.random.SeedSequence(seed, spawn_key=(STREAMS.index(stream), cluster))
    return int(child.generate_state(1)[0])


class MappedClusters(Clusters):
    """Cluster c is G(T_c(e)), e ~ N(0, I); weights |Z_c| / N."""

    def __init__(self, generator: nn.Module, mappings: nn.ModuleList, members: list[torch.Tensor]):
        super().__init__(generator)
        self.mappings = mappings.eval()
        self.members = members
        self.k = len(mappings)
        sizes = torch.tensor([len(m) for m in members], dtype=torch.float64)
        self.weights = sizes / sizes.sum()

    @torch.no_grad()
    def sample_cluster_latents(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        dim = self.members[cluster].shape[1]
        noise = torch.randn(n, dim, generator=seeded(seed, self.device), device=self.device)
        return self.mappings[cluster](noise)

    def sample_cluster(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        return self.render_latents(self.sample_cluster_latents(cluster, n, seed))

    def cluster_latents(self, cluster: int) -> torch.Tensor:
        return self.members[cluster]

    def pictures(self, seed: int = 0) -> dict[str, torch.Tensor]:
        """Adds `source_grid`: G(z) for the first ten clustered z of each cluster, before IMLE."""
        rows = [self.render_latents(m[:10].to(self.device)) for m in self.members]
        return {**super().pictures(seed), "source_grid": to_grid(torch.cat(rows), nrow=10)}


class IMLEClusters(ControlMethod):
    """Method 1 and, through `assign_by`, its two baselines; settings in docs/METHODS.md §1."""

    needs_generator = True
    trains_on_images = False
    supports_ddp = False

    def __init__(
        self,
        generator: nn.Module,
        clusters: int = 10,
        layer: int = 2,
        assign_by: Literal["layer", "latent", "random"] = "layer",
        num_latents: int = 20000,
        epochs: int = 400,
        rematch_every: int = 5,
        pool_factor: int = 10,
        jitter: float = 0.01,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        weight_decay: float = 1e-5,
        batch_size: int = 64,
        hidden: int | None = None,
        kmeans_iterations: int = 25,
        hierarchy_layer: int | None = None,
        hierarchy_clusters: int = 2,
        hierarchy_keep: int = 0,
        seed: int = 0,
    ):
        if assign_by not in ASSIGNERS:
            raise ValueError(f"method.assign_by must be one of {ASSIGNERS}, got {assign_by!r}")
        if clusters < 1 or epochs < 1 or rematch_every < 1 or pool_factor < 1:
            raise ValueError(
                "method.clusters, epochs, rematch_every and pool_factor must be >= 1, got "
                f"{clusters}, {epochs}, {rematch_every}, {pool_factor}"
            )
        if hierarchy_layer is not None and assign_by != "layer":
            raise ValueError("method.hierarchy_layer needs method.assign_by=layer")
        if not 0 <= hierarchy_keep < hierarchy_clusters:
            raise ValueError(
                f"method.hierarchy_keep must lie in [0, {hierarchy_clusters}), got {hierarchy_keep}"
            )
        super().__init__(steps=clusters * epochs)
        self.automatic_optimization = False
        self.generator = generator.eval().requires_grad_(False)
        for tap in (layer, hierarchy_layer):
            if assign_by == "layer" and tap is not None:
                generator.check_layer(tap)
        self.k, self.layer, self.assign_by = clusters, layer, assign_by
        self.num_latents = num_latents
        self.epochs, self.rematch_every, self.pool_factor = epochs, rematch_every, pool_factor
        self.jitter, self.lr, self.betas, self.weight_decay = jitter, lr, tuple(betas), weight_decay
        self.batch_size, self.kmeans_iterations, self.seed = batch_size, kmeans_iterations, seed
        self.hierarchy = (hierarchy_layer, hierarchy_clusters, hierarchy_keep)
        dim = generator.z_dim
        self.mappings = nn.ModuleList()
        for c in range(clusters):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(stream_seed(seed, "init", c))
                self.mappings.append(mapping_network(dim, hidden or dim))
        self.members: list[torch.Tensor] = []
        self.facts: dict = {}

    # --- step 1: the clusters -------------------------------------------------------------

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

    def form_clusters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents, cluster of each): N seeded latents, clustered as `assign_by` says."""
        rng = torch.Generator().manual_seed(stream_seed(self.seed, "latents"))
        latents = self.generator.sample_latents(self.num_latents, generator=rng, device="cpu")
        latents = latents.to(self.device)
        coarse_layer, coarse_k, keep = self.hierarchy
        if coarse_layer is not None:  # §4.3: keep one coarse cluster, cluster it again
            coarse = self._assign(latents, coarse_layer, coarse_k)
            latents = latents[coarse.to(self.device) == keep]
            self.facts["coarse_sizes"] = torch.bincount(coarse, minlength=coarse_k).tolist()
        return latents, self._assign(latents, self.layer, self.k).to(self.device)

    def on_fit_start(self) -> None:
        start = time.perf_counter()
        latents, labels = self.form_clusters()
        self.members = [latents[labels == c] for c in range(self.k)]
        sizes = [len(m) for m in self.members]
        if min(sizes) < 2:
            raise ValueError(
                f"cluster sizes {sizes}: IMLE needs at least 2 latents per cluster; "
                "raise method.num_latents or lower method.clusters"
            )
        self.facts.update(cluster_sizes=sizes, clustering_seconds=time.perf_counter() - start)
        log.info("IMLE clusters (%s): sizes %s", self.assign_by, sizes)
        self._streams = [torch.Generator().manual_seed(stream_seed(self.seed, "noise", c)) for c
                         in range(self.k)]  # fmt: skip
        self._noises: list[torch.Tensor | None] = [None] * self.k
        self._imle_start = time.perf_counter()

    # --- step 2: IMLE, one cluster-epoch per iteration -------------------------------------

    def train_dataloader(self) -> DataLoader:
        schedule = [(c, epoch) for c in range(self.k) for epoch in range(self.epochs)]
        return DataLoader(schedule, batch_size=None, shuffle=False)

    def configure_optimizers(self):
        return [
            torch.optim.Adam(
                m.parameters(), lr=self.lr, betas=self.betas, weight_decay=self.weight_decay
            )
            for m in self.mappings
        ]

    def _randn(self, cluster: int, n: int) -> torch.Tensor:
        dim = self.generator.z_dim
        return torch.randn(n, dim, generator=self._streams[cluster]).to(self.device)

    @torch.no_grad()
    def rematch(self, cluster: int) -> torch.Tensor:
        """A matched, jittered noise for every latent of the cluster (eq. 2).

        The pool is mapped in eval mode with statistics recalibrated on the pool itself: what
        gets matched is what the control will sample.
        """
        targets = self.members[cluster]
        pool = self._randn(cluster, self.pool_factor * len(targets))
        mapping = recalibrate_batchnorm(self.mappings[cluster], [pool])
        nearest = nearest_generated(targets, mapping(pool))
        return pool[nearest] + self.jitter * self._randn(cluster, len(targets))

    def training_step(self, batch, batch_idx: int) -> None:
        cluster, epoch = int(batch[0]), int(batch[1])
        optimizers = self.optimizers()
        optimizer = optimizers[cluster] if isinstance(optimizers, list) else optimizers
        if epoch % self.rematch_every == 0:
            self._noises[cluster] = self.rematch(cluster)
        targets, noises = self.members[cluster], self._noises[cluster]
        mapping = self.mappings[cluster].train()
        order = torch.randperm(len(targets), generator=self._streams[cluster]).to(self.device)
        batches = order.split(self.batch_size)
        if len(batches) > 1 and len(batches[-1]) < 2:  # BatchNorm cannot train on one sample
            batches = batches[:-1]
        total = torch.zeros((), device=self.device)
        for rows in batches:
            loss = imle_loss(targets[rows], mapping(noises[rows]))
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            optimizer.step()
            total += loss.detach() * len(rows)
        epoch_loss = total / sum(len(rows) for rows in batches)
        if not torch.isfinite(epoch_loss):
            raise FloatingPointError(f"IMLE loss of cluster {cluster} became non-finite; lower lr")
        self.log_dict({"loss/imle": epoch_loss, "cluster": float(cluster)}, prog_bar=True)
        if epoch in (0, self.epochs - 1):
            key = "first_loss" if epoch == 0 else "final_loss"
            self.facts.setdefault(key, []).append(float(epoch_loss))

    def on_fit_end(self) -> None:
        for cluster, mapping in enumerate(self.mappings):  # the statistics the control samples with
            pool = self._randn(cluster, self.pool_factor * self.batch_size)
            recalibrate_batchnorm(mapping, [pool])
        self.facts["imle_seconds"] = time.perf_counter() - self._imle_start

    # --- step 3: the control ----------------------------------------------------------------

    def summary(self) -> dict:
        return {**super().summary(), **self.facts}

    def controls(self) -> MappedClusters:
        if not self.members:
            raise RuntimeError("IMLEClusters has not been fitted: there are no clusters yet")
        return MappedClusters(self.generator, self.mappings, self.members)
