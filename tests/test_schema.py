"""results.json's schema (benchmarks/job/schema.py): what passes, and the error that names the
first key that does not."""

import json

import pytest
from job_records import metric, record

from ganctrl.benchmarks.job import schema


def valid() -> dict:
    return record(
        {"method": "mic_gan", "data": "mnist_subset", "seed": 0, "control": "Clusters"},
        {"seed": 0},
        {"purity": metric(0.6, "clusters", guards={"mixture_recall": None})},  # open: extras
        generator={"path": "g.pt", "trained_here": True, "quality": None, "weights_hash": "a"},
    )


def test_a_record_as_a_job_writes_it_passes():
    schema.check(valid())


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.pop("code_version"), r"results.json: missing \['code_version'\]"),
        (lambda r: r.update(status="done"), r"results.json.status: 'done' is not one of"),
        (lambda r: r["run"].update(seed="0"), "results.json.run.seed: expected int, got str"),
        (lambda r: r["run"].update(seed=True), "results.json.run.seed: expected int, got bool"),
        (lambda r: r["seconds"].update(fit="1"), r"results.json.seconds.fit: '1' is none of"),
        (lambda r: r["metrics"]["purity"].pop("better"), r"purity: missing \['better'\]"),
        (
            lambda r: r["metrics"]["purity"].update(ranked_within="method"),
            "results.json.metrics.purity.ranked_within: 'method' is not one of",
        ),
        (lambda r: r["generator"].update(sha="x"), r"generator: unknown keys \['sha'\]"),
        (lambda r: r.update(extra=1), r"results.json: unknown keys \['extra'\]"),
    ],
)
def test_each_departure_is_named_by_its_key(edit, message):
    broken = valid()
    edit(broken)
    with pytest.raises(schema.SchemaError, match=message):
        schema.check(broken)


def test_reading_checks_the_version_first_then_the_layout(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({**valid(), "schema": 1}))
    with pytest.raises(schema.SchemaError, match=f"{path}: results.json schema 1, but"):
        schema.read(path)
    path.write_text(json.dumps(valid())[:-5])
    with pytest.raises(schema.SchemaError, match=f"{path}: not JSON"):
        schema.read(path)
    path.write_text(json.dumps(valid()))
    assert schema.read(path) == valid()
