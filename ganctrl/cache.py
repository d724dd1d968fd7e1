"""Build-once artifacts on disk, shared by every cache we keep.

The generator zoo, the evaluation nets and the real-set feature statistics all follow one rule:
the first process to need an artifact builds it while holding `<path>.lock`; others wait, then
load. The artifact is written atomically (ganctrl/atomic.py), so a crash never leaves a
half-written file that later jobs would trust.

A key hashes the config that decides an artifact *and* `code_version` of the code that builds
it, so a changed backbone, training recipe, renderer or evaluation net rebuilds instead of
loading a stale file whose state_dict happens to fit.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import json
import types
from collections.abc import Callable
from pathlib import Path

import torch
from filelock import FileLock

from ganctrl import atomic


def training_hardware(device: torch.device | str) -> dict:
    """For the key of an artifact that is trained: what it trains on. Float sums split by CPU
    thread and differ between a CPU and each GPU model, and training amplifies the last-bit
    differences into other weights."""
    hardware = {"threads": torch.get_num_threads()}
    device = torch.device(device)
    if device.type == "cuda":
        hardware["device"] = torch.cuda.get_device_name(device)
    elif device.type != "cpu":
        hardware["device"] = device.type
    return hardware


def config_hash(obj) -> str:
    """A short, stable hash of a JSON-serialisable description."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


@functools.cache
def _imports(name: str) -> frozenset[str]:
    """The modules of this package that module `name` imports, anywhere in its source."""
    found = set()
    for node in ast.walk(ast.parse(_source(name))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # may be modules
    return frozenset(m for m in found if m.startswith("ganctrl.") and _is_module(m))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name imported from a module, not a module itself
        return False


@functools.cache
def _source(name: str) -> str:
    return Path(importlib.util.find_spec(name).origin).read_text()


def _our_modules(name: str) -> set[str]:
    """Module `name` and every module of this package it reaches through its imports."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(_imports(current))
    return seen


@functools.cache
def _code(name: str) -> str:
    """Module `name`'s code as its syntax tree: what it does, not how it is laid out, so that
    a comment or the formatter never rebuilds an artifact."""
    return ast.dump(ast.parse(_source(name)))


def code_version(*objects) -> str:
    """A hash of the code of the modules defining `objects` (classes, functions or modules)
    and of every module of ours they import, by module name: it changes whenever that code
    does, or moves."""
    names = set()
    for obj in objects:
        module = obj if isinstance(obj, types.ModuleType) else inspect.getmodule(obj)
        names |= _our_modules(module.__name__)
    return config_hash({name: config_hash(_code(name)) for name in sorted(names)})


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
