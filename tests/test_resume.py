"""Resuming a sweep (benchmarks/job/resume.py): which records a rerun trusts, and which it keeps."""

import json

from ganctrl.benchmarks.job.resume import (
    code_drift,
    finished_record,
    job_code_version,
    job_hash,
    keep_replaced,
)
from ganctrl.benchmarks.job.schema import SCHEMA_VERSION

CONFIG = {
    "seed": 0,
    "method": {"_target_": "m.M", "steps": 10},
    "paths": {"output": "/a"},
    "logger": {"_target_": "csv"},
}


def test_the_hash_is_the_config_without_where_it_writes_and_logs():
    moved = {**CONFIG, "paths": {"output": "/b"}, "logger": None}
    reordered = {"method": {"steps": 10, "_target_": "m.M"}, "seed": 0}
    assert job_hash(CONFIG) == job_hash(moved) == job_hash(reordered)
    assert job_hash(CONFIG) != job_hash({**CONFIG, "method": {"_target_": "m.M", "steps": 11}})
    assert job_hash(CONFIG) != job_hash({**CONFIG, "seed": 1})


def write(folder, status, digest, schema=SCHEMA_VERSION):
    record = {"schema": schema, "status": status, "config_hash": digest}
    (folder / "results.json").write_text(json.dumps(record))


def test_only_a_finished_record_of_the_same_config_is_trusted(tmp_path):
    digest = job_hash(CONFIG)
    assert finished_record(tmp_path, digest) is None  # nothing there
    for status, recorded in [("failed", digest), ("running", digest), ("ok", "other")]:
        write(tmp_path, status, recorded)
        assert finished_record(tmp_path, digest) is None, (status, recorded)
    (tmp_path / "results.json").write_text('{"status": "ok", "config_has')  # cut short
    assert finished_record(tmp_path, digest) is None
    write(tmp_path, "ok", digest, schema=SCHEMA_VERSION - 1)  # an older layout: rerun
    assert finished_record(tmp_path, digest) is None
    write(tmp_path, "ok", digest)
    assert finished_record(tmp_path, digest)["status"] == "ok"


def test_finished_results_of_a_changed_config_are_kept_aside(tmp_path):
    digest = job_hash(CONFIG)
    write(tmp_path, "ok", digest)
    assert keep_replaced(tmp_path, digest) is None  # the same config: nothing to move
    write(tmp_path, "failed", "old")
    assert keep_replaced(tmp_path, digest) is None  # unfinished: the rerun overwrites it
    write(tmp_path, "ok", "0123456789ab")
    kept = keep_replaced(tmp_path, digest)
    assert kept.name == "results.0123456789ab.json" and not (tmp_path / "results.json").exists()
    assert json.loads(kept.read_text())["config_hash"] == "0123456789ab"
    write(tmp_path, "ok", digest, schema=1)  # this config, in an older schema: kept aside too
    assert keep_replaced(tmp_path, digest).name == f"results.{digest}.schema1.json"


def test_the_code_version_covers_our_targets_and_the_runner_not_other_packages():
    from ganctrl.benchmarks.job import run
    from ganctrl.cache import code_version
    from ganctrl.methods.mic_gan.pixel_kmeans import PixelKMeans
    from ganctrl.methods.unconditional.method import UnconditionalBaseline

    config = {
        "method": {"_target_": "ganctrl.methods.mic_gan.pixel_kmeans.PixelKMeans"},
        "optimiser": [{"_target_": "torch.optim.Adam"}],
    }
    assert job_code_version(config, run) == code_version(PixelKMeans, run)
    other = {"method": {"_target_": "ganctrl.methods.unconditional.method.UnconditionalBaseline"}}
    assert job_code_version(other, run) == code_version(UnconditionalBaseline, run)
    assert job_code_version(config, run) != job_code_version(other, run)


def test_a_record_of_other_code_is_reported_with_how_to_see_and_undo_it():
    made = {"code_version": "aaa", "versions": {"git_commit": "1" * 40}}
    assert code_drift(made, "aaa", "2" * 40) is None  # same code: nothing to say
    drift = code_drift(made, "bbb", "2" * 40)
    assert "made by other code (at commit 111111111111" in drift
    assert "`git diff --stat 111111111111 222222222222`" in drift
    assert drift.endswith("delete the folder to rerun it with this code")
    # the same commit, other code (a dirty tree then or now): no diff to point to
    assert "git diff" not in code_drift(made, "bbb", "1" * 40)
    installed = {"code_version": "aaa", "versions": {"git_commit": None}}  # ran from an install
    assert "unknown commit" in code_drift(installed, "bbb", None)
