"""Resuming a sweep (benchmarks/resume.py): which records a rerun trusts, and which it keeps."""

import json

from ganctrl.benchmarks.resume import finished_record, job_hash, keep_replaced

CONFIG = {"seed": 0, "method": {"_target_": "m.M", "steps": 10}, "paths": {"output": "/a"},
          "logger": {"_target_": "csv"}}  # fmt: skip


def test_the_hash_is_the_config_without_where_it_writes_and_logs():
    moved = {**CONFIG, "paths": {"output": "/b"}, "logger": None}
    reordered = {"method": {"steps": 10, "_target_": "m.M"}, "seed": 0}
    assert job_hash(CONFIG) == job_hash(moved) == job_hash(reordered)
    assert job_hash(CONFIG) != job_hash({**CONFIG, "method": {"_target_": "m.M",
                                                                    "steps": 11}})  # fmt: skip
    assert job_hash(CONFIG) != job_hash({**CONFIG, "seed": 1})


def write(folder, status, digest):
    (folder / "results.json").write_text(json.dumps({"status": status, "config_hash": digest}))


def test_only_a_finished_record_of_the_same_config_is_trusted(tmp_path):
    digest = job_hash(CONFIG)
    assert finished_record(tmp_path, digest) is None  # nothing there
    for status, recorded in [("failed", digest), ("running", digest), ("ok", "other")]:
        write(tmp_path, status, recorded)
        assert finished_record(tmp_path, digest) is None, (status, recorded)
    (tmp_path / "results.json").write_text('{"status": "ok", "config_has')  # cut short
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
