"""The generator zoo: one unconditional GAN per (data, backbone, budget, generator seed).

The first job that needs a generator trains it (the `UnconditionalGAN` recipe in
`generator.train`) and caches it under `${paths.cache}/generators/`; every later job loads it.
Parallel jobs asking for the same key wait on a file lock instead of training twice. A user's
own file is taken with `generator.checkpoint=PATH` (a state_dict, or a zoo file).
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
from ganctrl.cache import build_once, code_version, config_hash, load

log = logging.getLogger(__name__)

# Settings that change where data lives or how fast it loads, not what the generator learns.
_DATA_KEYS_NOT_IN_KEY = {"root", "download", "num_workers"}
_CODE_NODES = ("net", "discriminator", "train")  # generator nodes whose code shapes the weights


@dataclass
class ZooEntry:
    generator: nn.Module
    path: Path | None
    trained: bool  # whether this call trained it (False: loaded from cache or a user's file)
    seconds: float


def zoo_key(data_cfg: DictConfig, generator_cfg: DictConfig) -> str:
    """A hash of everything that decides the trained generator's weights: the data and generator
    configs, and the code of the data set, both networks and the training recipe."""
    data = {
        k: v
        for k, v in OmegaConf.to_container(data_cfg, resolve=True).items()
        if k not in _DATA_KEYS_NOT_IN_KEY
    }
    gen = OmegaConf.to_container(generator_cfg, resolve=True)
    gen.pop("checkpoint", None)
    targets = [data_cfg._target_, *(generator_cfg[k]._target_ for k in _CODE_NODES)]
    code = code_version(*map(get_class, targets))
    return config_hash({"data": data, "generator": gen, "code": code})


def _build(node: DictConfig, datamodule) -> nn.Module:
    channels, image_size, _ = datamodule.image_shape
    return instantiate(node, channels=channels, image_size=image_size)


def _frozen(generator: nn.Module) -> nn.Module:
    return generator.eval().requires_grad_(False)


def pretrained(
    generator_cfg: DictConfig,
    data_cfg: DictConfig,
    datamodule,
    cache_dir: str | Path,
    label: str,
    make_trainer: Callable[[str], object],
) -> ZooEntry:
    """The frozen generator for this (data, backbone, recipe, seed), trained at most once."""
    start = time.perf_counter()
    generator = _build(generator_cfg.net, datamodule)
    if generator_cfg.checkpoint:
        path = Path(generator_cfg.checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"generator.checkpoint={path} does not exist")
        state = load(path)
        generator.load_state_dict(state.get("generator", state))
        return ZooEntry(_frozen(generator), path, False, time.perf_counter() - start)

    name = f"{label}-s{generator_cfg.seed}-{zoo_key(data_cfg, generator_cfg)}"
    path = Path(cache_dir).expanduser() / "generators" / f"{name}.pt"

    def train() -> dict:
        log.info("zoo: training %s (none cached at %s)", name, path)
        return _train(generator_cfg, data_cfg, datamodule, path, name, make_trainer)

    state, trained = build_once(path, train)
    generator.load_state_dict(state["generator"])
    seconds = time.perf_counter() - start
    log.info("zoo: %s %s in %.1f s", "trained" if trained else "loaded", path.name, seconds)
    return ZooEntry(_frozen(generator), path, trained, seconds)


def _train(generator_cfg, data_cfg, datamodule, path: Path, name: str, make_trainer) -> dict:
    seed_everything(generator_cfg.seed, workers=True)
    generator = _build(generator_cfg.net, datamodule)
    discriminator = _build(generator_cfg.discriminator, datamodule)
    gan = instantiate(generator_cfg.train, generator=generator, discriminator=discriminator)
    start = time.perf_counter()
    make_trainer(f"zoo {name}").fit(gan, datamodule)
    meta = {
        "name": name,
        "config": json.dumps(OmegaConf.to_container(generator_cfg, resolve=True), sort_keys=True),
        "data": json.dumps(OmegaConf.to_container(data_cfg, resolve=True), sort_keys=True),
        "iterations": gan.iteration,
        "seconds": time.perf_counter() - start,
        "torch": str(torch.__version__),
    }
    atomic.save_png(gan.controls().grid(seed=0), path.with_suffix(".png"))
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    return {"generator": state, "meta": meta}
