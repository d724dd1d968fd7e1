"""`evaluate(control, datamodule, settings, …)`: the one code path that scores every method.

It picks the metric families that apply to the control's type (fidelity for all; clusters for
`Clusters`; exemplars for `Exemplars`), runs them on the same evaluation net, the same N and the
same seeds, and returns per metric: value, n, feature net, seconds and seed. Later families
(directions, disentanglement) register themselves with `register_family` — nothing here changes.

Real-set features are a reference computed once per (data, split, image convention, net,
weights, n) and cached on disk; a second evaluation runs no feature pass over real images.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganctrl.cache import build_once, config_hash
from ganctrl.methods.base import Clusters, Control, Exemplars, Unconditional
from ganctrl.metrics import clusters as cluster_metrics
from ganctrl.metrics import exemplars as exemplar_metrics
from ganctrl.metrics import fidelity
from ganctrl.metrics.features import DEFAULT_NET, EvaluationNet, NetOutput, evaluation_net


@dataclass
class Context:
    """What every metric family shares within one evaluation."""

    datamodule: object
    settings: object
    net: EvaluationNet
    net_info: dict
    cache_dir: Path
    results: dict = field(default_factory=dict)
    generated: NetOutput | None = None  # the fidelity sample's pass, reused by later families
    loaded: dict = field(default_factory=dict)  # (split, n) → reference, read from disk once

    def record(self, name: str, value, n: int, seconds: float, **extra) -> None:
        self.results[name] = {
            "value": value, "n": n, "feature_net": self.net.name, "seconds": round(seconds, 4),
            "seed": self.settings.seed, **extra,
        }  # fmt: skip

    def reference(self, split: str, n: int) -> tuple[NetOutput, bool]:
        """The evaluation net's outputs on n seeded real images of a split (cached on disk), and
        whether they came from the cache."""
        if (split, n) not in self.loaded:
            self.loaded[split, n] = self._load_reference(split, n)
        return self.loaded[split, n]

    def _load_reference(self, split: str, n: int) -> tuple[NetOutput, bool]:
        available = self.datamodule.size(split)
        if n > available:
            raise ValueError(f"metrics.n={n} exceeds the {available} {split} images")
        key = config_hash({
            "data": self.datamodule.identity(), "split": split, "n": n,
            "convention": self.net.convention.describe(), "net": self.net.name,
            "weights": self.net.weights_hash, "seed": self.settings.seed,
        })  # fmt: skip
        path = (
            self.cache_dir
            / "reference"
            / f"{self.net.name}-{self.datamodule.name}-{split}-n{n}-{key}.pt"
        )

        def compute() -> dict:
            seeded = torch.Generator().manual_seed(self.settings.seed)
            rows = torch.randperm(available, generator=seeded)[:n]
            out = self.net.run(self.datamodule.images(split)[rows], self.settings.batch_size)
            return {"features": out.features, "logits": out.logits, "rows": rows}

        stored, computed = build_once(path, compute)
        return NetOutput(stored["features"], stored["logits"]), not computed

    def class_probs(self, output: NetOutput) -> np.ndarray:
        return torch.softmax(output.logits[self.net.class_head], dim=1).numpy()

    def predicted_classes(self, output: NetOutput) -> np.ndarray:
        return output.logits[self.net.class_head].argmax(dim=1).numpy()


def _timed(fn: Callable, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def fidelity_family(ctx: Context, control: Control) -> None:
    s = ctx.settings
    # Every set at one N: generated, real test, and the real-train floor.
    n = min(s.n, ctx.datamodule.size("test"), ctx.datamodule.size("train"))
    test, test_cached = ctx.reference("test", n)
    train, _ = ctx.reference("train", n)
    images, sample_seconds = _timed(control.sample, n, s.seed)
    ctx.generated, pass_seconds = _timed(ctx.net.run, images, s.batch_size)
    ctx.results["_passes"] = {
        "sample_seconds": round(sample_seconds, 4), "feature_pass_seconds": round(pass_seconds, 4),
        "reference_cached": test_cached, "n": n,
    }  # fmt: skip
    fake, real, floor = ctx.generated.features, test.features, train.features

    value, seconds = _timed(fidelity.fid, fake, real)
    ctx.record("fid", value, n, seconds, floor=fidelity.fid(floor, real))
    (mean, std), seconds = _timed(
        fidelity.inception_score, ctx.class_probs(ctx.generated), s.is_splits, s.seed
    )
    real_is = fidelity.inception_score(ctx.class_probs(test), s.is_splits, s.seed)[0]
    ctx.record("is", mean, n, seconds, std=std, real_test=real_is, head=ctx.net.class_head)
    kid_args = (s.kid_subsets, s.kid_subset_size, s.seed)
    (mean, std), seconds = _timed(fidelity.kid, fake, real, *kid_args)
    ctx.record("kid", mean, n, seconds, std=std, floor=fidelity.kid(floor, real, *kid_args)[0])
    (p, r), seconds = _timed(fidelity.precision_recall, real, fake, s.pr_k)
    floor_p, floor_r = fidelity.precision_recall(real, floor, s.pr_k)
    pair = {"k": s.pr_k, "seconds_shared_with": ["precision", "recall"]}
    ctx.record("precision", p, n, seconds, floor=floor_p, **pair)
    ctx.record("recall", r, n, seconds, floor=floor_r, **pair)
    (d, c), seconds = _timed(fidelity.density_coverage, real, fake, s.dc_k)
    floor_d, floor_c = fidelity.density_coverage(real, floor, s.dc_k)
    pair = {"k": s.dc_k, "seconds_shared_with": ["density", "coverage"]}
    ctx.record("density", d, n, seconds, floor=floor_d, **pair)
    ctx.record("coverage", c, n, seconds, floor=floor_c, **pair)


def _record_purity(ctx: Context, outputs: list[NetOutput], weights, names: tuple[str, str],
                   seconds: float, guards: dict | None = None) -> None:  # fmt: skip
    """Generated purity and class coverage of per-cluster samples, under the given names; the
    purity carries its guards (class coverage first) where given."""
    predicted = [ctx.predicted_classes(o) for o in outputs]
    scores = cluster_metrics.generated_purity(predicted, weights, ctx.datamodule.num_classes)
    n = sum(len(p) for p in predicted)
    pair = {"seconds_shared_with": list(names)}  # sampling and the feature pass included
    extra = {} if guards is None else {"guards": {"class_coverage": scores["class_coverage"],
                                                  **guards}}  # fmt: skip
    ctx.record(names[0], scores["generated_purity"], n, seconds, **extra, **pair)
    ctx.record(names[1], scores["class_coverage"], n, seconds, **pair)


def _record_factor_nmi(ctx: Context, outputs: list[NetOutput], prefix: str) -> None:
    """On data with ground-truth factors: which factor did the clusters find?"""
    ids = np.repeat(np.arange(len(outputs)), [len(o.features) for o in outputs])
    for factor in ctx.datamodule.factor_names:
        factor_pred = np.concatenate([o.logits[factor].argmax(1).numpy() for o in outputs])
        value, seconds = _timed(cluster_metrics.nmi, ids, factor_pred)
        ctx.record(f"{prefix}_nmi_{factor}", value, len(ids), seconds)


def _latent_cluster_family(ctx: Context, control: Clusters, weights) -> dict:
    """For clusters formed in G's latent space (IMLE and its baselines): the clusters before the
    mapping (G(z) for the clustered z), how much of their latent spread the mapping keeps, and the
    unconditional generator's recall and coverage at the same N and seed — the numbers a purity
    bought by collapse would fall short of."""
    s = ctx.settings
    members = [control.cluster_latents(c) for c in range(control.k)]
    start = time.perf_counter()
    sources = []
    for c, latents in enumerate(members):
        pick = torch.randperm(len(latents), generator=torch.Generator().manual_seed(s.seed + c))
        chosen = latents[pick[: s.per_cluster].to(latents.device)]
        sources.append(ctx.net.run(control.render_latents(chosen), s.batch_size))
    _record_purity(ctx, sources, weights, ("source_purity", "source_class_coverage"),
                   time.perf_counter() - start)  # fmt: skip
    _record_factor_nmi(ctx, sources, "source")

    start = time.perf_counter()
    mapped = [control.sample_cluster_latents(c, len(m), s.seed + c) for c, m in enumerate(members)]
    spread = cluster_metrics.latent_spread_ratio(mapped, members, weights)
    ctx.record("latent_spread_ratio", spread, sum(map(len, members)), time.perf_counter() - start)

    start = time.perf_counter()
    n = ctx.results["recall"]["n"]
    test, _ = ctx.reference("test", n)
    images = Unconditional(control.generator).sample(n, s.seed)
    fake = ctx.net.run(images, s.batch_size).features
    _, recall = fidelity.precision_recall(test.features, fake, s.pr_k)
    _, coverage = fidelity.density_coverage(test.features, fake, s.dc_k)
    pair = {"seconds_shared_with": ["unconditional_recall", "unconditional_coverage"]}
    seconds = time.perf_counter() - start
    ctx.record("unconditional_recall", recall, n, seconds, k=s.pr_k, **pair)
    ctx.record("unconditional_coverage", coverage, n, seconds, k=s.dc_k, **pair)
    return {"source_purity": ctx.results["source_purity"]["value"],
            "latent_spread_ratio": spread,
            "unconditional_recall": recall, "unconditional_coverage": coverage}  # fmt: skip


def cluster_family(ctx: Context, control: Clusters) -> None:
    s, dm = ctx.settings, ctx.datamodule
    weights = control.weights.detach().cpu().numpy()
    start = time.perf_counter()
    outputs = [
        ctx.net.run(control.sample_cluster(c, s.per_cluster, s.seed + c), s.batch_size)
        for c in range(control.k)
    ]
    seconds = time.perf_counter() - start
    guards = {"mixture_recall": ctx.results["recall"]["value"],
              "mixture_coverage": ctx.results["coverage"]["value"]}  # fmt: skip
    if control.has_latents:
        guards.update(_latent_cluster_family(ctx, control, weights))
    _record_purity(ctx, outputs, weights, ("generated_purity", "class_coverage"), seconds,
                   guards=guards)  # fmt: skip
    _record_factor_nmi(ctx, outputs, "generated")

    if control.can_assign:
        images, labels = dm.images("test"), dm.labels("test").numpy()
        assigned, assign_seconds = _timed(control.assign, images)
        assigned = assigned.cpu().numpy()
        n = len(labels)
        top = s.top_clusters or dm.num_classes
        value, seconds = _timed(cluster_metrics.purity, assigned, labels)
        ctx.record("purity", value, n, seconds, assign_seconds=round(assign_seconds, 4))
        (value, covered), seconds = _timed(
            cluster_metrics.top_purity, assigned, labels, weights, top
        )
        ctx.record("purity_top", value, n, seconds, top=top, covered=covered)
        for name, fn in (("nmi", cluster_metrics.nmi), ("ari", cluster_metrics.ari),
                         ("cluster_accuracy", cluster_metrics.hungarian_accuracy)):  # fmt: skip
            value, seconds = _timed(fn, assigned, labels)
            ctx.record(name, value, n, seconds)


def exemplar_family(ctx: Context, control: Exemplars) -> None:
    s, dm = ctx.settings, ctx.datamodule
    images, labels = dm.images("test"), dm.labels("test")
    rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(s.seed))[
        : s.exemplars
    ]
    start = time.perf_counter()
    samples = control.sample_like(images[rows], s.samples_per_exemplar, s.seed)
    predicted = ctx.predicted_classes(ctx.net.run(samples, s.batch_size))
    value = exemplar_metrics.conditional_accuracy(
        predicted, labels[rows].numpy(), s.samples_per_exemplar
    )
    ceiling = ctx.net_info.get("test_accuracy", {}).get(ctx.net.class_head)
    ctx.record("conditional_accuracy", value, len(predicted), time.perf_counter() - start,
               chance=1.0 / dm.num_classes, classifier_test_accuracy=ceiling)  # fmt: skip
    if control.can_encode:
        start = time.perf_counter()
        rates = exemplar_metrics.kth_neighbour_rates(
            control.encode(images), labels.numpy(), s.neighbour_ks
        )
        seconds = time.perf_counter() - start
        names = [f"sensor_neighbour_rate_{k}" for k in rates]
        for name, rate in zip(names, rates.values(), strict=True):
            ctx.record(name, rate, len(images), seconds, seconds_shared_with=names)


FAMILIES: list[tuple[str, type, Callable[[Context, Control], None]]] = []


def register_family(name: str, control_type: type, run: Callable[[Context, Control], None]) -> None:
    """Add a metric family that applies to every control of `control_type` (in order)."""
    FAMILIES.append((name, control_type, run))


register_family("fidelity", Control, fidelity_family)
register_family("clusters", Clusters, cluster_family)
register_family("exemplars", Exemplars, exemplar_family)


def evaluate(control: Control, datamodule, settings, cache_dir: str | Path, device) -> dict:
    """Every applicable metric for `control`, with the evaluation net's facts and timings."""
    net_name = settings.feature_net or DEFAULT_NET.get(datamodule.name)
    if net_name is None:
        raise KeyError(
            f"no default evaluation net for data {datamodule.name!r}: set metrics.feature_net"
        )
    net, info = evaluation_net(
        net_name, datamodule, cache_dir, device, seed=settings.feature_net_seed,
        epochs=settings.feature_net_epochs, inception_weights=settings.inception_weights,
    )  # fmt: skip
    ctx = Context(datamodule, settings, net, info, Path(cache_dir).expanduser())
    families = []
    for name, control_type, run in FAMILIES:
        if isinstance(control, control_type):
            start = time.perf_counter()
            run(ctx, control)
            families.append({"family": name, "seconds": round(time.perf_counter() - start, 4)})
    passes = ctx.results.pop("_passes", None)
    return {"feature_net": info, "families": families, "passes": passes, "metrics": ctx.results}
