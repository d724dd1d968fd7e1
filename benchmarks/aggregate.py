"""The leaderboard: every results.json under one or more sweep folders, one row per (data,
generator, profile, method and its settings), mean ± std over seeds (docs/DESIGN.md, "Outputs").

    python -m ganctrl.benchmarks.aggregate FOLDER [FOLDER ...] --out results/

writes leaderboard.csv (one line per row and metric: mean, std, seeds), leaderboard.md (a table
per data set and metric family, the best mean of each column in bold, failed jobs listed with
their error) and leaderboard.html (the same with bar plots and each row's pictures, one
self-contained file: benchmarks/leaderboard_html.py), and jobs.csv (one line per job: its row,
seed, status, code and seconds per stage, the ledger of a sweep's time); with --wandb-project, a
wandb run holding the leaderboard as a Table. Rows of one method that differ in a
setting (`method.sensor=pixels`) or in the metrics protocol (`metrics.directions.rca_steps`)
stay apart, labelled by the settings that differ; a seed never splits a row.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ganctrl import atomic
from ganctrl.benchmarks import leaderboard_html
from ganctrl.benchmarks.records import REAL_IMAGES
from ganctrl.cache import config_hash

# Where lower is better; every other metric is better higher. Columns without an order (edit
# scales, image change, counts of images) are listed in UNRANKED and never marked best.
LOWER_IS_BETTER = ("fid", "kid", "ppl_standard", "ppl_directions", "ppl_directions_calibrated")
# The pretrained generator a post-hoc row steered, as the zoo measured it: context, not a score.
GENERATOR_QUALITY = ("fid", "precision", "recall")
UNRANKED = ("edit_scale", "image_change", "latent_spread_ratio",
            *(f"generator_{name}" for name in GENERATOR_QUALITY))  # fmt: skip
# Scores of a generator's latent space: comparable only between rows steering the same generator.
PER_GENERATOR = ("path_length", "directions", "disentanglement")
# Metrics settings that choose what runs or how fast, not what a metric's value is.
_METRICS_KEYS_NOT_IN_ROW = {"metrics.families", "metrics.batch_size", "metrics.grid_seed"}
NOTE = ("Mean ± std over seeds (seeds in the last column); the best mean of each column per "
        "data set in bold, per data set and generator in the " + ", ".join(PER_GENERATOR)
        + " tables, whose scores describe one generator's latent space; a column where all "
        "rows tie has none (lower is better for "
        + ", ".join(LOWER_IS_BETTER) + "; " + ", ".join(UNRANKED) + " are not ranked). Rows "
        f"whose generator is '{REAL_IMAGES}' sample training images: their fidelity is the "
        "real-data floor, shown but not ranked. Within a data set every column was computed "
        "with the same evaluation net and n: the section on networks at the end names its "
        "weights and the steered generators', and any network whose jobs used different "
        "ones.")  # fmt: skip
FAMILY_ORDER = ("fidelity", "generator", "clusters", "exemplars", "path_length", "directions",
                "disentanglement")  # fmt: skip


def read_records(folders: list[Path]) -> list[dict]:
    records = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("results.json")):
            record = json.loads(path.read_text())
            record["path"] = str(path)
            records.append(record)
    return records


def _without_seed(section: dict) -> dict:
    """A config section without its seed: a seed never splits a row (the bench ties the
    generator's seed to the job's, generator.seed=${seed}, so that one neither)."""
    return {k: v for k, v in section.items() if k != "seed"}


def _dotted(section: dict, prefix: str) -> dict:
    flat = {}
    for key, value in section.items():
        if isinstance(value, dict):
            flat |= _dotted(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _settings(record: dict) -> dict:
    """The method's settings without its seed, and the metrics protocol's as `metrics.…` keys
    (less those that do not change a value): a job scored under another protocol (say
    `metrics.directions.rca_steps=12000`) is another row, never averaged into this one."""
    protocol = _dotted(record["config"].get("metrics", {}), "metrics.")
    return {**_without_seed(record["config"]["method"]),
            **{k: v for k, v in protocol.items() if k not in _METRICS_KEYS_NOT_IN_ROW}}  # fmt: skip


def row_labels(records: list[dict]) -> list[str]:
    """Each record's row name: the method, and the settings in which the records of that method
    on the same data and profile differ."""

    def group(record: dict) -> tuple:
        return record["run"]["method"], record["run"]["data"], record["run"].get("experiment")

    by_group: dict[tuple, list[dict]] = {}
    for record in records:
        by_group.setdefault(group(record), []).append(_settings(record))
    differing = {  # once per group: the settings in which its records differ
        key: sorted(k for k in set().union(*variants)
                    if len({repr(v.get(k)) for v in variants}) > 1)
        for key, variants in by_group.items()
    }  # fmt: skip
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
        key = config_hash({"data": run["data"], "profile": run.get("experiment"),
                           "generator": _without_seed(record["config"]["generator"]),
                           "method": _settings(record)})  # fmt: skip
        quality = (record.get("generator") or {}).get("quality") or {}
        steered = {f"generator_{name}": {**quality[name], "family": "generator"}
                   for name in GENERATOR_QUALITY
                   if isinstance(quality.get(name), dict)}  # fmt: skip
        for metric, entry in {**record["metrics"], **steered}.items():
            if isinstance(entry.get("value"), (int, float)):
                lines.append({"data": run["data"], "generator": run["generator"],
                              "profile": run.get("experiment"), "row": label, "key": key,
                              "family": entry.get("family", ""), "metric": metric,
                              "value": float(entry["value"]), "seed": run["seed"]})  # fmt: skip
    failures = pd.DataFrame([{"data": r["run"].get("data"), "method": r["run"].get("method"),
                              "seed": r["run"].get("seed"), "status": r.get("status"),
                              "error": (r.get("error") or "").splitlines()[:1], "path": r["path"]}
                             for r in failed])  # fmt: skip
    return pd.DataFrame(lines), failures


def _commit(record: dict) -> str:
    """The git commit a job ran at (short), and whether the tree held uncommitted changes."""
    versions = record.get("versions") or {}
    commit = (versions.get("git_commit") or "")[:12] or "unknown (an install)"
    return commit + (" + uncommitted changes" if versions.get("git_dirty") else "")


def job_table(records: list[dict]) -> pd.DataFrame:
    """One line per job: where it ran (data, row, generator, seed), how it ended, the code behind
    it (commit, `code_version`) and its seconds per stage (`seconds` in results.json: data,
    generator, fit, samples, evaluate, total): the ledger every timing in a bench report is read
    from, kept beside the leaderboard so that it outlives the sweep folder."""
    finished = [r for r in records if r.get("status") == "ok"]
    labels = {id(r): label for r, label in zip(finished, row_labels(finished), strict=True)}
    jobs = pd.DataFrame([{"data": r["run"].get("data"),
                          "row": labels.get(id(r), r["run"].get("method")),
                          "generator": r["run"].get("generator"), "seed": r["run"].get("seed"),
                          "status": r.get("status"), "commit": _commit(r),
                          "code_version": r.get("code_version"),
                          **_weights(r), "path": r["path"],
                          **{f"seconds_{stage}": value
                             for stage, value in (r.get("seconds") or {}).items()}}
                         for r in records])  # fmt: skip
    return jobs.sort_values(["data", "row", "generator", "seed"], kind="stable")


NOT_RECORDED = "not recorded"


def _weights(record: dict) -> dict:
    """The networks a job's numbers depend on, beyond its own: the evaluation net that scored it
    and the zoo generator a post-hoc job steered, each with a hash of its weights."""
    net = (record.get("evaluation") or {}).get("feature_net") or {}
    steered = record.get("generator")
    return {"evaluation_net": net.get("name"),
            "evaluation_net_weights": (net.get("weights_hash") or NOT_RECORDED) if net else None,
            "generator_weights": (steered.get("weights_hash") or NOT_RECORDED)
                                 if isinstance(steered, dict) else None}  # fmt: skip


def networks(jobs: pd.DataFrame) -> pd.DataFrame:
    """The finished jobs per data set, network and weights hash. A net the harness trains (an
    evaluation net, a zoo generator) has one name and cache key wherever it is trained, but not
    one set of weights (float sums in another order on another CPU), so a sweep resumed on
    another machine may score or steer its jobs with two."""
    finished = jobs[jobs["status"] == "ok"]
    parts = [finished.assign(network="evaluation net " + finished["evaluation_net"],
                             weights=finished["evaluation_net_weights"]),
             finished.assign(network="generator " + finished["generator"],
                             weights=finished["generator_weights"])]  # fmt: skip
    known = pd.concat(parts).dropna(subset=["weights"])
    return known.groupby(["data", "network", "weights"]).size().rename("jobs").reset_index()


class Provenance(NamedTuple):
    """What made the numbers: the finished jobs per commit, the jobs of rows whose seeds ran
    different code, and the finished jobs per data set and network weights (`networks`)."""

    commits: pd.DataFrame
    mixed_code: pd.DataFrame
    networks: pd.DataFrame

    @property
    def mixed_networks(self) -> list[str]:
        """'data: network' for each network seen with two weights hashes or more."""
        twice = self.networks[self.networks.duplicated(["data", "network"])]
        return sorted(set(twice["data"] + ": " + twice["network"]))


def code_provenance(jobs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the finished jobs per commit that made them; the jobs of rows whose seeds ran different
    code). Code is the record's `code_version`, or its commit where it predates them, so a row
    mixing the two is listed too: nothing says its seeds ran the same code."""
    finished = jobs[jobs["status"] == "ok"]
    code = finished["code_version"].fillna(finished["commit"])
    commits = finished.groupby("commit", sort=True).size().rename("jobs").reset_index()
    by_row = finished.assign(code=code).groupby(["data", "row", "generator"])
    mixed = by_row.filter(lambda row: row["code"].nunique() > 1)
    return commits, mixed[["data", "row", "generator", "seed", "commit"]]


