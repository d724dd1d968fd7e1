"""The metrics protocol's settings (`metrics.*`): what every family shares, plus one node per
registered family with that family's own settings (`metrics.fidelity.pr_k`, …).

`MetricsConfig` is assembled from the registry, so a new family brings its settings with it and
no list here changes; it is the `metrics` node of the root schema (benchmarks/job/config.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass

from ganctrl.metrics.evaluate import FAMILIES


@dataclass
class ProtocolSettings:
    """Shared by every family; one value per run, the same for every method."""

    seed: int = 1234  # evaluation sampling seed: the same latents and real subsets for every method
    grid_seed: int = 0  # the latents behind samples/grid.png
    n: int = 1000  # images per set for fidelity (generated, real test, real-train floor)
    feature_net: str | None = None  # None: the data's default (datamodule.evaluation_net)
    feature_net_epochs: int | None = None  # None: the net's own recipe; smoke configs shrink it
    feature_net_seed: int = 0
    inception_weights: str | None = None  # local FID Inception weights (.pth)
    batch_size: int = 500  # images per evaluation-net batch
    # None: every family that applies to the control; else only these (with what they need),
    # e.g. [directions] to rerun one family's protocol without the rest
    families: list[str] | None = None


MetricsConfig = make_dataclass(
    "MetricsConfig",
    [(name, f.settings, field(default_factory=f.settings)) for name, f in FAMILIES.items()],
    bases=(ProtocolSettings,),
)
MetricsConfig.__module__ = __name__
MetricsConfig.__doc__ = "The whole `metrics` node: the protocol and each family's settings."
