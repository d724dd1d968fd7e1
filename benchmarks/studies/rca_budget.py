"""Is the post-hoc reconstructor trained long enough? The budget-doubling check behind the RCA
columns (docs/METRICS.md, "Directions").

    python -m ganctrl.benchmarks.studies.rca_budget RUN_FOLDER [RUN_FOLDER ...] [--tolerance 0.01] \
        [--plot curves.png]

Jobs whose configs differ only in `metrics.directions.rca_steps` are one comparison. For each
(data, row, seed) it prints RCA (post-hoc) at every budget run and what the next longer budget
adds; a budget is enough for a job when that gain is below the tolerance. The end of one run's
training curve cannot tell: the reconstructor's learning rate decays to zero over whatever budget
it is given, so every curve ends flat. `--plot` draws the held-out training curves, one panel per
data set, budgets told apart by line style.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import matplotlib
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganctrl.atomic import save_figure  # noqa: E402
from ganctrl.benchmarks.job.resume import job_hash  # noqa: E402
from ganctrl.benchmarks.leaderboard.table import read_records, row_labels  # noqa: E402

STYLES = ("--", "-", ":", "-.")


def _without_budget(record: dict) -> dict:
    """The record with `metrics.directions.rca_steps` taken out of (a copy of) its config."""
    config = copy.deepcopy(record["config"])
    config.get("metrics", {}).get("directions", {}).pop("rca_steps", None)
    return {**record, "config": config}


def budget_table(records: list[dict], tolerance: float) -> pd.DataFrame:
    """One line per finished job with a post-hoc RCA: its budget, its RCA, the gain of the next
    longer budget run on the same config and seed, and whether that gain is below `tolerance`
    (NaN where no longer budget was run)."""
    scored = [r for r in records if r.get("status") == "ok" and "rca_posthoc" in r["metrics"]]
    stripped = [_without_budget(r) for r in scored]
    lines = pd.DataFrame(
        [
            {
                "data": r["run"]["data"],
                "row": label,
                "seed": r["run"]["seed"],
                "config": job_hash(s["config"]),
                "steps": r["metrics"]["rca_posthoc"]["steps"],
                "rca": r["metrics"]["rca_posthoc"]["value"],
                "path": r["path"],
            }
            for r, s, label in zip(scored, stripped, row_labels(stripped), strict=True)
        ]
    )
    if lines.empty:
        return lines
    lines = lines.sort_values(["data", "row", "seed", "config", "steps"], ignore_index=True)
    following = lines.groupby("config")["rca"].shift(-1)
    lines["gain"] = following - lines["rca"]
    lines["enough"] = (lines["gain"] < tolerance).where(following.notna())
    return lines


def verdicts(table: pd.DataFrame, tolerance: float) -> list[str]:
    """Per budget: in how many of the jobs run longer it was enough, and the largest gain."""
    out = []
    for steps, part in table.dropna(subset=["gain"]).groupby("steps"):
        worst = part.loc[part["gain"].idxmax()]
        where = f"{worst['data']}, {worst['row']}, seed {worst['seed']}"
        out.append(
            f"{steps} steps: the next budget adds less than {tolerance} in "
            f"{int(part['enough'].sum())} of {len(part)} jobs; the largest gain is "
            f"{worst['gain']:+.3f} ({where})"
        )
    return out


def markdown(table: pd.DataFrame) -> str:
    out = [
        "| data | row | seed | steps | RCA post-hoc | gain of the next budget |",
        "|---|---|---|---|---|---|",
    ]
    for _, line in table.iterrows():
        gain = "–" if pd.isna(line["gain"]) else f"{line['gain']:+.3f}"
        out.append(
            f"| {line['data']} | {line['row']} | {line['seed']} | {line['steps']} | "
            f"{line['rca']:.3f} | {gain} |"
        )
    return "\n".join(out)


def plot(table: pd.DataFrame, records: list[dict], out: Path) -> None:
    """Each job's held-out training curve: a colour per (row, seed), a line style per budget."""
    curves = {
        r["path"]: r["metrics"]["rca_posthoc"]["curve"]
        for r in records
        if "rca_posthoc" in r.get("metrics", {})
    }
    data_sets = sorted(table["data"].unique())
    figure, axes = plt.subplots(1, len(data_sets), figsize=(6 * len(data_sets), 4.5), squeeze=False)
    budgets = sorted(table["steps"].unique())
    for axis, data in zip(axes[0], data_sets, strict=True):
        part = table[table["data"] == data]
        colour = {
            key: f"C{i % 10}"
            for i, key in enumerate(dict.fromkeys(zip(part["row"], part["seed"], strict=True)))
        }
        shortest = part.groupby(["row", "seed"])["steps"].transform("min")  # the one labelled
        for index, line in part.iterrows():
            curve = curves[line["path"]]
            axis.plot(
                [p["step"] for p in curve],
                [p["accuracy"] for p in curve],
                STYLES[budgets.index(line["steps"]) % len(STYLES)],
                color=colour[line["row"], line["seed"]],
                linewidth=1,
                label=f"{line['row']}, seed {line['seed']}"
                if line["steps"] == shortest[index]
                else None,
            )
        axis.set(
            title=f"{data}: held-out accuracy while training",
            xlabel="step",
            ylabel="accuracy on edits not yet trained on",
        )
        axis.legend(fontsize=7)
    figure.text(
        0.5,
        0.005,
        "line style: "
        + ", ".join(f"{steps} steps {STYLES[i % len(STYLES)]}" for i, steps in enumerate(budgets)),
        ha="center",
        fontsize=8,
    )
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(figure, out, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="run or sweep folders to read")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="a gain below this means the shorter budget was enough",
    )
    parser.add_argument("--plot", help="where to draw the training curves (PNG)")
    args = parser.parse_args(argv)
    records = read_records(args.folders)
    table = budget_table(records, args.tolerance)
    if table.empty:
        raise SystemExit(f"no finished job with a post-hoc RCA under {', '.join(args.folders)}")
    print(markdown(table))
    print()
    print("\n".join(verdicts(table, args.tolerance) or ["no config was run at two budgets"]))
    if args.plot:
        plot(table, records, Path(args.plot))


if __name__ == "__main__":
    main()
