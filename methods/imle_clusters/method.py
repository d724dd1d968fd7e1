"""IMLE clusters (Georgopoulos et al.; docs/METHODS.md §1): steer a pretrained, frozen,
unconditional generator through the clusters that its own intermediate layer forms.

1. N latents z; y = flatten(G[:layer](z)); k-means on y with FAISS, every sample counted → Z_c
   (methods/latent_clusters.py, shared with the truncation control).
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
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.faiss_search import knn
from ganctrl.methods.common.batchnorm import recalibrate_batchnorm
from ganctrl.methods.common.contract import ControlMethod, seeded
from ganctrl.methods.common.latent_clusters import (
    LatentClustering,
    LatentClusters,
    split_by_cluster,
    stream_seed,
)
from ganctrl.seeding import cpu_seeded

log = logging.getLogger(__name__)


def mapping_network(dim: int, hidden: int) -> nn.Sequential:
    """T_c: three linear layers without bias, BatchNorm + ReLU between them (the paper's §4)."""
    return nn.Sequential(
        nn.Linear(dim, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, dim, bias=False),
    )


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


class MappedClusters(LatentClusters):
    """Cluster c is G(T_c(e)), e ~ N(0, I); weights |Z_c| / N."""

    def __init__(
        self,
        generator: nn.Module,
        mappings: nn.ModuleList,
        members: list[torch.Tensor],
        subpopulation: bool = False,
    ):
        super().__init__(generator, members, subpopulation)
        self.mappings = mappings.eval()

    @torch.no_grad()
    def sample_cluster_latents(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        dim = self.members[cluster].shape[1]
        noise = torch.randn(n, dim, generator=seeded(seed, self.device), device=self.device)
        return self.mappings[cluster](noise)


class IMLEClusters(ControlMethod):
    """Method 1 and, through `assign_by`, its two baselines; settings in docs/METHODS.md §1."""

    needs_generator = True
    trains_on_images = False
    supports_ddp = False

    def __init__(
        self,
        generator: nn.Module,
        clustering: Callable[[nn.Module], LatentClustering] = LatentClustering,
        epochs: int = 400,
        rematch_every: int = 5,
        pool_factor: int = 10,
        jitter: float = 0.01,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        weight_decay: float = 1e-5,
        batch_size: int = 64,
        hidden: int | None = None,
        seed: int = 0,
    ):
        if epochs < 1 or rematch_every < 1 or pool_factor < 1:
            raise ValueError(
                "method.epochs, rematch_every and pool_factor must be >= 1, got "
                f"{epochs}, {rematch_every}, {pool_factor}"
            )
        clustering = clustering(generator)
        clusters = clustering.k
        super().__init__(steps=clusters * epochs)
        self.automatic_optimization = False
        self.generator = generator.eval().requires_grad_(False)
        self.clustering, self.k, self.seed = clustering, clusters, seed
        self.epochs, self.rematch_every, self.pool_factor = epochs, rematch_every, pool_factor
        self.jitter, self.lr, self.betas, self.weight_decay = jitter, lr, tuple(betas), weight_decay
        self.batch_size = batch_size
        dim = generator.z_dim
        self.mappings = nn.ModuleList()
        for c in range(clusters):
            with cpu_seeded(stream_seed(seed, "init", c)):
                self.mappings.append(mapping_network(dim, hidden or dim))
        self.members: list[torch.Tensor] = []
        self.facts: dict = {}

    # --- step 1: the clusters -------------------------------------------------------------

    def form_clusters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents, cluster of each), as methods/latent_clusters.py forms them."""
        return self.clustering.form(self.device)

    def on_fit_start(self) -> None:
        latents, labels = self.form_clusters()
        self.members = split_by_cluster(latents, labels, self.k)
        sizes = [len(m) for m in self.members]
        self.facts.update(self.clustering.facts, cluster_sizes=sizes)
        log.info("IMLE clusters (%s): sizes %s", self.clustering.assign_by, sizes)
        self._streams = [
            torch.Generator().manual_seed(stream_seed(self.seed, "noise", c)) for c in range(self.k)
        ]
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
        return MappedClusters(
            self.generator, self.mappings, self.members, self.clustering.subpopulation
        )
