"""The leaderboard (benchmarks/leaderboard/) on hand-made results.json files."""

import json
from dataclasses import dataclass

import pandas as pd
import pytest
import torch
import torchvision
from job_records import metric, record
from omegaconf import OmegaConf

from ganctrl.benchmarks.leaderboard.__main__ import main
from ganctrl.benchmarks.leaderboard.html import BEST, FLOOR, OTHER, axis_end, bar_colours
from ganctrl.benchmarks.leaderboard.table import best_rows
from ganctrl.data.mnist_subset import MNISTSubset
from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.contract import Unconditional
from ganctrl.metrics import evaluate as evaluate_module
from ganctrl.metrics.evaluate import evaluate, register_family
from ganctrl.metrics.settings import MetricsConfig

# metric → (family, better, ranked_within), as the families declare them
FACTS = {
    "fid": ("fidelity", "lower", "data"),
    "purity": ("clusters", "higher", "data"),
    "rca_posthoc": ("directions", "higher", "generator"),
}


def write_job(
    folder,
    name,
    method,
    seed,
    metrics,
    status="ok",
    quality=None,
    protocol=None,
    code=None,
    seconds=None,
    net=None,
    generator_weights="g0",
    schema=2,
    entries=None,
    **settings,
):
    """`code`: (git commit, dirty tree, code_version) of the job's record (default: an install,
    no commit); `net`, `generator_weights`: the weights hashes of the evaluation net that scored
    it and of the generator a post-hoc row (`quality` given) steered."""
    commit, dirty, version = code or (None, None, "v0")
    entries = entries or {k: metric(v, *FACTS[k]) for k, v in metrics.items()}
    job = record(
        {"method": method, "data": "mnist_subset", "seed": seed},
        {
            "method": {"clusters": 20, "seed": seed, **settings},
            "generator": {"net": {"width": 32}, "seed": seed},
            "metrics": protocol or {},
        },
        entries,
        status=status,
        schema=schema,
        code_version=version,
        versions={"git_commit": commit, "git_dirty": dirty},
        seconds=seconds or {},
    )
    if net is not None:
        job["evaluation"]["feature_net"] = {"name": "mnist_lenet", "weights_hash": net}
    if quality is not None:  # a post-hoc row: the zoo's measure of the generator it steered
        job["generator"] = {
            "path": "g.pt",
            "trained_here": False,
            "quality": {"n": 1000, **{k: {"value": v, "floor": 0.0} for k, v in quality.items()}},
            "weights_hash": generator_weights,
        }
    if status != "ok":
        job["error"] = "RuntimeError: the sweep went on\nTraceback line"
    path = folder / name / "results.json"
    (path.parent / "samples").mkdir(parents=True)
    if status == "ok":  # a one-pixel grid picture, as a job saves it
        torchvision.utils.save_image(
            torch.full((3, 1, 1), seed / 4), path.parent / "samples/grid.png"
        )
        job["artifacts"] = {"grid": "samples/grid.png"}
    path.write_text(json.dumps(job))


