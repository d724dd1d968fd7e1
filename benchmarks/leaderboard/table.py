"""The leaderboard's table: finished records → one line per job and metric → mean ± std per row,
with each column's best marked by the facts each metric carries in results.json (`better`,
`ranked_within`: how its family declared it ranks; metrics/evaluate.py).

Rows of one method that differ in a setting (`method.sensor=pixels`) or in the metrics protocol
(`metrics.directions.rca_steps`) stay apart, labelled by the settings that differ; a seed never
splits a row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ganctrl.benchmarks.job import schema
from ganctrl.benchmarks.job.records import REAL_IMAGES
from ganctrl.cache import config_hash

# The pretrained generator a post-hoc row steered, as the zoo measured it: context, not a score,
# shown as the leaderboard's own family "generator", next to fidelity.
GENERATOR_QUALITY = ("fid", "precision", "recall")
GENERATOR_FAMILY = "generator"
# Metrics settings that choose what runs or how fast, not what a metric's value is.
_METRICS_KEYS_NOT_IN_ROW = {"metrics.families", "metrics.batch_size", "metrics.grid_seed"}


def read_records(folders: list[Path]) -> list[dict]:
    """Every results.json under `folders`, each checked against the schema (an unknown version
    is refused with a message naming the file), with its path."""
    records = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("results.json")):
            records.append({**schema.read(path), "path": str(path)})
    return records


def _without_seed(section: dict) -> dict:
    """A config section without its seeds, at any depth (IMLE's `clustering.seed`): a seed never
    splits a row (the bench ties the generator's seed to the job's, generator.seed=${seed}, so
    that one neither)."""
    return {
        k: _without_seed(v) if isinstance(v, dict) else v for k, v in section.items() if k != "seed"
    }


def _dotted(section: dict, prefix: str) -> dict:
    flat = {}
    for key, value in section.items():
        if isinstance(value, dict):
            flat |= _dotted(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _settings(record: dict) -> dict:
    """The method's settings without their seeds, as dotted keys (`clustering.layer`), and the
    metrics protocol's as `metrics.…` keys (less those that do not change a value): a job scored
    under another protocol (say `metrics.directions.rca_steps=12000`) is another row, never
    averaged into this one."""
    protocol = _dotted(record["config"].get("metrics", {}), "metrics.")
    return {
        **_dotted(_without_seed(record["config"]["method"]), ""),
        **{k: v for k, v in protocol.items() if k not in _METRICS_KEYS_NOT_IN_ROW},
    }


def row_labels(records: list[dict]) -> list[str]:
    """Each record's row name: the method, and the settings in which the records of that method
    on the same data and profile differ."""

    def group(record: dict) -> tuple:
        return record["run"]["method"], record["run"]["data"], record["run"].get("experiment")

    by_group: dict[tuple, list[dict]] = {}
    for record in records:
        by_group.setdefault(group(record), []).append(_settings(record))
    differing = {  # once per group: the settings in which its records differ
        key: sorted(
            k for k in set().union(*variants) if len({repr(v.get(k)) for v in variants}) > 1
        )
        for key, variants in by_group.items()
    }
    labels = []
    for record in records:
        settings = _settings(record)
        shown = ", ".join(f"{k}={settings.get(k)}" for k in differing[group(record)])
        labels.append(record["run"]["method"] + (f" [{shown}]" if shown else ""))
    return labels


def long_table(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one line per finished job and metric, one line per failed job)."""
    finished = [r for r in records if r.get("status") == "ok"]
    failed = [r for r in records if r.get("status") != "ok"]
    lines = []
    for record, label in zip(finished, row_labels(finished), strict=True):
        run = record["run"]
        key = config_hash(
            {
                "data": run["data"],
                "profile": run.get("experiment"),
                "generator": _without_seed(record["config"]["generator"]),
                "method": _settings(record),
            }
        )
        for metric, entry in {**record["metrics"], **_steered(record)}.items():
            if isinstance(entry.get("value"), (int, float)):
                lines.append(
                    {
                        "data": run["data"],
                        "generator": run["generator"],
                        "profile": run.get("experiment"),
                        "row": label,
                        "key": key,
                        "family": entry["family"],
                        "metric": metric,
                        "better": entry["better"],
                        "ranked_within": entry["ranked_within"],
                        "value": float(entry["value"]),
                        "seed": run["seed"],
                    }
                )
    failures = pd.DataFrame(
        [
            {
                "data": r["run"].get("data"),
                "method": r["run"].get("method"),
                "seed": r["run"].get("seed"),
                "status": r.get("status"),
                "error": (r.get("error") or "").splitlines()[:1],
                "path": r["path"],
            }
            for r in failed
        ]
    )
    lines = pd.DataFrame(lines)
    _check_one_ranking_per_metric(lines)
    return lines, failures


def _steered(record: dict) -> dict:
    """The steered generator's quality as metric entries of the unranked "generator" family."""
    quality = (record.get("generator") or {}).get("quality") or {}
    facts = {"family": GENERATOR_FAMILY, "better": None, "ranked_within": "data"}
    return {
        f"generator_{name}": {**quality[name], **facts}
        for name in GENERATOR_QUALITY
        if isinstance(quality.get(name), dict)
    }


def _check_one_ranking_per_metric(lines: pd.DataFrame) -> None:
    """Records that disagree on how a metric ranks come from code that changed its declaration:
    ranking them together would bold one direction's best under the other's rule."""
    if lines.empty:
        return
    facts = lines[["metric", "better", "ranked_within"]].astype(str).drop_duplicates()
    twice = sorted(facts.loc[facts["metric"].duplicated(), "metric"].unique())
    if twice:
        raise ValueError(
            f"results.json files disagree on how {twice} rank (their `better` or "
            "`ranked_within`): they were written by code that declared them differently; "
            "aggregate each code version's folders apart, or rerun the older jobs"
        )


def family_order(records: list[dict]) -> list[str]:
    """The metric families in the order the jobs ran them (each after those it needs), merged over
    every record; the generator's quality right after fidelity."""
    runs = [[f["family"] for f in (r.get("evaluation") or {}).get("families", [])] for r in records]
    before = {name: set() for run in runs for name in run}
    for run in runs:
        for first, then in zip(run, run[1:], strict=False):
            before[then].add(first)
    order = []
    while before:
        ready = sorted(name for name, needs in before.items() if not needs - set(order))
        name = ready[0] if ready else sorted(before)[0]  # records that disagree: by name
        order.append(name)
        del before[name]
    at = order.index("fidelity") + 1 if "fidelity" in order else 0
    return [*order[:at], GENERATOR_FAMILY, *order[at:]]


def summarise(lines: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof 1; NaN for one seed) and seed count per row and metric."""
    group = ["data", "generator", "profile", "row", "key", "family", "metric", "better"]
    group.append("ranked_within")
    stats = lines.groupby(group, dropna=False)["value"].agg(["mean", "std", "count"])
    return stats.rename(columns={"count": "seeds"}).reset_index()


def best_rows(summary: pd.DataFrame) -> pd.Series:
    """Whether each line holds its column's best mean among the lines it is compared with: its
    metric's rows on the same data set, or on the same data set and generator where the metric is
    ranked within a generator; never a metric that is not ranked, nor the fidelity of a row that
    samples real images (the floor)."""
    best = pd.Series(False, index=summary.index)
    floor = (summary["family"] == "fidelity") & (summary["generator"] == REAL_IMAGES)
    ranked = summary[~floor & summary["better"].notna()]
    scope = ranked["generator"].where(ranked["ranked_within"] == "generator", "")
    for _, part in ranked.groupby([ranked["data"], scope, ranked["metric"]]):
        if part["mean"].nunique() < 2:  # one row, or all tied (rows sharing a generator)
            continue
        lower = part["better"].iloc[0] == "lower"
        target = part["mean"].min() if lower else part["mean"].max()
        best[part.index[part["mean"] == target]] = True
    return best
