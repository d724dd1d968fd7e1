"""Build-once artifacts on disk, shared by every cache we keep.

The generator zoo, the evaluation nets and the real-set feature statistics all follow one rule:
the first process to need an artifact builds it while holding `<path>.lock`; others wait, then
load. The artifact is written atomically (ganctrl/atomic.py), so a crash never leaves a
half-written file that later jobs would trust.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from filelock import FileLock

from ganctrl import atomic


def config_hash(obj) -> str:
    """A short, stable hash of a JSON-serialisable description."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def build_once(path: Path, build: Callable[[], dict]) -> tuple[dict, bool]:
    """The artifact at `path`, built by `build()` (and saved) if no process has yet.

    Returns (artifact, built_here). `build` must return what `torch.load(weights_only=True)`
    can read back: tensors, numbers, strings, lists and dicts of them.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return load(path), False
        artifact = build()
        atomic.save_torch(artifact, path)
        return artifact, True