def test_rows_average_over_seeds_mark_the_best_and_list_failed_jobs(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    times = [
        {"fit": 90.0, "evaluate": 30.0, "total": 120.0},
        {"generator": 300.0, "fit": 60.0, "total": 366.0},
    ]
    for seed, fid, purity in ((0, 50.0, 0.6), (1, 54.0, 0.7)):
        write_job(
            sweep, str(seed), "mic_gan", seed, {"fid": fid, "purity": purity}, seconds=times[seed]
        )
    for seed, fid, steered_fid, recall in ((0, 30.0, 20.0, 0.5), (1, 40.0, 30.0, 0.7)):
        write_job(
            sweep,
            str(2 + seed),
            "pixel_kmeans",
            seed,
            {"fid": fid, "purity": 0.5},
            quality={"fid": steered_fid, "recall": recall},
        )
    write_job(sweep, "4", "mic_gan", 2, {}, status="failed", seconds={"total": 600.0})
    write_job(sweep, "5", "mic_gan", 0, {"fid": 70.0, "purity": 0.2}, min_members_per_dim=10)
    main([str(sweep), "--out", str(tmp_path / "out")])
    # the finished jobs' time, per stage, largest first; the failed job's is not counted
    printed = capsys.readouterr().out
    assert "the finished jobs took 8.1 job-minutes: generator 5.0, fit 2.5, evaluate 0.5" in printed
    # the ledger behind that line: every job, the failed one too, with its seconds per stage
    jobs = pd.read_csv(tmp_path / "out" / "jobs.csv")
    assert len(jobs) == 6 and jobs["status"].value_counts().to_dict() == {"ok": 5, "failed": 1}
    failed = jobs[jobs["status"] == "failed"].iloc[0]
    assert (failed["row"], failed["seed"], failed["seconds_total"]) == ("mic_gan", 2, 600.0)
    first = jobs[jobs["path"].str.endswith("0/results.json")].iloc[0]
    assert first["row"] == "mic_gan [min_members_per_dim=None]"
    assert [first[f"seconds_{stage}"] for stage in ("fit", "evaluate", "total")] == [90, 30, 120]
    assert pd.isna(first["seconds_generator"])

    csv = (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()
    header = csv[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in csv[1:]]
    purity = {r["row"]: r for r in rows if r["metric"] == "purity"}
    # rows that differ in a setting stay apart, labelled by it; seeds never split a row
    assert set(purity) == {
        "mic_gan [min_members_per_dim=None]",
        "mic_gan [min_members_per_dim=10]",
        "pixel_kmeans",
    }
    mic = purity["mic_gan [min_members_per_dim=None]"]
    assert float(mic["mean"]) == pytest.approx(0.65)
    assert float(mic["std"]) == pytest.approx(0.0707107, rel=1e-5)  # ddof 1
    assert mic["seeds"] == "2"

    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "| mic_gan [min_members_per_dim=None] | dcgan | **0.650 ± 0.071** | 2 |" in md
    assert "| pixel_kmeans | dcgan | **35.000 ± 7.071** | 2 |" in md  # FID: lower is better
    assert "## mnist_subset: fidelity" in md and "## mnist_subset: clusters" in md
    assert md.index("fidelity") < md.index("mnist_subset: generator") < md.index("clusters")
    # the steered generator's quality: averaged like a metric, never marked best
    assert "| pixel_kmeans | dcgan | 25.000 ± 7.071 | 0.600 ± 0.141 | 2 |" in md
    assert "| mnist_subset | mic_gan | 2 | failed | RuntimeError: the sweep went on |" in md
    assert "Traceback line" not in md

    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "<b>0.650 ± 0.071</b>" in page and "<b>35.000 ± 7.071</b>" in page
    # the metric bars of three families, and the grid of each of the three rows' lowest seed
    assert page.count("data:image/png;base64") == 3 + 3
    assert "RuntimeError: the sweep went on" in page


def test_the_code_behind_the_numbers_and_rows_whose_seeds_ran_different_code(tmp_path):
    sweep, a, b = tmp_path / "sweep", "a" * 40, "b" * 40
    write_job(sweep, "0", "mic_gan", 0, {"purity": 0.6}, code=(a, False, "v1"))
    write_job(sweep, "1", "mic_gan", 1, {"purity": 0.7}, code=(a, False, "v1"))
    write_job(sweep, "2", "mic_gan", 2, {"purity": 0.8}, code=(b, True, "v2"))
    write_job(sweep, "3", "pixel_kmeans", 0, {"purity": 0.5}, code=(a, False, "v3"))
    write_job(sweep, "4", "pixel_kmeans", 1, {"purity": 0.5}, code=(a, False, "v3"))
    write_job(sweep, "5", "voynov", 0, {"purity": 0.4}, code=(a, False, "v4"))
    write_job(sweep, "6", "voynov", 1, {"purity": 0.4}, code=(a, False, "v5"))  # an edit
    write_job(sweep, "7", "unconditional", 0, {"purity": 0.3})  # ran from an install
    main([str(sweep), "--out", str(tmp_path / "out")])

    md = (tmp_path / "out" / "leaderboard.md").read_text()
    code = md[md.index("## Code behind these numbers") :]
    assert "| aaaaaaaaaaaa | 6 |" in code
    assert "| bbbbbbbbbbbb + uncommitted changes | 1 |" in code
    assert "| unknown (an install) | 1 |" in code
    mixed = code[code.index("Rows whose seeds ran different code") :]
    assert "| mnist_subset | mic_gan | dcgan | 0 | aaaaaaaaaaaa |" in mixed
    assert "| mnist_subset | mic_gan | dcgan | 2 | bbbbbbbbbbbb + uncommitted changes |" in mixed
    assert "| mnist_subset | voynov | dcgan | 1 | aaaaaaaaaaaa |" in mixed
    assert "pixel_kmeans" not in mixed and "unconditional" not in mixed
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "<h2>Code behind these numbers</h2>" in page
    assert "<td>bbbbbbbbbbbb + uncommitted changes</td>" in page


def test_networks_with_two_sets_of_weights_are_flagged(tmp_path, capsys):
    """A sweep resumed on another machine: the nets retrained there have other weights."""
    sweep = tmp_path / "sweep"
    write_job(sweep, "0", "mic_gan", 0, {"purity": 0.6}, net="w1")
    write_job(sweep, "1", "mic_gan", 1, {"purity": 0.7}, net="w1")
    for name, method in (("2", "ganspace"), ("3", "sefa")):  # post-hoc rows on one generator
        write_job(
            sweep,
            name,
            method,
            0,
            {"purity": 0.5},
            net="w1",
            quality={"fid": 20.0},
            generator_weights="g1",
        )
    out = tmp_path / "out"
    main([str(sweep), "--out", str(out)])
    md = (out / "leaderboard.md").read_text()
    assert "| mnist_subset | evaluation net mnist_lenet | w1 | 4 |" in md
    assert "| mnist_subset | generator dcgan | g1 | 2 |" in md
    assert "different weights" not in md and "warning" not in capsys.readouterr().out

    for name, method in (("4", "ganspace"), ("5", "sefa")):  # resumed elsewhere: other weights
        write_job(
            sweep,
            name,
            method,
            1,
            {"purity": 0.5},
            net="w2",
            quality={"fid": 20.0},
            generator_weights="g2",
        )
    main([str(sweep), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "warning: mnist_subset: evaluation net mnist_lenet has different weights" in printed
    assert "warning: mnist_subset: generator dcgan has different weights" in printed
    networks = (out / "leaderboard.md").read_text().split("## Networks behind these numbers")[1]
    for line in (
        "| mnist_subset | evaluation net mnist_lenet | w2 | 2 |",
        "| mnist_subset | generator dcgan | g2 | 2 |",
        "more than one weights hash",
    ):
        assert line in networks
    assert "more than one weights hash" in (out / "leaderboard.html").read_text()
    jobs = pd.read_csv(out / "jobs.csv").set_index(["row", "seed"])
    assert jobs.loc[("ganspace", 1), "evaluation_net_weights"] == "w2"
    assert jobs.loc[("ganspace", 1), "generator_weights"] == "g2"
    assert pd.isna(jobs.loc[("mic_gan", 0), "generator_weights"])  # it steers no zoo generator


def test_jobs_scored_under_another_metrics_protocol_are_another_row(tmp_path):
    sweep = tmp_path / "sweep"
    short = {"batch_size": 500, "families": None, "directions": {"rca_steps": 3000}}
    write_job(sweep, "0", "voynov", 0, {"rca_posthoc": 0.90}, protocol=short)
    # what runs and how fast it runs are not the protocol: still the 3 000-step row
    write_job(
        sweep,
        "1",
        "voynov",
        1,
        {"rca_posthoc": 0.92},
        protocol={**short, "batch_size": 50, "families": ["directions"]},
    )
    write_job(
        sweep,
        "2",
        "voynov",
        0,
        {"rca_posthoc": 0.97},
        protocol={**short, "directions": {"rca_steps": 12000}},
    )
    main([str(sweep), "--out", str(tmp_path / "out")])

    summary = pd.read_csv(tmp_path / "out" / "leaderboard.csv").set_index("row")
    assert summary.loc["voynov [metrics.directions.rca_steps=3000]", "mean"] == pytest.approx(0.91)
    assert summary.loc["voynov [metrics.directions.rca_steps=3000]", "seeds"] == 2
    assert summary.loc["voynov [metrics.directions.rca_steps=12000]", "mean"] == 0.97


def test_the_leaderboard_goes_to_wandb_as_a_table(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    sweep = tmp_path / "sweep"
    write_job(sweep, "0", "mic_gan", 0, {"fid": 50.0, "purity": 0.6})
    write_job(sweep, "1", "pixel_kmeans", 0, {"fid": 30.0, "purity": 0.5})
    main([str(sweep), "--out", str(tmp_path / "out"), "--wandb-project", "ganctrl-test"])
    runs = tmp_path / "out" / "wandb"
    (table,) = runs.glob("offline-run-*/files/media/table/leaderboard*.json")
    logged = json.loads(table.read_text())
    rows = [dict(zip(logged["columns"], line, strict=True)) for line in logged["data"]]
    assert {(r["row"], r["metric"], r["mean"]) for r in rows} == {
        ("mic_gan", "fid", 50.0),
        ("mic_gan", "purity", 0.6),
        ("pixel_kmeans", "fid", 30.0),
        ("pixel_kmeans", "purity", 0.5),
    }


def test_latent_scores_are_ranked_per_generator_ties_and_real_images_are_not_marked():
    lines = [  # (generator, row, family, metric, mean)
        ("dcgan", "lu_centroid", "directions", "rca_posthoc", 0.97),
        ("dcgan", "random_directions", "directions", "rca_posthoc", 0.94),
        ("stylegan_lite", "contrafeat_bi", "directions", "rca_posthoc", 0.90),
        ("stylegan_lite", "random_directions", "directions", "rca_posthoc", 0.82),
        ("dcgan", "mic_gan", "fidelity", "fid", 54.8),
        ("dcgan", "unconditional", "fidelity", "fid", 31.9),
        ("real images", "pixel_kmeans", "fidelity", "fid", 13.5),
        ("dcgan", "mic_gan", "clusters", "nmi", 0.55),
        ("real images", "pixel_kmeans", "clusters", "nmi", 0.56),
        ("stylegan_lite", "contrafeat_bi", "path_length", "ppl_standard", 6.0),  # one G: a tie
        ("stylegan_lite", "random_directions", "path_length", "ppl_standard", 6.0),
    ]
    summary = pd.DataFrame(
        [
            {
                "data": "mnist_subset",
                "generator": g,
                "row": r,
                "family": f,
                "metric": m,
                "better": "lower" if m in ("fid", "ppl_standard") else "higher",
                "ranked_within": "data" if f in ("fidelity", "clusters") else "generator",
                "mean": v,
                "std": float("nan"),
                "seeds": 1,
            }
            for g, r, f, m, v in lines
        ]
    )
    summary["best"] = best_rows(summary)
    marked = summary[summary["best"]]
    found = zip(marked["generator"], marked["row"], marked["metric"], strict=True)
    assert sorted(found) == [
        ("dcgan", "lu_centroid", "rca_posthoc"),  # each generator's own best direction row
        ("dcgan", "unconditional", "fid"),  # the real-data floor (13.5) is shown, not ranked
        ("real images", "pixel_kmeans", "nmi"),  # as a clustering it competes
        ("stylegan_lite", "contrafeat_bi", "rca_posthoc"),
    ]
    fid = summary.query("metric == 'fid'")
    assert bar_colours(fid) == [OTHER, BEST, FLOOR]  # mic_gan, unconditional, pixel_kmeans


def test_axis_end_cuts_only_rows_far_beyond_the_rest():
    # the 3-seed bench's FID reaches: the collapsed baseline (1 304 + 861) and the others
    fid = pd.Series([2165.1, 243.8, 143.2, 97.8, 66.3, 33.9, 12.9])
    assert axis_end(fid) == 243.8
    assert axis_end(pd.Series([90.0, 40.0, 30.0, 12.0])) is None  # no drop beyond 5x
    assert axis_end(pd.Series([50.0, 0.0, 0.0])) is None  # nothing left to scale to
    assert axis_end(pd.Series([900.0, 800.0, 700.0, 10.0, 9.0])) is None  # never most rows


def test_a_record_of_another_schema_version_is_refused_naming_the_file(tmp_path):
    write_job(tmp_path / "sweep", "0", "mic_gan", 0, {"purity": 0.6}, schema=1)
    with pytest.raises(SystemExit, match=r"sweep/0/results.json: results.json schema 1, but"):
        main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")])


def test_a_record_with_a_key_the_schema_does_not_declare_is_refused(tmp_path):
    write_job(tmp_path / "sweep", "0", "mic_gan", 0, {"purity": 0.6})
    path = tmp_path / "sweep" / "0" / "results.json"
    job = json.loads(path.read_text())
    job["run"]["sed"] = 0
    path.write_text(json.dumps(job))
    with pytest.raises(SystemExit, match=r"results.json.run: unknown keys \['sed'\]"):
        main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")])


@dataclass
class ToySettings:
    error: float = 0.0


def test_a_family_registered_here_reaches_the_leaderboard_ranked_as_it_declares(
    tmp_path, monkeypatch
):
    """A new metric family is one module: registered from this test module, with nothing else
    edited, its metric is scored, written with its facts and ranked lower-is-better."""
    monkeypatch.setattr(evaluate_module, "FAMILIES", dict(evaluate_module.FAMILIES))

    @register_family("toy", Unconditional, ToySettings, lower_is_better=("toy_error",))
    def toy(ctx, control, s):
        ctx.record("toy_error", s.error, 1, 0.0)

    digits = MNISTSubset()
    digits.setup()
    control = Unconditional(DCGANGenerator(width=4))
    base = OmegaConf.to_container(OmegaConf.structured(MetricsConfig))
    for row, error in (("low", 1.0), ("high", 2.0)):
        settings = OmegaConf.create(
            {**base, "families": ["toy"], "feature_net_epochs": 1, "toy": {"error": error}}
        )
        out = evaluate(control, digits, settings, tmp_path / "cache", "cpu")
        assert out["metrics"]["toy_error"]["better"] == "lower"
        write_job(tmp_path / "sweep", row, row, 0, {}, entries=out["metrics"])
    main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")])
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## mnist_subset: toy" in md
    assert "| low | dcgan | **1.000** | 1 |" in md and "| high | dcgan | 2.000 | 1 |" in md


def test_a_nested_seed_never_splits_a_row_and_a_nested_setting_labels_it(tmp_path):
    """IMLE's clustering node carries the job's seed too (`clustering.seed: ${seed}`)."""
    sweep = tmp_path / "sweep"
    for name, seed, layer in (("0", 0, 2), ("1", 1, 2), ("2", 0, 3)):
        clustering = {"layer": layer, "seed": seed}
        write_job(sweep, name, "imle_clusters", seed, {"purity": 0.5}, clustering=clustering)
    main([str(sweep), "--out", str(tmp_path / "out")])
    summary = pd.read_csv(tmp_path / "out" / "leaderboard.csv").set_index("row")
    assert summary.loc["imle_clusters [clustering.layer=2]", "seeds"] == 2
    assert summary.loc["imle_clusters [clustering.layer=3]", "seeds"] == 1
