"""Atomic writes: a file appears under its final name only once complete.

Each writer writes to a temporary sibling, then `os.replace`s it onto the final name, so a crash
or a kill never leaves a half-written file that a later job would trust.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torchvision


def temporary_sibling(path: Path) -> Path:
    """A temporary sibling of `path` to write into before `os.replace(tmp, path)`."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def save_torch(obj, path: Path) -> None:
    """`torch.save` of tensors, numbers, strings, lists and dicts (weights_only-loadable)."""
    tmp = temporary_sibling(path)
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_png(picture: torch.Tensor, path: Path) -> None:
    """A (3, H, W) picture in [0, 1] to a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    torchvision.utils.save_image(picture, tmp, format="png")
    os.replace(tmp, path)


def save_figure(figure, path: Path, dpi: int) -> None:
    """A matplotlib figure to a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    figure.savefig(tmp, dpi=dpi, format="png")
    os.replace(tmp, path)


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