def stage_minutes(jobs: pd.DataFrame) -> dict[str, float]:
    """Minutes summed over the finished jobs, per stage of a job and in all (`total`), largest
    first."""
    stages = [column for column in jobs if column.startswith("seconds_")]
    minutes = jobs.loc[jobs["status"] == "ok", stages].sum(min_count=1).dropna() / 60
    return {stage.removeprefix("seconds_"): value for stage, value in
            minutes.sort_values(ascending=False).items()}  # fmt: skip


def row_pictures(records: list[dict]) -> dict[tuple, dict[str, str]]:
    """(data, row, generator) → {picture name: PNG path} from the row's lowest-seed finished job."""
    finished = [r for r in records if r.get("status") == "ok"]
    chosen: dict[tuple, dict] = {}
    for record, label in zip(finished, row_labels(finished), strict=True):
        key = (record["run"]["data"], label, record["run"]["generator"])
        if key not in chosen or record["run"]["seed"] < chosen[key]["run"]["seed"]:
            chosen[key] = record
    out = {}
    for key, record in chosen.items():
        folder = Path(record["path"]).parent
        found = {name: str(folder / record["artifacts"][name]) for name in
                 leaderboard_html.PICTURES if name in record.get("artifacts", {})}  # fmt: skip
        out[key] = {name: path for name, path in found.items() if Path(path).is_file()}
    return out


