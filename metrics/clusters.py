"""The cluster family (docs/METRICS.md, "Clusters"): for every `Clusters` control, purity with
its diversity guards on generated data; where the clusters live in G's latent space, the same
before the mapping and the mapping's spread; where a method can assign, agreement on real data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics.functional.clustering import adjusted_rand_score, normalized_mutual_info_score

from ganctrl.finite import finite_rows
from ganctrl.methods.common.contract import Clusters, Unconditional
from ganctrl.metrics.evaluate import Context, register_family, timed
from ganctrl.metrics.neighbours import compare
from ganctrl.metrics.pictures import heat_map


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


@dataclass
class ClusterSettings:
    per_cluster: int = 100  # generated samples per cluster for purity
    top_clusters: int | None = None  # top-C purity; None: the number of classes


def _record_purity(
    ctx: Context,
    outputs,
    weights,
    names: tuple[str, str],
    seconds: float,
    guards: dict | None = None,
) -> None:
    """Generated purity and class coverage of per-cluster samples, under the given names; the
    purity carries its guards (class coverage first) where given."""
    predicted = [ctx.predicted_classes(o) for o in outputs]
    scores = generated_purity(predicted, weights, ctx.datamodule.num_classes)
    n = sum(len(p) for p in predicted)
    pair = {"seconds_shared_with": list(names)}  # sampling and the feature pass included
    extra = (
        {} if guards is None else {"guards": {"class_coverage": scores["class_coverage"], **guards}}
    )
    ctx.record(names[0], scores["generated_purity"], n, seconds, **extra, **pair)
    ctx.record(names[1], scores["class_coverage"], n, seconds, **pair)


def _record_factor_nmi(ctx: Context, outputs, prefix: str) -> None:
    """On data with ground-truth factors: which factor did the clusters find?"""
    ids = np.repeat(np.arange(len(outputs)), [len(o.features) for o in outputs])
    for factor in ctx.datamodule.factor_names:
        factor_pred = np.concatenate([o.logits[factor].argmax(1).numpy() for o in outputs])
        value, seconds = timed(nmi, ids, factor_pred)
        ctx.record(f"{prefix}_nmi_{factor}", value, len(ids), seconds)


def _latent_clusters(ctx: Context, control: Clusters, s: ClusterSettings, weights) -> dict:
    """For clusters formed in G's latent space (IMLE and its baselines): the clusters before the
    mapping (G(z) for the clustered z), how much of their latent spread the mapping keeps, and the
    unconditional generator's recall and coverage at the same N and seed — the numbers a purity
    bought by collapse would fall short of."""
    seed, fidelity = ctx.settings.seed, ctx.settings.fidelity
    members = [control.cluster_latents(c) for c in range(control.k)]
    start = time.perf_counter()
    sources = []
    for c, latents in enumerate(members):
        pick = torch.randperm(len(latents), generator=torch.Generator().manual_seed(seed + c))
        chosen = latents[pick[: s.per_cluster].to(latents.device)]
        sources.append(ctx.run_net(control.render_latents(chosen)))
    _record_purity(
        ctx,
        sources,
        weights,
        ("source_purity", "source_class_coverage"),
        time.perf_counter() - start,
    )
    _record_factor_nmi(ctx, sources, "source")

    start = time.perf_counter()
    mapped = [control.sample_cluster_latents(c, len(m), seed + c) for c, m in enumerate(members)]
    spread = latent_spread_ratio(mapped, members, weights)
    ctx.record("latent_spread_ratio", spread, sum(map(len, members)), time.perf_counter() - start)

    start = time.perf_counter()
    n = ctx.results["recall"]["n"]
    fake = ctx.run_net(Unconditional(control.generator).sample(n, seed)).features
    reference = ctx.reference_set("test", n, (fidelity.pr_k, fidelity.dc_k))  # fidelity's pass
    scores = compare(reference, fake, fidelity.pr_k, fidelity.dc_k, kid=False)
    recall, coverage = scores["recall"], scores["coverage"]
    pair = {"seconds_shared_with": ["unconditional_recall", "unconditional_coverage"]}
    seconds = time.perf_counter() - start
    ctx.record("unconditional_recall", recall, n, seconds, k=fidelity.pr_k, **pair)
    ctx.record("unconditional_coverage", coverage, n, seconds, k=fidelity.dc_k, **pair)
    return {
        "source_purity": ctx.results["source_purity"]["value"],
        "latent_spread_ratio": spread,
        "unconditional_recall": recall,
        "unconditional_coverage": coverage,
    }


# Why a sub-population's mixture has no recall or coverage guard.
PART_OF_THE_DATA = (
    "not applicable: the clusters split one coarse cluster, so the mixture "
    "covers part of the data by design"
)


def mixture_guards(ctx: Context, control: Clusters) -> dict:
    """The fidelity family's recall and coverage of the mixture, which a purity bought by collapse
    falls short of. For clusters that split a sub-population (IMLE's hierarchy) they compare one
    part of G's distribution with the whole test set and would read as collapse: None, with the
    reason."""
    if control.subpopulation:
        return {
            "mixture_recall": None,
            "mixture_coverage": None,
            "not_applicable": {
                "mixture_recall": PART_OF_THE_DATA,
                "mixture_coverage": PART_OF_THE_DATA,
            },
        }
    return {
        "mixture_recall": ctx.results["recall"]["value"],
        "mixture_coverage": ctx.results["coverage"]["value"],
    }


def label_histogram(
    assigned: np.ndarray, labels: np.ndarray, weights: np.ndarray, class_names
) -> torch.Tensor:
    """Which classes each cluster holds: the real test images assigned to it, per class, one
    row per cluster by descending weight (π in the row's name), rows normalised to their peak."""
    k, classes = len(weights), len(class_names)
    counts = np.zeros((k, classes))
    np.add.at(counts, (assigned, labels), 1)
    order = np.argsort(-weights, kind="stable")
    rows = [f"c{c} π={weights[c]:.3f} n={int(counts[c].sum())}" for c in order]
    return heat_map(counts[order], [str(name) for name in class_names], rows, "class", "cluster")


@register_family(
    "clusters", Clusters, ClusterSettings, needs=("fidelity",), unranked=("latent_spread_ratio",)
)
def cluster_family(ctx: Context, control: Clusters, s: ClusterSettings) -> None:
    seed, dm = ctx.settings.seed, ctx.datamodule
    weights = control.weights.detach().cpu().numpy()
    start = time.perf_counter()
    outputs = [
        ctx.run_net(control.sample_cluster(c, s.per_cluster, seed + c)) for c in range(control.k)
    ]
    seconds = time.perf_counter() - start
    guards = mixture_guards(ctx, control)
    if control.has_latents:
        guards.update(_latent_clusters(ctx, control, s, weights))
    _record_purity(
        ctx, outputs, weights, ("generated_purity", "class_coverage"), seconds, guards=guards
    )
    _record_factor_nmi(ctx, outputs, "generated")

    if control.can_assign:
        images, labels = dm.images("test"), dm.labels("test").numpy()
        assigned, assign_seconds = timed(control.assign, images)
        assigned = assigned.cpu().numpy()
        n = len(labels)
        top = s.top_clusters or dm.num_classes
        value, seconds = timed(purity, assigned, labels)
        ctx.record("purity", value, n, seconds, assign_seconds=round(assign_seconds, 4))
        (value, covered), seconds = timed(top_purity, assigned, labels, weights, top)
        ctx.record("purity_top", value, n, seconds, top=top, covered=covered)
        for name, fn in (("nmi", nmi), ("ari", ari), ("cluster_accuracy", hungarian_accuracy)):
            value, seconds = timed(fn, assigned, labels)
            ctx.record(name, value, n, seconds)
        for i, factor in enumerate(dm.factor_names):  # which factor the assignment follows
            value, seconds = timed(nmi, assigned, dm.factors("test")[:, i].numpy())
            ctx.record(f"assigned_nmi_{factor}", value, n, seconds)
        ctx.pictures["cluster_labels"] = label_histogram(assigned, labels, weights, dm.class_names)
