"""The `ganctrl` command end to end, as a user runs it."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganctrl.benchmarks.job.schema import SCHEMA_VERSION

GANCTRL = str(Path(sys.executable).with_name("ganctrl"))
CONF = Path(__file__).parents[1] / "conf"
TOP_KEYS = {
    "schema",
    "status",
    "run",
    "config",
    "config_hash",
    "trainer",
    "versions",
    "hardware",
    "seconds",
    "metrics",
    "artifacts",
    "generator",
    "evaluation",
}


def ganctrl(
    tmp_path: Path,
    *overrides: str,
    cache: Path | None = None,
    check: bool = True,
    timeout: int = 300,
) -> subprocess.CompletedProcess:
    """Run the command in `tmp_path`; `cache`: the session's shared one unless a test needs a
    fresh cache of its own (tmp_path/cache)."""
    cache = cache or tmp_path / "cache"
    env = {**os.environ, "GANCTRL_CACHE": str(cache), "WANDB_MODE": "offline"}
    return subprocess.run(
        [GANCTRL, *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def results(tmp_path: Path) -> list[dict]:
    paths = sorted((tmp_path / "outputs").rglob("results.json"), key=os.path.getmtime)
    return [json.loads(p.read_text()) for p in paths]


@pytest.mark.slow
def test_smoke_job_end_to_end_under_a_minute(tmp_path):
    start = time.perf_counter()
    ganctrl(tmp_path, "experiment=smoke")
    assert time.perf_counter() - start < 60
    (record,) = results(tmp_path)
    assert TOP_KEYS <= set(record)
    assert record["status"] == "ok" and record["schema"] == SCHEMA_VERSION
    assert record["run"] == {
        "method": "unconditional",
        "data": "mnist_subset",
        "generator": "dcgan",
        "trainer": "cpu",
        "experiment": "smoke",
        "seed": 0,
        "control": "Unconditional",
    }
    assert record["config"]["seed"] == 0 and record["config"]["generator"]["train"]["steps"] == 10
    assert {"python", "torch", "pytorch-lightning", "hydra-core"} <= set(record["versions"])
    assert record["hardware"]["device"] == "cpu"
    assert record["config"]["threads"] == record["hardware"]["torch_threads"]  # null written in
    assert {"data", "generator", "samples", "evaluate", "total"} <= set(record["seconds"])
    assert {
        "fid",
        "is",
        "kid",
        "precision",
        "recall",
        "density",
        "coverage",
        "confidence",
        "ppl_standard",
    } == set(record["metrics"])
    assert record["metrics"]["fid"]["floor"] < record["metrics"]["fid"]["value"]
    assert record["evaluation"]["feature_net"]["convention"]["resize"] == "bilinear, no antialias"
    assert record["generator"]["trained_here"] is True
    assert re.fullmatch("[0-9a-f]{12}", record["generator"]["weights_hash"])
    sidecar = next((tmp_path / "cache" / "generators").glob("*.quality-*.json"))
    assert record["generator"]["quality"] == json.loads(sidecar.read_text())
    run_dir = next((tmp_path / "outputs").rglob("results.json")).parent
    assert (run_dir / record["artifacts"]["grid"]).stat().st_size > 0

    assert record["trainer"]["accelerator"] == "cpu" and record["trainer"]["max_epochs"] == -1
    assert record["hardware"]["faiss"] == "faiss-cpu"
    assert isinstance(record["versions"]["git_dirty"], bool)


def test_bad_override_fails_before_any_work_naming_the_key(tmp_path):
    run = ganctrl(tmp_path, "experiment=smoke", "+generator.net.widht=4", check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "config error: generator.net.widht" in run.stderr and "valid keys" in run.stderr
    assert not (tmp_path / "cache").exists()


def test_a_missing_budget_fails_at_start_naming_the_method_and_the_profile(tmp_path):
    run = ganctrl(tmp_path, "method=imle_clusters_random", "profile.name=mini", check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert (
        "config error: method.clustering.num_latents (method=imle_clusters_random): "
        "ganctrl.methods.common.latent_clusters.LatentClustering has no budget for profile 'mini'"
        in run.stderr
    )
    assert not (tmp_path / "cache").exists()


def test_a_method_with_its_own_schedule_is_refused_under_ddp(tmp_path):
    run = ganctrl(
        tmp_path,
        "experiment=smoke",
        "method=imle_clusters",
        "trainer.devices=2",
        "+trainer.strategy=ddp",
        check=False,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "method=imle_clusters (IMLEClusters)" in run.stderr and "2 processes" in run.stderr
    assert not (tmp_path / "cache").exists()


def test_failed_job_records_its_failure(tmp_path, shared_cache):
    run = ganctrl(
        tmp_path,
        "experiment=smoke",
        "generator.checkpoint=/no/such.pt",
        cache=shared_cache,
        check=False,
    )
    assert run.returncode != 0
    (record,) = results(tmp_path)
    assert record["status"] == "failed" and "/no/such.pt" in record["error"]


def test_a_failing_job_leaves_the_rest_of_its_sweep_running(tmp_path, shared_cache):
    """The unconditional row needs the missing checkpoint, pixel k-means does not."""
    run = ganctrl(
        tmp_path,
        "-m",
        "experiment=smoke",
        "logger=csv",
        "method=unconditional,pixel_kmeans",
        "generator.checkpoint=/no/such.pt",
        cache=shared_cache,
        check=False,
    )
    assert run.returncode != 0  # the sweep says something failed, after running every job
    status = {r["run"]["method"]: r["status"] for r in results(tmp_path)}
    assert status == {"unconditional": "failed", "pixel_kmeans": "ok"}
    # the leaderboard reads the jobs' own records (checked against the schema as it reads)
    leaderboard = subprocess.run(
        [sys.executable, "-m", "ganctrl.benchmarks.leaderboard", "outputs", "--out", "board"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "2 jobs (1 without results)" in leaderboard.stdout
    board = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "| pixel_kmeans | real images |" in board and "| unconditional | 0 | failed |" in board


@pytest.mark.slow
def test_a_submitit_local_sweep_runs_each_job_in_a_process_of_its_own(tmp_path, shared_cache):
    """The submitit launchers (local here, SLURM on a cluster) start one process per job."""
    ganctrl(
        tmp_path,
        "-m",
        "experiment=smoke",
        "logger=csv",
        "method=pixel_kmeans",
        "seed=0,1",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        cache=shared_cache,
    )
    records = results(tmp_path)
    assert sorted(r["run"]["seed"] for r in records) == [0, 1]
    assert all(r["status"] == "ok" and "nmi" in r["metrics"] for r in records)
    logs = list((tmp_path / "outputs").rglob(".submitit/*/*_log.out"))
    assert len({log.parent.name for log in logs}) == 2  # two submitit jobs, not one process


@pytest.mark.slow
def test_two_process_cpu_ddp_runs_a_gan_method_and_rank_zero_alone_writes(tmp_path, shared_cache):
    """The triple-coupled GAN (manual optimisation, G and D stepped in turn) in 2 CPU processes.
    At the smoke budget (10 steps) training barely moves the nets from their seeded start, so
    this pins that DDP runs end to end with one record, not that it trains like one process:
    the metrics must land within 1% (FID, KID) or 0.05 (shares) of the single-process run's."""
    common = ("experiment=smoke", "logger=csv", "method=triple_coupled")
    ganctrl(
        tmp_path,
        *common,
        "trainer=cpu",
        "trainer.devices=2",
        "+trainer.strategy=ddp_find_unused_parameters_true",
        "hydra.run.dir=outputs/ddp",
        cache=shared_cache,
    )
    ganctrl(tmp_path, *common, "hydra.run.dir=outputs/single", cache=shared_cache)
    ddp, single = (
        json.loads((tmp_path / "outputs" / name / "results.json").read_text())
        for name in ("ddp", "single")
    )
    assert ddp["status"] == "ok" and ddp["trainer"]["devices"] == 2
    other_rank = (tmp_path / "outputs/ddp/train_ddp_process_1.log").read_text()
    assert "results:" not in other_rank  # rank 1 trained, and left the record to rank 0
    for name in ("fid", "kid"):
        assert ddp["metrics"][name]["value"] == pytest.approx(
            single["metrics"][name]["value"], rel=0.01
        )
    for name in ("conditional_accuracy", "precision", "recall", "coverage"):
        assert ddp["metrics"][name]["value"] == pytest.approx(
            single["metrics"][name]["value"], abs=0.05
        )


