"""results.json, defined once: the typed layout of one job's record, its version, and the checks
that every write and every read go through (docs/DESIGN.md, "Outputs").

A record is a `Record`; its nested parts are the TypedDicts below. `check` walks a record against
them: a missing key, a key no type declares, or a value of the wrong type is an error naming the
key's path. `Metric` is open: a family adds what explains its value (a floor, a chance level,
guards) beside the fields every metric has. Reading refuses a record of another schema version
with a message naming the file.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypedDict, Union

SCHEMA_VERSION = 2  # 2: each metric carries how it ranks (better, ranked_within)

Status = Literal["running", "ok", "failed"]
Number = Union[int, float]  # noqa: UP007 (a runtime alias, walked by `check`)


class _Run(TypedDict):
    method: str | None
    data: str | None
    generator: str | None
    trainer: str | None
    experiment: str | None
    seed: int


class Run(_Run, total=False):
    control: str  # the control type `controls()` returned


class Metric(TypedDict):
    value: Number | bool | None
    n: int
    feature_net: str
    seconds: Number
    seed: int
    family: str
    better: Literal["lower", "higher"] | None  # None: not ranked (a scale, a count)
    ranked_within: Literal["data", "generator"]  # rows compared: per data set or per generator


class Generator(TypedDict):
    path: str
    trained_here: bool
    quality: dict | None
    weights_hash: str


class _Record(TypedDict):
    schema: int
    status: Status
    run: Run
    config: dict
    config_hash: str
    code_version: str
    versions: dict
    hardware: dict
    seconds: dict[str, Number]
    metrics: dict[str, Metric]
    artifacts: dict[str, str]


class Record(_Record, total=False):
    trainer: dict  # the trainer settings that ran, after fallbacks
    generator: Generator  # the zoo generator a post-hoc method steered
    training: dict  # the method's `summary()`
    evaluation: dict  # the evaluation net's facts, the families' timings and passes
    error: str  # a failed job's error line


OPEN = (Metric,)  # may hold keys beyond those declared


class SchemaError(ValueError):
    """A results.json that does not follow this schema."""


def check(value: Any, kind: Any = Record, where: str = "results.json") -> None:
    """Raise SchemaError naming the first key of `value` that does not follow `kind`."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return
    if typing.is_typeddict(kind):
        _check_fields(value, kind, where)
    elif origin is Literal:
        if value not in typing.get_args(kind):
            raise SchemaError(f"{where}: {value!r} is not one of {typing.get_args(kind)}")
    elif origin in (Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return check(value, option, where)
            except SchemaError:
                continue
        raise SchemaError(f"{where}: {value!r} is none of {typing.get_args(kind)}")
    elif origin is dict:
        _expect(value, dict, where)
        _, item = typing.get_args(kind)
        for key, entry in value.items():
            _expect(key, str, f"{where} key")
            check(entry, item, f"{where}.{key}")
    elif kind is type(None):
        if value is not None:
            raise SchemaError(f"{where}: expected null, got {value!r}")
    else:
        _expect(value, kind, where)


def _expect(value: Any, kind: type, where: str) -> None:
    # isinstance(True, int) holds, but in a record a bool is never a count or a seed
    wrong_bool = isinstance(value, bool) and kind is not bool
    if wrong_bool or not isinstance(value, kind):
        raise SchemaError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """A TypedDict's fields and their types, resolved once (a record has a Metric per value)."""
    return typing.get_type_hints(kind)


def _check_fields(value: Any, kind: type, where: str) -> None:
    _expect(value, dict, where)
    hints = _hints(kind)
    missing = sorted(kind.__required_keys__ - set(value))
    if missing:
        raise SchemaError(f"{where}: missing {missing}")
    unknown = sorted(set(value) - set(hints))
    if unknown and kind not in OPEN:
        raise SchemaError(f"{where}: unknown keys {unknown}; declared: {sorted(hints)}")
    for key in hints.keys() & set(value):
        check(value[key], hints[key], f"{where}.{key}")


def read(path: Path) -> dict:
    """A results.json, checked: its schema version first, then its layout."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except ValueError as error:
        raise SchemaError(f"{path}: not JSON ({error})") from error
    version = record.get("schema") if isinstance(record, dict) else None
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{path}: results.json schema {version}, but this ganctrl reads schema "
            f"{SCHEMA_VERSION}: rerun the job (a sweep reruns it by itself) or read it with the "
            "ganctrl version that wrote it (its commit: versions.git_commit)"
        )
    check(record, Record, str(path))
    return record
