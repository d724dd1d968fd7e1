"""`evaluate(control, datamodule, settings, …)`: the one code path that scores every method.

It runs every registered metric family that applies to the control's type, on one evaluation
net, the same N and the same seeds, and returns per metric: value, n, feature net, seconds and
seed. This module holds only what the families share — the `Context`, the registry and
`evaluate`; each family is a module of its own that registers itself (fidelity.py, clusters.py,
exemplars.py) and declares how its metrics rank; metrics/__init__.py imports every module.

Real-set features are a reference computed once per (data, split, image convention, net,
weights, n) and cached on disk; a second evaluation runs no feature pass over real images.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganctrl.cache import build_once, code_version, config_hash
from ganctrl.methods.common.contract import Control
from ganctrl.metrics.features import EvaluationNet, NetOutput, evaluation_net
from ganctrl.metrics.neighbours import KidDraws, ReferenceSet


@dataclass
class Context:
    """What every metric family shares within one evaluation."""

    datamodule: object
    settings: object  # the whole metrics config: the protocol, and each family's own settings
    net: EvaluationNet
    net_info: dict
    cache_dir: Path
    results: dict = field(default_factory=dict)
    passes: dict | None = None  # the cost of sampling and of the bare feature pass
    loaded: dict = field(default_factory=dict)  # (split, n) → reference, read from disk once
    neighbours: dict = field(default_factory=dict)  # (split, n) → its shared neighbour pass
    pictures: dict = field(default_factory=dict)  # file stem → (3, H, W) in [0, 1]: the run saves

    def record(self, name: str, value, n: int, seconds: float, **extra) -> None:
        self.results[name] = {
            "value": value,
            "n": n,
            "feature_net": self.net.name,
            "seconds": round(seconds, 4),
            "seed": self.settings.seed,
            **extra,
        }

    def reference(self, split: str, n: int) -> tuple[NetOutput, bool]:
        """The evaluation net's outputs on n seeded real images of a split (cached on disk), and
        whether they came from the cache."""
        if (split, n) not in self.loaded:
            self.loaded[split, n] = self._load_reference(split, n)
        return self.loaded[split, n]

    def reference_set(
        self, split: str, n: int, ks: tuple[int, ...], kid: KidDraws | None = None
    ) -> ReferenceSet:
        """The shared neighbour pass over `reference(split, n)` (metrics/neighbours.py): its k-NN
        radii for each of `ks`, and KID's within-set sums over `kid`'s draws where given. Formed
        once per evaluation: every family comparing with those images reuses it."""
        formed = self.neighbours.get((split, n))
        other_draws = kid is not None and kid is not getattr(formed, "kid", None)
        if formed is None or not set(ks) <= set(formed.radii) or other_draws:
            real = self.reference(split, n)[0].features
            formed = self.neighbours[split, n] = ReferenceSet.of(real, ks, kid, self.device)
        return formed

    def _load_reference(self, split: str, n: int) -> tuple[NetOutput, bool]:
        available = self.datamodule.size(split)
        if n > available:
            raise ValueError(f"metrics.n={n} exceeds the {available} {split} images")
        key = config_hash(
            {
                "data": self.datamodule.identity(),
                "split": split,
                "n": n,
                "convention": self.net.convention.describe(),
                "net": self.net.name,
                "weights": self.net.weights_hash,
                "seed": self.settings.seed,
                "code": code_version(type(self.net)),
            }
        )
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

    def run_net(self, images: torch.Tensor) -> NetOutput:
        return self.net.run(images, self.settings.batch_size)

    @property
    def device(self) -> torch.device:
        """The job's device (the evaluation net's): where the shared distance pass runs."""
        return next(self.net.parameters()).device

    def class_probs(self, output: NetOutput) -> np.ndarray:
        return torch.softmax(output.logits[self.net.class_head], dim=1).numpy()

    def predicted_classes(self, output: NetOutput) -> np.ndarray:
        return output.logits[self.net.class_head].argmax(dim=1).numpy()


def timed(fn: Callable, *args, **kwargs):
    """(fn(*args, **kwargs), seconds it took)."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


# A family's runner: (context, control, the family's own settings) → records into the context.
Runner = Callable[[Context, Control, object], None]

LOWER, HIGHER = "lower", "higher"  # which way a metric is better
PER_DATA_SET, PER_GENERATOR = "data", "generator"  # which rows a metric's best is chosen among