@pytest.mark.slow
def test_multirun_leaves_one_wandb_run_per_job_with_its_own_metrics(tmp_path, shared_cache):
    """The basic launcher runs every job in one process; each must close its own wandb run."""
    ganctrl(
        tmp_path,
        "-m",
        "experiment=smoke",
        "logger=wandb",
        "seed=0,1,2",
        "generator.seed=${seed}",
        "+trainer.enable_model_summary=true",
        cache=shared_cache,
    )
    records = results(tmp_path)
    assert sorted(r["run"]["seed"] for r in records) == [0, 1, 2]
    # the user's trainer setting, not the harness default (False), reached every job's record
    assert all(r["trainer"]["enable_model_summary"] is True for r in records)
    fids = {r["metrics"]["fid"]["value"] for r in records}
    assert len(fids) == 3  # three generators: each job's metrics tell its run apart
    for record in records:
        assert record["status"] == "ok"
        run_dir = Path(record["config"]["paths"]["output"])
        (offline_run,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
        logged = offline_run.read_bytes()
        # The run file is protobuf: a history item holds its key and its value as JSON text.
        own = record["metrics"]["fid"]["value"]
        assert json.dumps(own).encode() in logged
        assert not any(json.dumps(fid).encode() in logged for fid in fids - {own})
        # tagged by method, data and seed, grouped by the sweep, every picture logged
        seed = record["run"]["seed"]
        for text in (
            "method=unconditional",
            "data=mnist_subset",
            f"seed={seed}",
            str(run_dir.parent),
            "pictures/grid",
        ):
            assert text.encode() in logged, text


@pytest.mark.slow
def test_the_bench_runs_every_method_row_imle_within_a_minute_each(tmp_path, shared_cache):
    """`make bench-full`'s sweep, narrowed to one data set: every conf/method option is a row."""
    start = time.perf_counter()
    ganctrl(
        tmp_path,
        "-m",
        "bench=full",
        "experiment=smoke",
        "data=mnist_subset",
        cache=shared_cache,
        timeout=600,
    )
    assert time.perf_counter() - start < 5 * 60
    records = results(tmp_path)
    rows = sorted(p.stem for p in (CONF / "method").glob("*.yaml"))
    assert sorted(r["run"]["method"] for r in records) == rows
    assert all(r["status"] == "ok" and r["run"]["data"] == "mnist_subset" for r in records)
    by_method = {r["run"]["method"]: r for r in records}
    # each record names the code its job ran: its method's modules and the runner's
    assert len({by_method[m]["code_version"] for m in ("voynov", "mic_gan", "pixel_kmeans")}) == 3
    imle = [by_method[m] for m in ("imle_clusters", "imle_clusters_on_z", "imle_clusters_random")]
    for record in imle:
        assert record["run"]["control"] == "MappedClusters"
        assert record["seconds"]["total"] < 60
        assert record["config"]["method"]["epochs"] == 2  # the smoke budget was applied
        training = record["training"]
        assert sum(training["cluster_sizes"]) == 1000 and training["iterations"] == 10 * 2
        expected = {
            "generated_purity",
            "class_coverage",
            "source_purity",
            "latent_spread_ratio",
            "unconditional_recall",
            "unconditional_coverage",
        }
        assert expected <= set(record["metrics"])
        run_dir = Path(record["config"]["paths"]["output"])
        for name in ("grid", "cluster_0", "cluster_9", "source_grid"):
            assert (run_dir / record["artifacts"][name]).stat().st_size > 0, name
    # The truncation controls steer IMLE's very clusters, at the spread they were asked for.
    layer_clusters = by_method["imle_clusters"]["training"]["cluster_sizes"]
    for method in ("imle_clusters_truncated", "imle_clusters_truncation_trick"):
        record = by_method[method]
        assert record["run"]["control"] == "ShrunkClusters"
        assert record["training"]["cluster_sizes"] == layer_clusters
        assert record["metrics"]["latent_spread_ratio"]["value"] == pytest.approx(0.2, abs=0.03)
    # The direction baselines: scored at calibrated scales, their pictures saved.
    for method in ("random_directions", "axis_directions", "ganspace", "sefa"):
        record = by_method[method]
        assert record["run"]["control"] == "LinearDirections"
        expected = {
            "edit_scale",
            "image_change",
            "rca_posthoc",
            "ppl_directions",
            "ppl_directions_calibrated",
            "s_disent",
            "n_attr",
            "ppl_standard",
        }
        assert expected <= set(record["metrics"]), method
        run_dir = Path(record["config"]["paths"]["output"])
        for name in ("grid", "traversals", "attribute_change"):
            assert (run_dir / record["artifacts"][name]).stat().st_size > 0, (method, name)
    # Voynov's and Lu et al.'s deformators: scored like the baselines, and by their own R too.
    for method in ("voynov", "lu_centroid", "lu_no_centroid"):
        record = by_method[method]
        assert record["run"]["control"] == "DeformatorDirections"
        assert record["training"]["iterations"] == 4
        assert {"rca_posthoc", "rca_own", "ppl_directions_calibrated"} <= set(record["metrics"])
    assert by_method["voynov"]["training"]["deformator"] == "ortho"
    assert by_method["lu_centroid"]["config"]["method"]["centroid"] is True
    assert by_method["lu_no_centroid"]["config"]["method"]["centroid"] is False
    # ContraFeat edits w⁺, so its rows pick the style-based generator themselves.
    for method in ("contrafeat_bi", "contrafeat_pt"):
        record = by_method[method]
        assert record["run"]["control"] == "AttendedDirections"
        assert record["run"]["generator"] == "stylegan_lite"
        assert {"rca_posthoc", "s_disent", "n_attr"} <= set(record["metrics"])
        run_dir = Path(record["config"]["paths"]["output"])
        assert (run_dir / record["artifacts"]["traversals"]).stat().st_size > 0
    assert "patterns" in by_method["contrafeat_pt"]["artifacts"]
    for variant in ("bi", "pt"):  # Table 1's "att" rows: fixed directions, attention learned
        for base in ("ganspace", "sefa"):
            record = by_method[f"contrafeat_{variant}_{base}"]
            assert record["config"]["method"]["base"] == base
            assert record["config"]["method"]["variant"] == variant
    # The triple-coupled GAN trains its own conditioned GAN; its baseline is the featureless one.
    coupled, baseline = by_method["triple_coupled"], by_method["triple_coupled_baseline"]
    assert coupled["run"]["control"] == "FeatureConditioned"
    assert coupled["run"]["generator"] == baseline["run"]["generator"] == "sngan"
    assert coupled["training"]["iterations"] == 10 and coupled["training"]["feature_dim"] == 256
    expected = {"conditional_accuracy", "sensor_neighbour_rate_1", "sensor_neighbour_rate_5"}
    assert expected <= set(coupled["metrics"])
    run_dir = Path(coupled["config"]["paths"]["output"])
    for name in ("grid", "exemplars"):
        assert (run_dir / coupled["artifacts"][name]).stat().st_size > 0, name
    assert baseline["run"]["control"] == "Unconditional" and "fid" in baseline["metrics"]
    # Table 3's rows and the pixel sensor: the same class, one setting changed each.
    changed = {
        "triple_coupled_no_same": ("lambda_same", 0.0),
        "triple_coupled_no_diff": ("lambda_diff", 0.0),
        "triple_coupled_minimax": ("objective", "minimax"),
        "triple_coupled_pixels": ("sensor", "pixels"),
    }
    for method, (key, value) in changed.items():
        record = by_method[method]
        assert record["config"]["method"][key] == value and record["status"] == "ok", method
        assert record["run"]["control"] == "FeatureConditioned"
    assert by_method["triple_coupled_pixels"]["training"]["feature_dim"] == 32 * 32
    # MIC-GAN trains its conditional GAN through every phase; its two baselines are rows too.
    mic = by_method["mic_gan"]
    assert mic["run"]["control"] == "TableClusters"
    assert mic["training"]["iterations"] == 4 + 2 * (2 + 1 + 2) and len(mic["training"]["crp"]) == 2
    assert {"purity", "purity_top", "nmi", "ari", "generated_purity"} <= set(mic["metrics"])
    assert by_method["mic_gan_single"]["training"]["weights"] == [1.0]
    pixels = by_method["pixel_kmeans"]
    assert pixels["run"]["control"] == "PixelClusters" and "nmi" in pixels["metrics"]
    assert pixels["run"]["generator"] == "real images"  # it samples its clusters' members
    # Run again, the sweep skips every finished job and leaves its results as they were.
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "outputs").rglob("results.json")}
    start = time.perf_counter()
    rerun = ganctrl(
        tmp_path, "-m", "bench=full", "experiment=smoke", "data=mnist_subset", cache=shared_cache
    )
    assert time.perf_counter() - start < 60
    log = rerun.stdout + rerun.stderr
    assert log.count("holds this config's finished results") == len(rows)
    assert "delete the folder to rerun it" not in log  # the same code: no drift reported
    # the glob(*) rows counted as jobs; the skipped ones kept out of the time estimate
    assert f"sweep job {len(rows)} of {len(rows)}; {len(rows) - 1} skipped:" in log
    assert {p: p.stat().st_mtime_ns for p in written} == written


@pytest.mark.slow
def test_imle_layer_sweep_on_stylegan_lite_keeps_every_job(tmp_path, shared_cache):
    """Jobs that differ only in a method setting get folders of their own."""
    ganctrl(
        tmp_path,
        "-m",
        "experiment=smoke",
        "method=imle_clusters",
        "generator=stylegan_lite",
        "method.clustering.clusters=3",
        "method.clustering.layer=2,3",
        cache=shared_cache,
    )
    records = results(tmp_path)
    assert sorted(r["config"]["method"]["clustering"]["layer"] for r in records) == [2, 3]
    assert all(r["status"] == "ok" and r["run"]["generator"] == "stylegan_lite" for r in records)
    assert all(len(r["training"]["cluster_sizes"]) == 3 for r in records)
