"""Resuming a sweep: a job whose folder already holds finished results of the same resolved config
is skipped; a job whose config changed is rerun, and the old results are kept beside the new.

A config is what decides a job's numbers: every resolved key but where the job writes and how
it is logged (`VOLATILE`). Code is not part of it: a change of code is not detected (each
record's `versions.git_commit` says which code made it).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ganctrl.cache import config_hash

log = logging.getLogger(__name__)

VOLATILE = ("paths", "logger")  # where a job's files go and where its curves are sent
SKIPPED = "skipped"  # marks the record a skipped job returns (never written to results.json)


def job_hash(config: dict) -> str:
    """The hash of a job's resolved config without its `VOLATILE` keys."""
    return config_hash({key: value for key, value in config.items() if key not in VOLATILE})


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # absent, or not a record
        return None


def finished_record(output_dir: Path, digest: str) -> dict | None:
    """The folder's results.json if it is finished ("ok") and of the config `digest`."""
    record = _read(Path(output_dir) / "results.json")
    if record and record.get("status") == "ok" and record.get("config_hash") == digest:
        return record
    return None


def keep_replaced(output_dir: Path, digest: str) -> Path | None:
    """A finished results.json of another config is renamed results.<its hash>.json, out of the
    leaderboard's way (it reads results.json only) but not lost. Returns the new path."""
    path = Path(output_dir) / "results.json"
    record = _read(path)
    if not record or record.get("status") != "ok" or record.get("config_hash") == digest:
        return None
    kept = path.with_name(f"results.{record.get('config_hash') or 'unhashed'}.json")
    os.replace(path, kept)
    log.warning("%s: the config changed since its finished run; rerunning, the old results "
                "kept as %s", output_dir, kept.name)  # fmt: skip
    return kept
