"""Precision/recall and density/coverage read from one pass over each distance matrix.

The four metrics need the real set's k-NN radii (k = 3 for precision/recall, 5 for density/
coverage), the fake set's k = 3 radii, and the real–fake distances. Computed per metric that is
five matrices per comparison, and the real–real one again for every comparison against the same
real set (the generated set, then the train-split floor). Here the real radii for every k come
from one pass and are reused across comparisons (`RealBalls`), and one real–fake pass yields all
four metrics, from the one exact float64 distance engine (`distance_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ganctrl.finite import finite_rows

# Distances the exact engine holds at once; bounds memory whatever N is.
BLOCK_BYTES = 64 * 2**20


def distance_blocks(
    queries: np.ndarray, database: np.ndarray
) -> Iterator[tuple[slice, torch.Tensor]]:
    """Exact Euclidean distances in float64, a block of query rows at a time: (rows, block) with
    block[i, j] = ‖queries[rows][i] − database[j]‖.

    Direct differences, not ‖q‖² + ‖x‖² − 2 qᵀx: that expansion cancels catastrophically where
    points nearly coincide or share a large offset, so an exact duplicate would sit a noise
    distance from its copy and a radius of exactly 0 would come out as noise. Each entry is
    computed the same way wherever it falls, so d(a, b) here equals d(b, a) in any block.
    """
    q, x = torch.from_numpy(queries), torch.from_numpy(database)
    rows = max(1, BLOCK_BYTES // (8 * max(1, len(x))))
    for start in range(0, len(q), rows):
        block = slice(start, start + rows)
        yield block, torch.cdist(q[block], x, compute_mode="donot_use_mm_for_euclid_dist")


def neighbour_radii(points: np.ndarray, ks: tuple[int, ...], name: str) -> dict[int, torch.Tensor]:
    """For each k: the distance from each point to its k-th nearest other point, all k from one
    pass: the (k+1)-th smallest distance with its own zero counted. Dropping column 0 instead
    would go wrong on exact duplicates, whose own index need not come first among the zeros."""
    top = max(ks)
    if not 1 <= min(ks) or top >= len(points):
        raise ValueError(f"{name}: a k-th other neighbour (k={top}) needs more than k points, "
                         f"got {len(points)}")  # fmt: skip
    nearest = torch.empty(len(points), top + 1, dtype=torch.float64)
    for rows, block in distance_blocks(points, points):
        nearest[rows] = block.topk(top + 1, dim=1, largest=False, sorted=True).values
    return {k: nearest[:, k].clone() for k in ks}


@dataclass
class RealBalls:
    """A real set's features and their k-NN radii, formed once, compared with many fake sets."""

    features: np.ndarray
    radii: dict[int, torch.Tensor]

    @classmethod
    def of(cls, real, ks: tuple[int, ...]) -> RealBalls:
        features = finite_rows(real, "real features")
        return cls(features, neighbour_radii(features, tuple(sorted(set(ks))), "real features"))


def manifold_scores(balls: RealBalls, fake, pr_k: int = 3, dc_k: int = 5) -> dict[str, float]:
    """Precision and recall (Kynkäänniemi et al., k = pr_k, ≤) and density and coverage (Naeem
    et al., k = dc_k, strict <) of `fake` against the real set, from one real–fake pass."""
    fake = finite_rows(fake, "fake features")
    real_pr, real_dc = balls.radii[pr_k], balls.radii[dc_k]
    fake_pr = neighbour_radii(fake, (pr_k,), "fake features")[pr_k]
    n_real = len(balls.features)
    fake_inside = torch.zeros(len(fake), dtype=torch.bool)
    real_inside = torch.zeros(n_real, dtype=torch.bool)
    counts = torch.zeros(len(fake), dtype=torch.int64)
    nearest_fake = torch.full((n_real,), torch.inf, dtype=torch.float64)
    for rows, block in distance_blocks(fake, balls.features):
        fake_inside[rows] = (block <= real_pr).any(dim=1)
        real_inside |= (block <= fake_pr[rows, None]).any(dim=0)
        counts[rows] = (block < real_dc).sum(dim=1)
        nearest_fake = torch.minimum(nearest_fake, block.min(dim=0).values)
    return {
        "precision": fake_inside.double().mean().item(),
        "recall": real_inside.double().mean().item(),
        "density": counts.double().mean().item() / dc_k,
        "coverage": (nearest_fake < real_dc).double().mean().item(),
    }
