"""What made the leaderboard's numbers: the ledger of jobs (jobs.csv), the code behind them, the
networks (evaluation nets, steered generators) and their weights, and where the time went."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from ganctrl.benchmarks.leaderboard.table import row_labels


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
    jobs = pd.DataFrame(
        [
            {
                "data": r["run"].get("data"),
                "row": labels.get(id(r), r["run"].get("method")),
                "generator": r["run"].get("generator"),
                "seed": r["run"].get("seed"),
                "status": r.get("status"),
                "commit": _commit(r),
                "code_version": r.get("code_version"),
                **_weights(r),
                "path": r["path"],
                **{f"seconds_{stage}": value for stage, value in (r.get("seconds") or {}).items()},
            }
            for r in records
        ]
    )
    return jobs.sort_values(["data", "row", "generator", "seed"], kind="stable")


def _weights(record: dict) -> dict:
    """The networks a job's numbers depend on, beyond its own: the evaluation net that scored it
    and the zoo generator a post-hoc job steered, each with a hash of its weights."""
    net = (record.get("evaluation") or {}).get("feature_net") or {}
    steered = record.get("generator")
    return {
        "evaluation_net": net.get("name"),
        "evaluation_net_weights": net.get("weights_hash"),
        "generator_weights": steered["weights_hash"] if steered else None,
    }


def networks(jobs: pd.DataFrame) -> pd.DataFrame:
    """The finished jobs per data set, network and weights hash. A net the harness trains (an
    evaluation net, a zoo generator) has one name and cache key wherever it is trained, but not
    one set of weights (float sums in another order on another CPU), so a sweep resumed on
    another machine may score or steer its jobs with two."""
    finished = jobs[jobs["status"] == "ok"]
    parts = [
        finished.assign(
            network="evaluation net " + finished["evaluation_net"],
            weights=finished["evaluation_net_weights"],
        ),
        finished.assign(
            network="generator " + finished["generator"], weights=finished["generator_weights"]
        ),
    ]
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
    code, by their records' `code_version`)."""
    finished = jobs[jobs["status"] == "ok"]
    commits = finished.groupby("commit", sort=True).size().rename("jobs").reset_index()
    by_row = finished.groupby(["data", "row", "generator"])
    mixed = by_row.filter(lambda row: row["code_version"].nunique() > 1)
    return commits, mixed[["data", "row", "generator", "seed", "commit"]]


def stage_minutes(jobs: pd.DataFrame) -> dict[str, float]:
    """Minutes summed over the finished jobs, per stage of a job and in all (`total`), largest
    first."""
    stages = [column for column in jobs if column.startswith("seconds_")]
    minutes = jobs.loc[jobs["status"] == "ok", stages].sum(min_count=1).dropna() / 60
    return {
        stage.removeprefix("seconds_"): value
        for stage, value in minutes.sort_values(ascending=False).items()
    }
