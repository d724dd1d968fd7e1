"""Cluster metrics (docs/METRICS.md, "Clusters"): real-data agreement where a method can assign,
and purity with its diversity guards on generated data for every `Clusters` control."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics.functional.clustering import adjusted_rand_score, normalized_mutual_info_score

from ganctrl.finite import finite_rows


def contingency(clusters, labels) -> np.ndarray:
    """counts[c, y]: how many items of cluster c carry label y."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    _, c = np.unique(clusters, return_inverse=True)
    _, y = np.unique(labels, return_inverse=True)
    counts = np.zeros((c.max() + 1, y.max() + 1), dtype=np.int64)
    np.add.at(counts, (c, y), 1)
    return counts


def purity(clusters, labels) -> float:
    """Share of items whose label is their cluster's majority label."""
    counts = contingency(clusters, labels)
    return float(counts.max(axis=1).sum() / counts.sum())


def top_purity(clusters, labels, weights, top: int) -> tuple[float, float]:
    """Purity over the `top` clusters by weight, counting only their items; and the share of
    items those clusters hold (the MIC-GAN paper's form of purity)."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    keep = np.argsort(-np.asarray(weights), kind="stable")[:top]
    inside = np.isin(clusters, keep)
    if not inside.any():
        return float("nan"), 0.0
    return purity(clusters[inside], labels[inside]), float(inside.mean())


def hungarian_accuracy(clusters, labels) -> float:
    """Accuracy under the best one-to-one map of clusters to labels."""
    counts = contingency(clusters, labels)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / counts.sum())


def nmi(clusters, labels) -> float:
    """Normalised mutual information, arithmetic normalisation (torchmetrics = scikit-learn)."""
    return float(normalized_mutual_info_score(torch.as_tensor(clusters), torch.as_tensor(labels)))


def ari(clusters, labels) -> float:
    return float(adjusted_rand_score(torch.as_tensor(clusters), torch.as_tensor(labels)))


def generated_purity(predicted: list[np.ndarray], weights, num_classes: int) -> dict[str, float]:
    """From the evaluation net's class predictions for each cluster's samples: the weighted mean
    of per-cluster majority fractions, and class coverage = distinct majority classes / C.
    A cluster of positive weight with no samples is an error: it has no majority to weigh."""
    weights = finite_rows(weights, "cluster weights")
    if len(predicted) != len(weights):
        raise ValueError(f"{len(predicted)} clusters of predictions for {len(weights)} weights")
    used = weights > 0
    majority_share, majority_class = [], []
    for c, classes in enumerate(predicted):
        counts = np.bincount(np.asarray(classes, dtype=np.int64), minlength=num_classes)
        if counts.sum() == 0:
            if used[c]:
                raise ValueError(f"cluster {c} has weight {weights[c]:g} but no samples")
            majority_share.append(np.nan)  # weight 0: masked out below
            majority_class.append(-1)
            continue
        majority_share.append(counts.max() / counts.sum())
        majority_class.append(counts.argmax())
    return {
        "generated_purity": float(
            np.average(np.array(majority_share)[used], weights=weights[used])
        ),
        "class_coverage": len(set(np.array(majority_class)[used].tolist())) / num_classes,
    }


def latent_spread_ratio(mapped: list[torch.Tensor], sources: list[torch.Tensor], weights) -> float:
    """Σ_c w_c · tr Cov(T_c(e)) / tr Cov(Z_c): how much of each cluster's latent spread the
    mapping reproduces (1: all of it; → 0: collapsed onto the cluster's core)."""
    weights = finite_rows(weights, "cluster weights")
    ratios = []
    for c, (m, z) in enumerate(zip(mapped, sources, strict=True)):
        m = torch.from_numpy(finite_rows(m, f"mapped latents of cluster {c}"))
        z = torch.from_numpy(finite_rows(z, f"source latents of cluster {c}"))
        ratios.append(float(m.var(dim=0).sum() / z.var(dim=0).sum()))
    return float(np.average(ratios, weights=weights))
