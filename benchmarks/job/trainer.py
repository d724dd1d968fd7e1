"""Building the Lightning trainer of a job: device choice with fallbacks, and progress."""

from __future__ import annotations

import functools
import logging
import sys
import warnings
from collections.abc import Sequence

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning import Callback, Trainer
from tqdm.auto import tqdm

from ganctrl.benchmarks.job.config import ConfigError

log = logging.getLogger(__name__)

# Lightning advertises a cloud logger on every Trainer; keep job logs to what the job did.
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
    lambda record: not str(record.msg).startswith("💡 Tip")
)

# Post-hoc methods hold the zoo's generator frozen in eval mode on purpose.
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")

GPU_ACCELERATORS = ("gpu", "cuda")

# How the harness runs a Trainer unless the user's trainer config says otherwise: until the
# method spends its own budget (see ControlMethod), one progress bar of our own, no validation.
HARNESS_DEFAULTS = {
    "max_epochs": -1,
    "enable_progress_bar": False,
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
    "limit_val_batches": 0,
}


def resolved_trainer_settings(trainer_cfg: DictConfig | dict) -> dict:
    """What the Trainer runs with: the harness's defaults under the user's trainer config, with
    GPU-only choices replaced when this machine cannot honour them (results.json records it)."""
    if isinstance(trainer_cfg, dict):
        return trainer_cfg  # resolved already
    settings = {**HARNESS_DEFAULTS, **OmegaConf.to_container(trainer_cfg, resolve=True)}
    accelerator = settings.get("accelerator", "auto")
    if accelerator in GPU_ACCELERATORS and not torch.cuda.is_available():
        log.warning(
            "trainer.accelerator=%s but CUDA is not available: running on the CPU", accelerator
        )
        settings.update(accelerator="cpu", devices=1, strategy="auto")
        accelerator = "cpu"
    precision = str(settings.get("precision", "32-true"))
    on_gpu = accelerator in GPU_ACCELERATORS or (
        accelerator == "auto" and torch.cuda.is_available()
    )
    if precision.startswith("bf16") and not (on_gpu and torch.cuda.is_bf16_supported()):
        fallback = "16-mixed" if on_gpu else "32-true"
        log.warning("trainer.precision=%s is not supported here: using %s", precision, fallback)
        settings["precision"] = fallback
    return settings


@functools.cache
def _torch_own_threads() -> int:
    """torch's count before any job set one: a multirun runs its jobs in one process, where the
    count a pinned job set would otherwise become the next null job's."""
    return torch.get_num_threads()


def pin_threads(cfg: DictConfig) -> int:
    """Run torch on `cfg.threads` CPU threads, writing torch's own count in where it is null, so
    the count is in the job's config, and so in its hash, whichever way it was chosen."""
    own = _torch_own_threads()
    if cfg.threads is None:
        cfg.threads = own
    elif cfg.threads < 1:
        raise ConfigError(
            f"threads={cfg.threads}: give a count of 1 or more, or null for "
            f"torch's own ({own} here)"
        )
    torch.set_num_threads(cfg.threads)
    return cfg.threads


def _uses_cuda(settings: dict) -> bool:
    accelerator = settings.get("accelerator", "auto")
    return accelerator in GPU_ACCELERATORS or (accelerator == "auto" and torch.cuda.is_available())


def job_device(trainer_cfg: DictConfig | dict) -> torch.device:
    """The device everything outside trainer.fit (zoo loading, sampling, metrics) runs on."""
    return torch.device("cuda" if _uses_cuda(resolved_trainer_settings(trainer_cfg)) else "cpu")


def process_count(trainer_cfg: DictConfig | dict) -> int:
    """How many training processes the settings start (devices per node × nodes)."""
    settings = resolved_trainer_settings(trainer_cfg)
    devices = settings.get("devices", "auto")
    if isinstance(devices, str) and devices not in ("auto", "-1"):
        devices = [d for d in devices.split(",") if d.strip()] if "," in devices else int(devices)
    if isinstance(devices, list | tuple):
        count = len(devices)
    elif devices in ("auto", "-1", -1):
        count = torch.cuda.device_count() if _uses_cuda(settings) else 1
    else:
        count = int(devices)
    return max(count, 1) * int(settings.get("num_nodes", 1))


class StepProgress(Callback):
    """One bar over the method's own iteration budget, with its latest losses."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def on_train_start(self, trainer, pl_module) -> None:
        interactive = sys.stderr.isatty()
        self.bar = tqdm(
            total=pl_module.steps,
            desc=self.label,
            unit="it",
            dynamic_ncols=True,
            mininterval=0.5 if interactive else 30.0,
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.bar.update(1)
        if batch_idx % 25 == 0:
            losses = {k: f"{float(v):.3f}" for k, v in trainer.progress_bar_metrics.items()}
            self.bar.set_postfix(losses, refresh=False)

    def on_train_end(self, trainer, pl_module) -> None:
        self.bar.close()


def build_trainer(
    trainer_cfg: DictConfig | dict, label: str, logger=False, callbacks: Sequence[Callback] = ()
) -> Trainer:
    """A trainer that runs until the method spends its own budget (see ControlMethod), with the
    user's callbacks, then the harness's own."""
    settings = dict(resolved_trainer_settings(trainer_cfg))
    users = [instantiate(c) for c in settings.pop("callbacks", None) or []]
    return instantiate(settings, logger=logger, callbacks=[*users, *callbacks, StepProgress(label)])
