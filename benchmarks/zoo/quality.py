"""What a generator is worth: its fidelity, measured once and kept beside it, and its curve.

`recorded_quality` evaluates a generator with the fidelity family (FID, IS, KID, precision,
recall, density, coverage, each beside its real-vs-real floor) and stores the result in a JSON
sidecar, once per (generator, evaluation protocol); every job that uses the generator copies it
into results.json as `generator.quality`. `QualityCurve` measures FID, precision and recall at
fixed points of the zoo's training, so the toy budget can sit at the knee of that curve.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from pytorch_lightning import Callback

from ganctrl import atomic
from ganctrl.cache import config_hash
from ganctrl.methods.common.contract import Unconditional
from ganctrl.metrics.evaluate import Context, evaluate
from ganctrl.metrics.features import evaluation_net
from ganctrl.metrics.fidelity import fid, precision_recall

log = logging.getLogger(__name__)

CURVE_METRICS = ("fid", "precision", "recall")
QUALITY_METRICS = ("fid", "is", "kid", "precision", "recall", "density", "coverage", "confidence")
# The settings that decide a fidelity number; the other families' settings do not.
_PROTOCOL_KEYS = (
    "seed",
    "n",
    "feature_net",
    "feature_net_epochs",
    "feature_net_seed",
    "inception_weights",
    "fidelity",
)


def protocol_key(metrics_cfg, datamodule) -> str:
    settings = OmegaConf.to_container(metrics_cfg, resolve=True)
    protocol = {k: settings[k] for k in _PROTOCOL_KEYS}
    protocol["feature_net"] = protocol["feature_net"] or datamodule.evaluation_net
    return config_hash(protocol)


def sidecar_path(generator_path: Path, metrics_cfg, datamodule) -> Path:
    key = protocol_key(metrics_cfg, datamodule)
    return generator_path.with_name(f"{generator_path.stem}.quality-{key}.json")


def measure_quality(generator, datamodule, metrics_cfg, cache_dir, device) -> dict:
    """The fidelity family's numbers for G as it is: value and floor per metric. Only that
    family runs, whichever ones the job asked `metrics.families` for."""
    fidelity_only = OmegaConf.merge(metrics_cfg, {"families": ["fidelity"]})
    evaluation = evaluate(Unconditional(generator), datamodule, fidelity_only, cache_dir, device)
    metrics = evaluation["metrics"]
    return {
        "feature_net": metrics["fid"]["feature_net"],
        "n": metrics["fid"]["n"],
        "seed": metrics["fid"]["seed"],
        **{
            name: {
                "value": metrics[name]["value"],
                "floor": metrics[name].get("floor", metrics[name].get("real_test")),
            }
            for name in QUALITY_METRICS
        },
    }


def recorded_quality(
    generator, sidecar: Path, datamodule, metrics_cfg, cache_dir, device
) -> tuple[dict, bool]:
    """The generator's quality from its sidecar, measuring and writing it first if there is
    none; and whether this call measured it."""
    if sidecar.is_file():
        return json.loads(sidecar.read_text()), False
    start = time.perf_counter()
    quality = measure_quality(generator, datamodule, metrics_cfg, cache_dir, device)
    quality["seconds"] = round(time.perf_counter() - start, 2)
    atomic.write_json(quality, sidecar)
    log.info(
        "zoo: quality of %s: FID %.2f (floor %.2f), precision %.3f, recall %.3f",
        sidecar.name,
        quality["fid"]["value"],
        quality["fid"]["floor"],
        quality["precision"]["value"],
        quality["recall"]["value"],
    )
    return quality, True


class QualityCurve(Callback):
    """Every `every` iterations (and at the end), FID, precision and recall of the G the run
    would sample from (its EMA where it keeps one), on the data's evaluation net against n
    seeded test images; where it keeps an EMA, the raw G's too (`raw`), so every curve shows what
    the average buys. `seconds` counts training only, not these evaluations."""

    def __init__(self, every: int, datamodule, metrics_cfg, cache_dir, device):
        if every < 1:
            raise ValueError(
                f"generator.curve_every must be >= 1 (0 turns the curve off), got {every}"
            )
        self.every, self.settings, self.device = every, metrics_cfg, torch.device(device)
        net_name = metrics_cfg.feature_net or datamodule.evaluation_net
        net, info = evaluation_net(net_name, datamodule, cache_dir, self.device, metrics_cfg)
        self.context = Context(datamodule, metrics_cfg, net, info, Path(cache_dir).expanduser())
        self.n = min(metrics_cfg.n, datamodule.size("test"))
        self.points: list[dict] = []
        self.iterations = 0
        self.started = self.evaluating = 0.0

    def on_train_start(self, trainer, gan) -> None:
        self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, gan, outputs, batch, batch_idx) -> None:
        self.iterations += 1
        if self.iterations % self.every == 0:
            self.measure(gan)

    def on_train_end(self, trainer, gan) -> None:
        if not self.points or self.points[-1]["iteration"] != self.iterations:
            self.measure(gan)

    def summary(self) -> dict:
        """The curve, with the real-train-vs-test floors it approaches."""
        real = self.context.reference("test", self.n)[0].features
        floor = self.context.reference("train", self.n)[0].features
        floor_p, floor_r = precision_recall(real, floor, self.settings.fidelity.pr_k)
        return {
            "every": self.every,
            "n": self.n,
            "feature_net": self.context.net.name,
            "floor": {"fid": fid(floor, real), "precision": floor_p, "recall": floor_r},
            "points": self.points,
        }

    @torch.no_grad()
    def measure(self, gan) -> None:
        start = time.perf_counter()
        seconds = start - self.started - self.evaluating
        point = {
            "iteration": self.iterations,
            "seconds": round(seconds, 2),
            **self._scores(gan.sampling_generator()),
        }
        if gan.generator_ema is not None:  # what the average buys, measured every time
            raw = gan.generator.training
            point["raw"] = self._scores(gan.generator.eval())
            gan.generator.train(raw)
        self.points.append(point)
        self.evaluating += time.perf_counter() - start
        log.info(
            "curve: it %(iteration)d, %(seconds).0f s: FID %(fid).2f, "
            "precision %(precision).3f, recall %(recall).3f",
            point,
        )
        if "raw" in point:
            log.info(
                "curve: it %d, raw G: FID %.2f, precision %.3f, recall %.3f",
                point["iteration"],
                *(point["raw"][k] for k in CURVE_METRICS),
            )
        if gan.logger:
            gan.logger.log_metrics(
                {f"curve/{k}": point[k] for k in CURVE_METRICS}, step=self.iterations
            )

    def _scores(self, generator) -> dict:
        images = Unconditional(generator.to(self.device)).sample(self.n, self.settings.seed)
        fake = self.context.run_net(images).features
        real = self.context.reference("test", self.n)[0].features
        precision, recall = precision_recall(real, fake, self.settings.fidelity.pr_k)
        return {"fid": fid(fake, real), "precision": precision, "recall": recall}
