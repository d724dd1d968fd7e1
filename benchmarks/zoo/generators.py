"""The generator zoo: one unconditional GAN per (data, backbone, budget, generator seed).

The first job that needs a generator trains it (the `UnconditionalGAN` recipe in
`generator.train`) and caches it under `${paths.cache}/generators/`; every later job loads it.
Parallel jobs asking for the same key wait on a file lock instead of training twice. A user's
own file is taken with `generator.checkpoint=PATH` (a state_dict, or a zoo file).

Beside each file: `NAME.png` (its samples), `NAME.curve.json` (FID, precision and recall every
`generator.curve_every` iterations of its training) and `NAME.quality-KEY.json` (its fidelity
under one evaluation protocol, benchmarks/zoo/quality.py), which every job copies into results.json.
A user's checkpoint gets its quality sidecar in the cache, keyed by the file's content.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning import seed_everything
from torch import nn

from ganctrl import atomic
from ganctrl.benchmarks.zoo.quality import QualityCurve, recorded_quality, sidecar_path
from ganctrl.cache import (
    build_once,
    code_version,
    config_hash,
    file_digest,
    load,
    training_hardware,
)
from ganctrl.methods.common.contract import Unconditional

log = logging.getLogger(__name__)

# Settings that change where data lives or how fast it loads, not what the generator learns.
_DATA_KEYS_NOT_IN_KEY = {"root", "download", "num_workers"}
# Generator settings that do not change its weights: a user's file, and how often the curve is
# measured (it samples with its own seeded generator, so the training RNG never sees it).
_GENERATOR_KEYS_NOT_IN_KEY = {"checkpoint", "curve_every"}
_CODE_NODES = ("net", "discriminator", "train")  # generator nodes whose code shapes the weights


@dataclass
class ZooEntry:
    generator: nn.Module
    path: Path | None
    trained: bool  # whether this call trained it (False: loaded from cache or a user's file)
    seconds: float
    quality: dict  # benchmarks/quality.py: FID, IS, KID, P/R, D/C with floors


def zoo_key(data_cfg: DictConfig, generator_cfg: DictConfig, device: torch.device | str) -> str:
    """A hash of everything that decides the trained generator's weights: the data and generator
    configs, the code of the data set, both networks and the training recipe, and the hardware."""
    data = {
        k: v
        for k, v in OmegaConf.to_container(data_cfg, resolve=True).items()
        if k not in _DATA_KEYS_NOT_IN_KEY
    }
    gen = {
        k: v
        for k, v in OmegaConf.to_container(generator_cfg, resolve=True).items()
        if k not in _GENERATOR_KEYS_NOT_IN_KEY
    }
    targets = [data_cfg._target_, *(generator_cfg[k]._target_ for k in _CODE_NODES)]
    code = code_version(*map(get_class, targets))
    return config_hash({"data": data, "generator": gen, "code": code, **training_hardware(device)})


def _build(node: DictConfig, datamodule, **changes) -> nn.Module:
    channels, image_size, _ = datamodule.image_shape
    return instantiate(node, **{"channels": channels, "image_size": image_size, **changes})


class BackboneNetworks:
    """The `generator` group's nets built for this data: the `networks` a method that trains its
    own GAN receives (methods/job_inputs.py). A plain class: Hydra would turn a dataclass
    argument into config."""

    def __init__(self, generator_cfg: DictConfig, datamodule):
        self.generator_cfg, self.datamodule = generator_cfg, datamodule

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.datamodule.image_shape

    def generator(self, **changes) -> nn.Module:
        return _build(self.generator_cfg.net, self.datamodule, **changes)

    def discriminator(self, **changes) -> nn.Module:
        return _build(self.generator_cfg.discriminator, self.datamodule, **changes)


def _frozen(generator: nn.Module) -> nn.Module:
    return generator.eval().requires_grad_(False)


def pretrained(
    generator_cfg: DictConfig,
    data_cfg: DictConfig,
    datamodule,
    cache_dir: str | Path,
    label: str,
    make_trainer: Callable[..., object],
    metrics_cfg,
    device,
) -> ZooEntry:
    """The frozen generator for this (data, backbone, recipe, seed), trained at most once, with
    its quality under `metrics_cfg`'s protocol, measured at most once.

    `make_trainer(label, callbacks)` builds the Lightning trainer the zoo trains with."""
    start = time.perf_counter()
    cache_dir = Path(cache_dir).expanduser()
    generator = _build(generator_cfg.net, datamodule)
    trained = False
    if generator_cfg.checkpoint:
        path = Path(generator_cfg.checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"generator.checkpoint={path} does not exist")
        state = load(path)
        generator.load_state_dict(state.get("generator", state))
        data_key = config_hash({"data": datamodule.identity()})
        # Keyed by content and data, so a file that changes or moves is measured anew.
        stem = f"user-{file_digest(path)[:16]}-{datamodule.name}-{data_key}"
        quality_anchor = cache_dir / "generators" / f"{stem}.pt"
    else:
        name = f"{label}-s{generator_cfg.seed}-{zoo_key(data_cfg, generator_cfg, device)}"
        path = quality_anchor = cache_dir / "generators" / f"{name}.pt"

        def train() -> dict:
            log.info("zoo: training %s (none cached at %s)", name, path)
            return _train(
                generator_cfg, datamodule, path, name, make_trainer, metrics_cfg, cache_dir, device
            )

        state, trained = build_once(path, train)
        generator.load_state_dict(state["generator"])
    generator = _frozen(generator).to(device)
    quality, _ = recorded_quality(
        generator,
        sidecar_path(quality_anchor, metrics_cfg, datamodule),
        datamodule,
        metrics_cfg,
        cache_dir,
        device,
    )
    seconds = time.perf_counter() - start
    log.info("zoo: %s %s in %.1f s", "trained" if trained else "loaded", path.name, seconds)
    return ZooEntry(generator, path, trained, seconds, quality)


def _train(
    generator_cfg,
    datamodule,
    path: Path,
    name: str,
    make_trainer,
    metrics_cfg,
    cache_dir: Path,
    device,
) -> dict:
    seed_everything(generator_cfg.seed, workers=True)
    generator = _build(generator_cfg.net, datamodule)
    discriminator = _build(generator_cfg.discriminator, datamodule)
    gan = instantiate(generator_cfg.train, generator=generator, discriminator=discriminator)
    curve = None
    if generator_cfg.curve_every:
        curve = QualityCurve(generator_cfg.curve_every, datamodule, metrics_cfg, cache_dir, device)
    seed_everything(generator_cfg.seed, workers=True)  # the curve's net must not move the RNG
    start = time.perf_counter()
    make_trainer(f"zoo {name}", [curve] if curve else []).fit(gan, datamodule)
    seconds = time.perf_counter() - start
    if curve:
        summary = {"name": name, "batch_size": datamodule.batch_size, **curve.summary()}
        atomic.write_json(summary, path.with_suffix(".curve.json"))
    meta = {
        "name": name,
        "config": json.dumps(OmegaConf.to_container(generator_cfg, resolve=True), sort_keys=True),
        "data": json.dumps(datamodule.identity(), sort_keys=True, default=str),
        "iterations": gan.iteration,
        "seconds": seconds,
        "seconds_curve": curve.evaluating if curve else 0.0,
        "torch": str(torch.__version__),
    }
    # back on the device (fit's teardown leaves it on the CPU, as run.py knows): the batch-norm
    # recalibration then draws the latents the curve's last point drew
    sampler = gan.to(device).sampling_generator()  # the EMA where the recipe keeps one
    atomic.save_png(Unconditional(sampler).grid(seed=0), path.with_suffix(".png"))
    state = {k: v.detach().cpu().contiguous() for k, v in sampler.state_dict().items()}
    return {"generator": state, "meta": meta}
