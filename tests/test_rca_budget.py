"""The budget-doubling check of the post-hoc reconstructor (benchmarks/studies/rca_budget.py) on
hand-made results.json files."""

import json

import pytest
from job_records import metric, record

from ganctrl.benchmarks.studies.rca_budget import main


def write_job(folder, name, seed, steps, rca, lr=1e-3):
    curve = [{"step": s, "accuracy": rca * s / steps} for s in range(50, steps + 1, 50)]
    job = record(
        {"method": "voynov", "data": "shapes", "seed": seed},
        {
            "seed": seed,
            "method": {"lr": lr, "seed": seed},
            "paths": {"output": name},
            "metrics": {"directions": {"rca_steps": steps, "rca_lr": 1e-3}},
        },
        {
            "rca_posthoc": metric(
                rca, "directions", ranked_within="generator", steps=steps, curve=curve
            )
        },
    )
    path = folder / name / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(job))


def test_each_budget_is_judged_by_what_the_next_longer_run_of_its_config_adds(tmp_path, capsys):
    for steps, rca in ((300, 0.70), (1200, 0.868), (2400, 0.872)):
        write_job(tmp_path, f"s0-{steps}", 0, steps, rca)
    write_job(tmp_path, "s1-300", 1, 300, 0.80)
    write_job(tmp_path, "s1-1200", 1, 1200, 0.805)
    write_job(tmp_path, "lr-2400", 0, 2400, 0.5, lr=1e-4)  # another config: nothing to compare
    main([str(tmp_path), "--tolerance", "0.01", "--plot", str(tmp_path / "curves.png")])
    out = capsys.readouterr().out
    assert "| shapes | voynov [lr=0.001] | 0 | 300 | 0.700 | +0.168 |" in out
    assert "| shapes | voynov [lr=0.001] | 0 | 1200 | 0.868 | +0.004 |" in out
    assert "| shapes | voynov [lr=0.001] | 0 | 2400 | 0.872 | – |" in out
    assert "| shapes | voynov [lr=0.0001] | 0 | 2400 | 0.500 | – |" in out
    assert (
        "300 steps: the next budget adds less than 0.01 in 1 of 2 jobs; the largest gain is "
        "+0.168 (shapes, voynov [lr=0.001], seed 0)"
    ) in out
    assert "1200 steps: the next budget adds less than 0.01 in 1 of 1 jobs" in out
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_folders_without_a_post_hoc_rca_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="no finished job with a post-hoc RCA"):
        main([str(tmp_path)])
