"""The leaderboard: every results.json under one or more sweep folders, one row per (data,
generator, profile, method and its settings), mean ± std over seeds (docs/DESIGN.md, "Outputs").

    python -m ganctrl.benchmarks.leaderboard FOLDER [FOLDER ...] --out results/

writes leaderboard.csv (one line per row and metric: mean, std, seeds), leaderboard.md (a table
per data set and metric family, the best mean of each column in bold, failed jobs listed with
their error) and leaderboard.html (the same with bar plots and each row's pictures, one
self-contained file), and jobs.csv (one line per job: its row, seed, status, code and seconds per
stage, the ledger of a sweep's time); with --wandb-project, a wandb run holding the leaderboard as
a Table. Which way each metric ranks, and among which rows, is read from the records.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganctrl.benchmarks.job.schema import SchemaError
from ganctrl.benchmarks.leaderboard import html as leaderboard_html
from ganctrl.benchmarks.leaderboard.pages import (
    log_to_wandb,
    markdown,
    note,
    row_pictures,
    write_text,
)
from ganctrl.benchmarks.leaderboard.provenance import (
    Provenance,
    code_provenance,
    job_table,
    networks,
    stage_minutes,
)
from ganctrl.benchmarks.leaderboard.table import (
    best_rows,
    family_order,
    long_table,
    read_records,
    summarise,
)


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
    try:
        records = read_records(args.folders)
    except SchemaError as error:
        raise SystemExit(f"leaderboard: {error}") from error
    if not records:
        raise SystemExit(f"no results.json under {', '.join(map(str, args.folders))}")
    lines, failures = long_table(records)
    summary = summarise(lines) if not lines.empty else lines
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(summary.to_csv(index=False), args.out / "leaderboard.csv")
    jobs = job_table(records)
    write_text(jobs.to_csv(index=False), args.out / "jobs.csv")
    provenance = Provenance(*code_provenance(jobs), networks(jobs))
    families = family_order(records)
    ranked = summary.assign(best=best_rows(summary))  # one ranking for the .md and the .html
    reading = note(summary)
    write_text(
        markdown(ranked, families, reading, failures, provenance), args.out / "leaderboard.md"
    )
    page = leaderboard_html.render(
        ranked, failures, row_pictures(records), families, reading, provenance
    )
    write_text(page, args.out / "leaderboard.html")
    if args.wandb_project:
        log_to_wandb(summary, args.wandb_project, args.out)
    print(
        f"{len(records)} jobs ({len(failures)} without results) -> "
        f"{args.out}/leaderboard.csv, .md, .html and jobs.csv"
    )
    for network in provenance.mixed_networks:
        print(
            f"warning: {network} has different weights in different jobs; "
            f"'{leaderboard_html.NETS_HEADING}' in leaderboard.md lists them"
        )
    minutes = stage_minutes(jobs)
    if minutes:
        total = minutes.pop("total", sum(minutes.values()))
        print(
            f"the finished jobs took {total:.1f} job-minutes: "
            + ", ".join(f"{stage} {value:.1f}" for stage, value in minutes.items())
        )


if __name__ == "__main__":
    main()
