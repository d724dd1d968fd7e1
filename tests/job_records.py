"""Hand-made results.json records in the layout of benchmarks/job/schema.py, for the tests of
what reads them (the leaderboard, the studies)."""

from ganctrl.benchmarks.job.schema import SCHEMA_VERSION


def metric(value, family, better="higher", ranked_within="data", **extra) -> dict:
    """One metric entry as `evaluate` writes it."""
    return {
        "value": value,
        "n": 1000,
        "feature_net": "mnist_lenet",
        "seconds": 0.0,
        "seed": 1234,
        "family": family,
        "better": better,
        "ranked_within": ranked_within,
        **extra,
    }


def record(run: dict, config: dict, metrics: dict, status="ok", **sections) -> dict:
    """A finished job's record: `run` over defaults, and any other top-level section."""
    run = {"trainer": "cpu", "experiment": "toy", "generator": "dcgan", **run}
    families = list(dict.fromkeys(entry["family"] for entry in metrics.values()))
    return {
        "schema": SCHEMA_VERSION,
        "status": status,
        "run": run,
        "config": config,
        "config_hash": f"{run['method']}-{run['seed']}",
        "code_version": "v0",
        "versions": {"git_commit": None, "git_dirty": None},
        "hardware": {},
        "seconds": {},
        "metrics": metrics,
        "artifacts": {},
        "evaluation": {"families": [{"family": f, "seconds": 0.0} for f in families]},
        **sections,
    }