def ordered_families(summary: pd.DataFrame) -> list[str]:
    return sorted(summary["family"].unique(), key=lambda f: (
        FAMILY_ORDER.index(f) if f in FAMILY_ORDER else len(FAMILY_ORDER), f))  # fmt: skip


def summarise(lines: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof 1; NaN for one seed) and seed count per row and metric."""
    group = ["data", "generator", "profile", "row", "key", "family", "metric"]
    stats = lines.groupby(group, dropna=False)["value"].agg(["mean", "std", "count"])
    return stats.rename(columns={"count": "seeds"}).reset_index()


def best_rows(summary: pd.DataFrame) -> pd.Series:
    """Whether each line holds its column's best mean among the lines it is compared with (NOTE)."""
    best = pd.Series(False, index=summary.index)
    floor = (summary["family"] == "fidelity") & (summary["generator"] == REAL_IMAGES)
    ranked = summary[~floor & ~summary["metric"].isin(UNRANKED)]
    scope = ranked["generator"].where(ranked["family"].isin(PER_GENERATOR), "")
    for _, part in ranked.groupby([ranked["data"], scope, ranked["metric"]]):
        if part["mean"].nunique() < 2:  # one row, or all tied (rows sharing a generator)
            continue
        metric = part["metric"].iloc[0]
        target = part["mean"].min() if metric in LOWER_IS_BETTER else part["mean"].max()
        best[part.index[part["mean"] == target]] = True
    return best


def _cell(mean: float, std: float, best: bool) -> str:
    text = f"{mean:.3f}" if pd.isna(std) else f"{mean:.3f} ± {std:.3f}"
    return f"**{text}**" if best else text


