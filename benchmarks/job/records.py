"""results.json: everything needed to trust, compare and regenerate one job's numbers, collected as
the job runs and written in the layout of benchmarks/job/schema.py."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ganctrl import atomic, faiss_search
from ganctrl.benchmarks.job import schema
from ganctrl.benchmarks.job.resume import job_hash

# run.generator of a method that neither steers nor trains a generator (k-means on pixels): its
# samples are training images, so its fidelity numbers are the real-data floor, not a score.
REAL_IMAGES = "real images"
_PACKAGES = (
    "ganctrl-bench",
    "torch",
    "torchvision",
    "pytorch-lightning",
    "hydra-core",
    "omegaconf",
    "torchmetrics",
    "faiss-cpu",
    "faiss-gpu",
    "numpy",
    "scikit-learn",
    "wandb",
)


def versions() -> dict[str, str | None]:
    found = {"python": platform.python_version()}
    for package in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    commit = _git("rev-parse", "HEAD")
    found["git_commit"] = commit and commit.strip()
    status = _git("status", "--porcelain")
    found["git_dirty"] = None if status is None else bool(status.strip())
    return found


def _git(*args: str) -> str | None:
    """A git command's output in the package's own checkout; None outside one (an install)."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout
    except (OSError, subprocess.SubprocessError):
        return None


def hardware(device: torch.device) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    info["faiss"] = faiss_search.backend()
    return info


class RunRecord:
    """Collects one job's facts as it goes; `write()` may be called at any point, atomically.
    Only the primary process of a multi-process (DDP) job writes."""

    def __init__(
        self,
        output_dir: Path,
        cfg: DictConfig,
        run: dict,
        device: torch.device,
        primary: bool = True,
    ):
        self.primary = primary
        self.path = Path(output_dir) / "results.json"
        self.started = time.perf_counter()
        config = OmegaConf.to_container(cfg, resolve=True)
        self.data = {
            "schema": schema.SCHEMA_VERSION,
            "status": "running",
            "run": {**run, "seed": cfg.seed},
            "config": config,
            "config_hash": job_hash(config),  # what a resumed sweep matches on
            "versions": versions(),
            "hardware": hardware(device),
            "seconds": {},
            "metrics": {},
            "artifacts": {},
        }

    @contextlib.contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.data["seconds"][name] = round(time.perf_counter() - start, 3)

    def write(self, status: str, error: str | None = None) -> None:
        if not self.primary:
            return
        self.data["status"] = status
        self.data["seconds"]["total"] = round(time.perf_counter() - self.started, 3)
        if error is not None:
            self.data["error"] = error
        schema.check(self.data, schema.Record, str(self.path))  # a wrong key fails here, not later
        atomic.write_json(self.data, self.path)
