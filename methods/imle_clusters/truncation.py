"""The truncation control of IMLE clusters (docs/METHODS.md §1, "The truncation control"): IMLE's
clusters, no IMLE. Cluster c is G(μ_c + a_c·(z − μ_c)): latents shrunk toward the cluster's mean
μ_c, with a_c chosen so that the latent spread ratio tr Cov(samples) / tr Cov(Z_c) equals
`spread_ratio`.

`draw_from` says where z comes from:
- "cluster": z drawn (with replacement) from Z_c itself, so a_c² = spread_ratio. The cluster as
  formed, pulled toward its core; at spread_ratio 1 it samples the clusters before any mapping.
- "prior": z from G's prior: the plain truncation trick, aimed at each cluster's mean instead of
  the prior's; a_c² = spread_ratio · tr Cov(Z_c) / tr Cov(prior).

IMLE's mappings keep about a fifth of each cluster's latent spread (docs/results), because eq. 3
with Γ = 10·|Z_c| in 100-d is minimised by a shrunk copy of the cluster, not by the cluster. At the
same spread ratio this control says how much of IMLE's purity shrinkage alone buys.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from ganctrl.methods.common.contract import ControlMethod, seeded
from ganctrl.methods.common.latent_clusters import (
    LatentClustering,
    LatentClusters,
    split_by_cluster,
    stream_seed,
)

log = logging.getLogger(__name__)

DRAWS = ("cluster", "prior")


def shrink_toward(latents: torch.Tensor, centre: torch.Tensor, factor: float) -> torch.Tensor:
    """centre + factor · (z − centre): the truncation trick with its own centre."""
    return centre + factor * (latents - centre)


def total_variance(latents: torch.Tensor) -> float:
    """tr Cov of a set of latents (rows)."""
    return float(latents.double().var(dim=0).sum())


class ShrunkClusters(LatentClusters):
    """Cluster c is G(μ_c + a_c·(z − μ_c)), z drawn as `draw_from` says; weights |Z_c| / N."""

    def __init__(
        self,
        generator: nn.Module,
        members: list[torch.Tensor],
        spread_ratio: float,
        draw_from: str,
        prior_variance: float | None = None,
        subpopulation: bool = False,
    ):
        super().__init__(generator, members, subpopulation)
        self.draw_from = draw_from
        self.means = [m.mean(dim=0) for m in members]
        if draw_from == "cluster":  # the draws are Z_c itself: a² is the spread ratio
            self.factors = [math.sqrt(spread_ratio)] * len(members)
        else:
            self.factors = [
                math.sqrt(spread_ratio * total_variance(m) / prior_variance) for m in members
            ]

    @torch.no_grad()
    def sample_cluster_latents(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        rng = seeded(seed, self.device)
        if self.draw_from == "cluster":
            members = self.members[cluster]
            rows = torch.randint(len(members), (n,), generator=rng, device=self.device)
            latents = members[rows]
        else:
            latents = self.generator.sample_latents(n, generator=rng)
        return shrink_toward(latents, self.means[cluster], self.factors[cluster])


class TruncatedClusters(ControlMethod):
    """The control as a method plugin: nothing to train; its clusters are formed on first use,
    exactly as IMLEClusters forms them for the same settings and seed."""

    needs_generator = True
    trains_on_images = False

    def __init__(
        self,
        generator: nn.Module,
        spread_ratio: float = 0.2,
        draw_from: Literal["cluster", "prior"] = "cluster",
        clustering: Callable[[nn.Module], LatentClustering] = LatentClustering,
    ):
        if not (math.isfinite(spread_ratio) and spread_ratio >= 0):
            raise ValueError(f"method.spread_ratio must be finite and >= 0, got {spread_ratio}")
        if draw_from not in DRAWS:
            raise ValueError(f"method.draw_from must be one of {DRAWS}, got {draw_from!r}")
        clustering = clustering(generator)
        super().__init__(steps=0)
        self.generator = generator.eval().requires_grad_(False)
        self.clustering, self.spread_ratio, self.draw_from = clustering, spread_ratio, draw_from
        self.facts: dict = {}
        self._control: ShrunkClusters | None = None

    def prior_variance(self) -> float:
        """tr Cov of G's prior, from as many seeded draws as the clusters were formed from."""
        rng = torch.Generator().manual_seed(stream_seed(self.clustering.seed, "prior"))
        n = self.clustering.num_latents
        return total_variance(self.generator.sample_latents(n, generator=rng, device="cpu"))

    def summary(self) -> dict:
        return {**super().summary(), **self.facts}

    def controls(self) -> ShrunkClusters:
        if self._control is None:
            latents, labels = self.clustering.form(self.device)
            members = split_by_cluster(latents, labels, self.clustering.k)
            prior = self.prior_variance() if self.draw_from == "prior" else None
            self._control = ShrunkClusters(
                self.generator,
                members,
                self.spread_ratio,
                self.draw_from,
                prior,
                self.clustering.subpopulation,
            )
            sizes = [len(m) for m in members]
            self.facts.update(
                self.clustering.facts, cluster_sizes=sizes, shrink_factors=self._control.factors
            )
            log.info(
                "truncated clusters (%s, from the %s, spread %.3g): sizes %s",
                self.clustering.assign_by,
                self.draw_from,
                self.spread_ratio,
                sizes,
            )
        return self._control
