"""`make perf` runs end to end (at toy sizes here; its defaults are docs/PERFORMANCE.md's)."""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from job_records import record

from ganctrl.benchmarks.perf import fidelity


def test_make_perf_prints_every_table(tmp_path, capsys):
    job = tmp_path / "data=mnist_subset,method=pixel_kmeans,seed=0"
    job.mkdir()
    ok = record({"method": "pixel_kmeans", "data": "mnist_subset", "seed": 0}, {}, {})
    (job / "results.json").write_text(json.dumps({**ok, "seconds": {"fit": 2.0}}))
    fidelity.main(
        [
            "--n",
            "1000",
            "--neighbours-n",
            "300",
            "--manifold-n",
            "300",
            "--repeats",
            "1",
            "--sweep",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    for line in [
        "| ganctrl ÷ torch-fidelity |",
        "| shared pass radii, k = 3 and 5 |",
        "| P/R + D/C, 2 × 300 × 512 |",
        "| pixel_kmeans | 2.0 |",
        "| FID |",
    ]:
        assert line in out


def test_the_stages_of_a_run_add_up_to_its_time():
    net, (real, fake) = fidelity.RandomNet(features=16), fidelity.image_sets(300)
    start = time.perf_counter()
    scores, stages = fidelity.ganctrl_five(net, real, fake)
    total = time.perf_counter() - start
    assert list(stages)[:3] == ["feature passes", "FID", "IS"] and len(stages) == 5
    assert all(seconds > 0 for seconds in stages.values())
    assert 0.9 * total <= sum(stages.values()) <= total
    assert set(scores) >= {"fid", "is", "kid", "precision", "recall", "density", "coverage"}


def test_the_device_check_runs_each_step_under_its_limit_with_flags_perf_knows(capsys):
    script = Path(fidelity.__file__).with_name("device_check.sh")
    out = subprocess.run(["bash", str(script), "echo"], capture_output=True, text=True, check=True)
    steps = [line for line in out.stdout.splitlines() if line.startswith("== echo -m")]
    assert len(steps) == 3 and out.stdout.count("== exit status 0") == 3
    with pytest.raises(SystemExit):
        fidelity.main(["--help"])
    known = capsys.readouterr().out
    for step in steps[1:]:
        flags = re.findall(r"--[a-z-]+", step)
        assert flags and all(flag in known for flag in flags), step
