"""Sweep progress: before each job of a multirun, which job of how many it is and about how long
the rest will take (a Hydra callback, registered in conf/config.yaml).

The count is the sweeper's own: the sweep parameters of the config and the command line, parsed
and expanded (glob included) as the basic sweeper does. The estimate is the mean wall time of the
jobs finished so far times the jobs left; a resumed sweep's skipped jobs take seconds and pull it
down until real jobs have run. Launchers that run jobs in other processes (joblib, submitit)
send each a copy of the callback as it was at the sweep's start: there a job knows its number and
the total, not the time left.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

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


def progress_line(number: int, total: int | None, finished: list[float]) -> str:
    """`number` counts from 1; `finished`: the wall seconds of the jobs done so far."""
    line = f"sweep job {number} of {total if total else '?'}"
    if finished:
        line += f"; {len(finished)} done in {duration(sum(finished))}"
        if total:
            left = max(0, total - number + 1) * sum(finished) / len(finished)
            line += f", about {duration(left)} left"
    return line


class SweepProgress(Callback):
    def __init__(self) -> None:
        self.total: int | None = None
        self.finished: list[float] = []
        self.job_start: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.total = sweep_size(sweep_arguments(config), GlobalHydra.instance().config_loader())
        log.info("sweep of %d jobs", self.total)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        self.job_start = time.perf_counter()
        overrides = " ".join(config.hydra.overrides.task)
        log.info("%s: %s", progress_line(config.hydra.job.num + 1, self.total, self.finished),
                 overrides)  # fmt: skip

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self.job_start is not None:
            self.finished.append(time.perf_counter() - self.job_start)
            self.job_start = None
