"""Sweep progress: before each job of a multirun, which job of how many it is and about how long
the rest will take (a Hydra callback, registered in conf/config.yaml).

The count is the sweeper's own: the sweep parameters of the config and the command line, parsed
and expanded (glob included) as the basic sweeper does. The estimate is the mean wall time of the
jobs that ran so far times the jobs left, less the time they spent training the zoo's generators:
each is trained once and then loaded from the cache, so a cold sweep's first job (often most of
its time) must not count as the price of every job to come; the line says that a generator still
to train comes on top. A resumed sweep's skipped jobs take seconds: they are counted apart and
kept out of the mean, and since jobs still to come may be skipped too, they make the estimate
high. Launchers that run jobs in other processes (joblib, submitit) send each a copy of the
callback as it was at the sweep's start: there a job knows its number and the total, not the
time left.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from ganctrl.benchmarks.job.resume import SKIPPED

log = logging.getLogger(__name__)


def sweep_size(arguments: list[str], config_loader=None) -> int:
    """How many jobs the basic sweeper makes of `arguments` (the sweeper's params first, then
    the command line, so a later value of a key replaces an earlier one)."""
    overrides = OverridesParser.create(config_loader=config_loader).parse_overrides(arguments)
    return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))


def sweep_arguments(config: DictConfig) -> list[str]:
    params = config.hydra.sweeper.get("params") or {}
    return [f"{key}={value}" for key, value in params.items()] + list(config.hydra.overrides.task)


def duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def progress_line(
    number: int,
    total: int | None,
    finished: list[float],
    skipped: int = 0,
    zoo_training: float = 0.0,
) -> str:
    """`number` counts from 1; `finished`: the wall seconds of the jobs that ran so far;
    `skipped`: how many jobs were skipped as already finished; `zoo_training`: the seconds of
    `finished` spent training generators for the zoo's cache."""
    line = f"sweep job {number} of {total if total else '?'}"
    if skipped:
        line += f"; {skipped} skipped"
    if finished:
        line += f"; {len(finished)} done in {duration(sum(finished))}"
        if total:
            left = max(0, total - number + 1) * (sum(finished) - zoo_training) / len(finished)
            line += f", about {duration(left)} left"
            if zoo_training:
                line += " and any generator still to train"
    return line


def zoo_training_seconds(job_return: JobReturn) -> float:
    """The seconds a job spent training its generator for the zoo (its record's
    `generator.trained_here`); 0 when it loaded one, trained none, or failed."""
    if job_return.status != JobStatus.COMPLETED:
        return 0.0
    value = job_return.return_value
    if not isinstance(value, dict) or not (value.get("generator") or {}).get("trained_here"):
        return 0.0
    return float((value.get("seconds") or {}).get("generator", 0.0))


def was_skipped(job_return: JobReturn) -> bool:
    """Whether the job returned an earlier run's finished record (`run` marks it)."""
    if job_return.status != JobStatus.COMPLETED:  # `return_value` of a failed job re-raises
        return False
    value = job_return.return_value
    return isinstance(value, dict) and bool(value.get(SKIPPED))


class SweepProgress(Callback):
    def __init__(self) -> None:
        self.total: int | None = None
        self.finished: list[float] = []
        self.skipped = 0
        self.zoo_training = 0.0
        self.job_start: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.total = sweep_size(sweep_arguments(config), GlobalHydra.instance().config_loader())
        log.info("sweep of %d jobs", self.total)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        self.job_start = time.perf_counter()
        overrides = " ".join(config.hydra.overrides.task)
        line = progress_line(
            config.hydra.job.num + 1, self.total, self.finished, self.skipped, self.zoo_training
        )
        log.info("%s: %s", line, overrides)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if self.job_start is None:
            return
        if was_skipped(job_return):
            self.skipped += 1
        else:
            self.finished.append(time.perf_counter() - self.job_start)
            self.zoo_training += zoo_training_seconds(job_return)
        self.job_start = None
