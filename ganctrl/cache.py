"""Build-once artifacts on disk: atomic writes and a file lock, shared by every cache we keep.

The generator zoo, the evaluation nets and the real-set feature statistics all follow one rule:
the first process to need an artifact builds it while holding `<path>.lock`; others wait, then
load. A file appears under its final name only once complete (write to a temp name, then
`os.replace`), so a crash never leaves a half-written artifact that later jobs would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from filelock import FileLock


def config_hash(obj) -> str:
    """A short, stable hash of a JSON-serialisable description."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_path(path: Path) -> Path:
    """A temporary sibling of `path` to write into before `os.replace(tmp, path)`."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def save_atomically(obj, path: Path) -> None:
    tmp = atomic_path(path)
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_png_atomically(picture: torch.Tensor, path: Path) -> None:
    """A (3, H, W) picture in [0, 1] to a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    torchvision.utils.save_image(picture, tmp, format="png")
    os.replace(tmp, path)


def write_json_atomically(data: dict, path: Path) -> None:
    tmp = atomic_path(path)
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


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
        save_atomically(artifact, path)
        return artifact, True
