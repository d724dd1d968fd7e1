"""The leaderboard's pages: leaderboard.md (a table per data set and metric family, failed jobs,
provenance), the text they share with leaderboard.html, each row's pictures, and the wandb Table."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ganctrl import atomic
from ganctrl.benchmarks.job.records import REAL_IMAGES
from ganctrl.benchmarks.leaderboard import html as leaderboard_html
from ganctrl.benchmarks.leaderboard.provenance import Provenance
from ganctrl.benchmarks.leaderboard.table import row_labels


def note(summary: pd.DataFrame) -> str:
    """How to read the tables, from the facts the metrics carry."""

    def metrics(rows: pd.Series) -> str:
        return ", ".join(sorted(summary.loc[rows, "metric"].unique())) or "none"

    per_generator = sorted(summary.loc[summary["ranked_within"] == "generator", "family"].unique())
    return (
        "Mean ± std over seeds (seeds in the last column); the best mean of each column per "
        "data set in bold, per data set and generator in the "
        + (", ".join(per_generator) or "(none)")
        + " tables, whose scores describe one generator's latent space; a column where all "
        "rows tie has none (lower is better for "
        + metrics(summary["better"] == "lower")
        + "; "
        + metrics(summary["better"].isna())
        + " are not ranked). Rows "
        f"whose generator is '{REAL_IMAGES}' sample training images: their fidelity is the "
        "real-data floor, shown but not ranked. Within a data set every column was computed "
        "with the same evaluation net and n: the section on networks at the end names its "
        "weights and the steered generators', and any network whose jobs used different "
        "ones."
    )


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
        found = {
            name: str(folder / record["artifacts"][name])
            for name in leaderboard_html.PICTURES
            if name in record.get("artifacts", {})
        }
        out[key] = {name: path for name, path in found.items() if Path(path).is_file()}
    return out


def _cell(mean: float, std: float, best: bool) -> str:
    text = f"{mean:.3f}" if pd.isna(std) else f"{mean:.3f} ± {std:.3f}"
    return f"**{text}**" if best else text


def markdown(
    summary: pd.DataFrame,
    families: list[str],
    reading: str,
    failures: pd.DataFrame,
    provenance: Provenance,
) -> str:
    """`summary` carries a `best` column (table.best_rows); `reading` is `note(summary)`."""
    out = ["# Leaderboard", "", reading, ""]
    for data, by_data in summary.groupby("data"):
        for family in families:
            part = by_data[by_data["family"] == family]
            if part.empty:
                continue
            metrics = sorted(part["metric"].unique())
            out += [
                f"## {data}: {family or 'other'}",
                "",
                "| row | generator | " + " | ".join(metrics) + " | seeds |",
                "|---" * (len(metrics) + 3) + "|",
            ]
            for (row, generator), cells in part.groupby(["row", "generator"]):
                values = {
                    m: _cell(c["mean"], c["std"], c["best"])
                    for m, c in cells.set_index("metric").iterrows()
                }
                out.append(
                    f"| {row} | {generator} | "
                    + " | ".join(values.get(m, "") for m in metrics)
                    + f" | {int(cells['seeds'].max())} |"
                )
            out.append("")
    if not failures.empty:
        out += [
            "## Jobs without results (failed, or still running)",
            "",
            "| data | method | seed | status | error |",
            "|---|---|---|---|---|",
        ]
        for _, f in failures.iterrows():
            out.append(
                f"| {f['data']} | {f['method']} | {f['seed']} | {f['status']} | "
                f"{' '.join(f['error'])} |"
            )
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
    return [
        "| " + " | ".join(frame.columns) + " |",
        "|---" * len(frame.columns) + "|",
        *(f"| {row} |" for row in rows),
        "",
    ]


def write_text(text: str, path: Path) -> None:
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