def markdown(summary: pd.DataFrame, failures: pd.DataFrame,
             provenance: Provenance) -> str:  # fmt: skip
    summary = summary.assign(best=best_rows(summary))
    out = ["# Leaderboard", "", NOTE, ""]
    for data, by_data in summary.groupby("data"):
        for family in ordered_families(summary):
            part = by_data[by_data["family"] == family]
            if part.empty:
                continue
            metrics = sorted(part["metric"].unique())
            out += [f"## {data}: {family or 'other'}", "",
                    "| row | generator | " + " | ".join(metrics) + " | seeds |",
                    "|---" * (len(metrics) + 3) + "|"]  # fmt: skip
            for (row, generator), cells in part.groupby(["row", "generator"]):
                values = {m: _cell(c["mean"], c["std"], c["best"]) for m, c in
                          cells.set_index("metric").iterrows()}  # fmt: skip
                out.append(f"| {row} | {generator} | "
                           + " | ".join(values.get(m, "") for m in metrics)
                           + f" | {int(cells['seeds'].max())} |")  # fmt: skip
            out.append("")
    if not failures.empty:
        out += ["## Jobs without results (failed, or still running)", "",
                "| data | method | seed | status | error |", "|---|---|---|---|---|"]  # fmt: skip
        for _, f in failures.iterrows():
            out.append(f"| {f['data']} | {f['method']} | {f['seed']} | {f['status']} | "
                       f"{' '.join(f['error'])} |")  # fmt: skip
        out.append("")
    out += [f"## {leaderboard_html.CODE_HEADING}", "", *_markdown_table(provenance.commits)]
    if not provenance.mixed_code.empty:
        out += [leaderboard_html.MIXED_NOTE, "", *_markdown_table(provenance.mixed_code)]
    out += [f"## {leaderboard_html.NETS_HEADING}", "", *_markdown_table(provenance.networks)]
    if provenance.mixed_networks:
        out += [leaderboard_html.MIXED_NETS_NOTE, ""]
    return "\n".join(out)


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    rows = [" | ".join(map(str, values)) for values in frame.itertuples(index=False)]
    return ["| " + " | ".join(frame.columns) + " |", "|---" * len(frame.columns) + "|",
            *(f"| {row} |" for row in rows), ""]  # fmt: skip


def _write(text: str, path: Path) -> None:
    tmp = atomic.temporary_sibling(path)
    tmp.write_text(text)
    os.replace(tmp, path)


def log_to_wandb(summary: pd.DataFrame, project: str, out: Path) -> None:
    """One wandb run (job type "leaderboard") holding the summary as a Table."""
    import wandb

    mode = os.environ.get("WANDB_MODE", "offline")
    run = wandb.init(project=project, job_type="leaderboard", dir=out, mode=mode)
    run.log({"leaderboard": wandb.Table(dataframe=summary)})
    run.finish()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="sweep or run folders to read")
    parser.add_argument("--out", type=Path, default=Path("results"), help="where to write")
    parser.add_argument(
        "--wandb-project",
        help="also log the leaderboard as a wandb Table there "
        "(offline unless WANDB_MODE=online; `wandb sync` uploads it later)",
    )
    args = parser.parse_args(argv)
    records = read_records(args.folders)
    if not records:
        raise SystemExit(f"no results.json under {', '.join(map(str, args.folders))}")
    lines, failures = long_table(records)
    summary = summarise(lines) if not lines.empty else lines
    args.out.mkdir(parents=True, exist_ok=True)
    _write(summary.to_csv(index=False), args.out / "leaderboard.csv")
    jobs = job_table(records)
    _write(jobs.to_csv(index=False), args.out / "jobs.csv")
    provenance = Provenance(*code_provenance(jobs), networks(jobs))
    _write(markdown(summary, failures, provenance), args.out / "leaderboard.md")
    page = leaderboard_html.render(summary.assign(best=best_rows(summary)), failures,
                                   row_pictures(records), ordered_families(summary), NOTE,
                                   LOWER_IS_BETTER, provenance)  # fmt: skip
    _write(page, args.out / "leaderboard.html")
    if args.wandb_project:
        log_to_wandb(summary, args.wandb_project, args.out)
    print(f"{len(records)} jobs ({len(failures)} without results) -> "
          f"{args.out}/leaderboard.csv, .md, .html and jobs.csv")  # fmt: skip
    for network in provenance.mixed_networks:
        print(f"warning: {network} has different weights in different jobs; "
              f"'{leaderboard_html.NETS_HEADING}' in leaderboard.md lists them")  # fmt: skip
    minutes = stage_minutes(jobs)
    if minutes:
        total = minutes.pop("total", sum(minutes.values()))
        print(f"the finished jobs took {total:.1f} job-minutes: "
              + ", ".join(f"{stage} {value:.1f}" for stage, value in minutes.items()))  # fmt: skip


if __name__ == "__main__":
    main()
