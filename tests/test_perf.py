"""`make perf` runs end to end (at toy sizes here; its defaults are docs/PERFORMANCE.md's)."""

import json

from ganctrl.benchmarks.perf import fidelity


def test_make_perf_prints_every_table(tmp_path, capsys):
    job = tmp_path / "data=mnist_subset,method=pixel_kmeans,seed=0"
    job.mkdir()
    record = {"status": "ok", "run": {"method": "pixel_kmeans"}, "seconds": {"fit": 2.0}}
    (job / "results.json").write_text(json.dumps(record))
    fidelity.main(["--n", "1000", "--neighbours-n", "300", "--manifold-n", "300",
                   "--repeats", "1", "--sweep", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    for line in ["| ganctrl ÷ torch-fidelity |", "| shared pass radii, k = 3 and 5 |",
                 "| P/R + D/C, 2 × 300 × 512 |", "| pixel_kmeans | 2.0 |"]:  # fmt: skip
        assert line in out
