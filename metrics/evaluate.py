"""`evaluate(control, datamodule, settings, …)`: the one code path that scores every method.

It runs every registered metric family that applies to the control's type, on one evaluation
net, the same N and the same seeds, and returns per metric: value, n, feature net, seconds and
seed. This module holds only what the families share — the `Context`, the registry and
`evaluate`; each family is a module of its own that registers itself (fidelity.py, clusters.py,
exemplars.py), listed once in metrics/__init__.py.

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
from ganctrl.methods.base import Control
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
            "value": value, "n": n, "feature_net": self.net.name, "seconds": round(seconds, 4),
            "seed": self.settings.seed, **extra,
        }  # fmt: skip

    def reference(self, split: str, n: int) -> tuple[NetOutput, bool]:
        """The evaluation net's outputs on n seeded real images of a split (cached on disk), and
        whether they came from the cache."""
        if (split, n) not in self.loaded:
            self.loaded[split, n] = self._load_reference(split, n)
        return self.loaded[split, n]

    def reference_set(self, split: str, n: int, ks: tuple[int, ...],
                      kid: KidDraws | None = None) -> ReferenceSet:  # fmt: skip
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
        key = config_hash({
            "data": self.datamodule.identity(), "split": split, "n": n,
            "convention": self.net.convention.describe(), "net": self.net.name,
            "weights": self.net.weights_hash, "seed": self.settings.seed,
            "code": code_version(type(self.net)),
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


@dataclass(frozen=True)
class Family:
    name: str  # also where its settings live: metrics.<name>
    control_type: type | tuple[type, ...]  # it runs for every control of this type (these types)
    settings: type  # a dataclass of its settings, with defaults
    run: Runner
    needs: tuple[str, ...] = ()  # families whose results it reads; they run first
    # (datamodule, control) → whether it runs, beyond the control's type (e.g. factors needed)
    applies: Callable[[object, Control], bool] | None = None


FAMILIES: dict[str, Family] = {}


def register_family(
    name: str,
    control_type: type | tuple[type, ...],
    settings: type,
    needs: tuple[str, ...] = (),
    applies: Callable[[object, Control], bool] | None = None,
) -> Callable[[Runner], Runner]:
    """Decorator: add a metric family (its runner) under `name`; a name is taken only once."""

    def register(run: Runner) -> Runner:
        if name in FAMILIES:
            raise ValueError(f"a metric family named {name!r} is registered already")
        missing = [n for n in needs if n not in FAMILIES]
        if missing:
            raise ValueError(f"family {name!r} needs {missing}: register (import) them first")
        FAMILIES[name] = Family(name, control_type, settings, run, tuple(needs), applies)
        return run

    return register


def applicable_families(control: Control, datamodule,
                        selected: Sequence[str] | None = None) -> list[Family]:  # fmt: skip
    """The families that score `control` on this data, each after the families it needs; with
    `selected`, only those of them (and the families they need)."""
    chosen = [f for f in FAMILIES.values() if isinstance(control, f.control_type)
              and (f.applies is None or f.applies(datamodule, control))]  # fmt: skip
    if selected is not None:
        unknown = sorted(set(selected) - set(FAMILIES))
        if unknown:
            raise KeyError(f"metrics.families names {unknown}, which are not metric families; "
                           f"the registered ones are {sorted(FAMILIES)}")  # fmt: skip
        wanted = set(selected)
        for name in reversed(list(FAMILIES)):  # a family registers after everything it needs
            if name in wanted:
                wanted.update(FAMILIES[name].needs)
        chosen = [f for f in chosen if f.name in wanted]
    names = {f.name for f in chosen}
    for family in chosen:
        for need in family.needs:
            if need not in names:
                raise TypeError(f"family {family.name!r} needs {need!r}, which does not apply "
                                f"to {type(control).__name__}")  # fmt: skip
    return chosen  # registration order already puts every need first


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
        for name in set(ctx.results) - before:  # the leaderboard groups columns by family
            ctx.results[name]["family"] = family.name
    return {"feature_net": info, "families": families, "passes": ctx.passes,
            "metrics": ctx.results, "pictures": ctx.pictures}  # fmt: skip
