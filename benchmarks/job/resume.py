"""Resuming a sweep: a job whose folder already holds finished results of the same resolved config
is skipped; a job whose config changed is rerun, and the old results are kept beside the new.

A config is what decides a job's numbers: every resolved key but where the job writes and how
it is logged (`VOLATILE`). Code is not part of it, since a comment's edit would rerun every job;
instead each record holds the hash of the code its job ran (`job_code_version`), and a skipped
job whose record names other code is reported (`code_drift`), never passed over in silence.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from hydra.utils import get_object

from ganctrl.benchmarks.job.schema import SCHEMA_VERSION
from ganctrl.cache import code_version, config_hash

log = logging.getLogger(__name__)

VOLATILE = ("paths", "logger")  # where a job's files go and where its curves are sent
SKIPPED = "skipped"  # marks the record a skipped job returns (never written to results.json)


def job_hash(config: dict) -> str:
    """The hash of a job's resolved config without its `VOLATILE` keys."""
    return config_hash({key: value for key, value in config.items() if key not in VOLATILE})


def targets(config) -> Iterator[str]:
    """Every `_target_` in a resolved config, at any depth."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "_target_" and isinstance(value, str):
                yield value
            else:
                yield from targets(value)
    elif isinstance(config, list):
        for value in config:
            yield from targets(value)


def job_code_version(config: dict, *entry_points) -> str:
    """The hash of the source of every module of ours a job runs: those defining the config's
    `_target_`s and the `entry_points` (the job runner), with all they import."""
    ours = sorted({name for name in targets(config) if name.startswith("ganctrl.")})
    return code_version(*map(get_object, ours), *entry_points)


def code_drift(finished: dict, version: str, commit: str | None) -> str | None:
    """Why a finished record may not hold what the code of `version` (at git `commit`) would
    compute, or None when its `code_version` is `version`."""
    if finished["code_version"] == version:
        return None
    made = finished["versions"].get("git_commit")
    at = f"at commit {made[:12]}" if made else "at an unknown commit"
    reason = f"its results were made by other code ({at}"
    if made and commit and made != commit:
        reason += f"; `git diff --stat {made[:12]} {commit[:12]}` says what changed"
    reason += ")"
    return f"{reason}; delete the folder to rerun it with this code"


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # absent, or not a record
        return None


def _finished(record: dict | None) -> bool:
    """Finished ("ok") and written in this code's schema: an older layout is rerun, not read."""
    return bool(record) and record.get("status") == "ok" and record.get("schema") == SCHEMA_VERSION


def finished_record(output_dir: Path, digest: str) -> dict | None:
    """The folder's results.json if it is finished and of the config `digest`."""
    record = _read(Path(output_dir) / "results.json")
    return record if _finished(record) and record.get("config_hash") == digest else None


def keep_replaced(output_dir: Path, digest: str) -> Path | None:
    """A finished results.json of another config, or of this config in an older schema, is
    renamed results.<its hash>.json (results.<hash>.schema<version>.json), out of the
    leaderboard's way (it reads results.json only) but not lost. Returns the new path."""
    path = Path(output_dir) / "results.json"
    record = _read(path)
    if not record or record.get("status") != "ok":
        return None
    name = record.get("config_hash") or "unhashed"
    if record.get("config_hash") != digest:
        why = "the config changed since its finished run"
    elif not _finished(record):
        name += f".schema{record.get('schema')}"
        why = f"its results.json is in schema {record.get('schema')}, not {SCHEMA_VERSION}"
    else:
        return None
    kept = path.with_name(f"results.{name}.json")
    os.replace(path, kept)
    log.warning("%s: %s; rerunning, the old results kept as %s", output_dir, why, kept.name)
    return kept