@dataclass(frozen=True)
class Family:
    name: str  # also where its settings live: metrics.<name>
    control_type: type | tuple[type, ...]  # it runs for every control of this type (these types)
    settings: type  # a dataclass of its settings, with defaults
    run: Runner
    needs: tuple[str, ...] = ()  # families whose results it reads; they run first
    # (datamodule, control) → whether it runs, beyond the control's type (e.g. factors needed)
    applies: Callable[[object, Control], bool] | None = None
    lower_is_better: tuple[str, ...] = ()  # its metrics where lower is better (others: higher)
    unranked: tuple[str, ...] = ()  # its metrics with no better direction (scales, counts)
    # whether its scores describe one generator's latent space, so that only rows steering the
    # same generator compare
    per_generator: bool = False

    def facts(self, metric: str) -> dict:
        """What the leaderboard needs to rank `metric`, written beside its value."""
        better = (
            None if metric in self.unranked else LOWER if metric in self.lower_is_better else HIGHER
        )
        ranked_within = PER_GENERATOR if self.per_generator else PER_DATA_SET
        return {"family": self.name, "better": better, "ranked_within": ranked_within}


FAMILIES: dict[str, Family] = {}


def register_family(
    name: str,
    control_type: type | tuple[type, ...],
    settings: type,
    needs: tuple[str, ...] = (),
    applies: Callable[[object, Control], bool] | None = None,
    lower_is_better: tuple[str, ...] = (),
    unranked: tuple[str, ...] = (),
    per_generator: bool = False,
) -> Callable[[Runner], Runner]:
    """Decorator: add a metric family (its runner) under `name`; a name is taken only once. The
    family declares how its metrics rank; every metric it records carries those facts."""

    def register(run: Runner) -> Runner:
        if name in FAMILIES:
            raise ValueError(f"a metric family named {name!r} is registered already")
        FAMILIES[name] = Family(
            name,
            control_type,
            settings,
            run,
            tuple(needs),
            applies,
            tuple(lower_is_better),
            tuple(unranked),
            per_generator,
        )
        return run

    return register


def _needs_of(name: str) -> set[str]:
    """Every family whose results `name` reads, directly or through another."""
    found, todo = set(), list(FAMILIES[name].needs)
    while todo:
        need = todo.pop()
        if need not in found:
            found.add(need)
            todo.extend(FAMILIES[need].needs if need in FAMILIES else ())
    return found


def run_order(names: set[str]) -> list[str]:
    """`names` with each family after the families it needs; among those free to run, first
    the ones more registered families read (fidelity, which clusters read), then by name: the
    order follows the declared needs, never the order in which modules were imported."""
    missing = sorted({need for name in names for need in _needs_of(name)} - set(FAMILIES))
    if missing:
        raise KeyError(f"metric families need {missing}, which are not registered")
    readers = {n: sum(n in _needs_of(other) for other in FAMILIES) for n in names}
    order, left = [], set(names)
    while left:
        ready = [n for n in left if not set(FAMILIES[n].needs) & left]
        if not ready:
            raise ValueError(f"metric families {sorted(left)} need each other in a cycle")
        first = min(ready, key=lambda n: (-readers[n], n))
        order.append(first)
        left.remove(first)
    return order


def applicable_families(
    control: Control, datamodule, selected: Sequence[str] | None = None
) -> list[Family]:
    """The families that score `control` on this data, each after the families it needs; with
    `selected`, only those of them (and the families they need)."""
    chosen = {
        f.name
        for f in FAMILIES.values()
        if isinstance(control, f.control_type)
        and (f.applies is None or f.applies(datamodule, control))
    }
    if selected is not None:
        unknown = sorted(set(selected) - set(FAMILIES))
        if unknown:
            raise KeyError(
                f"metrics.families names {unknown}, which are not metric families; "
                f"the registered ones are {sorted(FAMILIES)}"
            )
        wanted, todo = set(), list(selected)
        while todo:  # the selection and everything it needs, however deep
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(FAMILIES[name].needs)
        chosen &= wanted
    order = run_order(chosen)
    for name in order:
        for need in FAMILIES[name].needs:
            if need not in chosen:
                raise TypeError(
                    f"family {name!r} needs {need!r}, which does not apply "
                    f"to {type(control).__name__}"
                )
    return [FAMILIES[name] for name in order]


def evaluate(control: Control, datamodule, settings, cache_dir: str | Path, device) -> dict:
    """Every applicable metric for `control`, with the evaluation net's facts and timings, and
    the pictures the families drew ("pictures")."""
    net_name = settings.feature_net or datamodule.evaluation_net
    if net_name is None:
        raise KeyError(
            f"no default evaluation net for data {datamodule.name!r}: set metrics.feature_net"
        )
    net, info = evaluation_net(net_name, datamodule, cache_dir, device, settings)
    ctx = Context(datamodule, settings, net, info, Path(cache_dir).expanduser())
    families = []
    for family in applicable_families(control, datamodule, settings.families):
        before = set(ctx.results)
        _, seconds = timed(family.run, ctx, control, getattr(settings, family.name))
        families.append({"family": family.name, "seconds": round(seconds, 4)})
        for name in set(ctx.results) - before:  # what the leaderboard groups and ranks by
            ctx.results[name].update(family.facts(name))
    return {
        "feature_net": info,
        "families": families,
        "passes": ctx.passes,
        "metrics": ctx.results,
        "pictures": ctx.pictures,
    }
