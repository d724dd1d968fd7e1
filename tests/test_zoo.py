import json
import subprocess
import sys

import pytest
import torch
from hydra.utils import instantiate

from ganctrl.benchmarks.job.trainer import build_trainer
from ganctrl.benchmarks.zoo import generators, quality

WORKER = """
import sys
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from ganctrl.benchmarks.zoo import generators
from ganctrl.benchmarks.job.config import register_schema
from ganctrl.benchmarks.job.trainer import build_trainer
register_schema()
with initialize_config_module("ganctrl.conf", version_base="1.3"):
    cfg = compose("config", overrides=["experiment=smoke", "generator.train.steps=150"])
dm = instantiate(cfg.data)
dm.setup()
entry = generators.pretrained(cfg.generator, cfg.data, dm, sys.argv[1], "test",
                       lambda label, callbacks: build_trainer(cfg.trainer, label,
                                                              callbacks=callbacks),
                       cfg.metrics, "cpu")
print("TRAINED" if entry.trained else "LOADED")
"""


def same_weights(a, b) -> bool:
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _pretrained(cfg, cache):
    dm = instantiate(cfg.data)
    dm.setup()
    return generators.pretrained(
        cfg.generator,
        cfg.data,
        dm,
        cache,
        "test",
        lambda label, callbacks: build_trainer(cfg.trainer, label, callbacks=callbacks),
        cfg.metrics,
        "cpu",
    )


@pytest.mark.slow
def test_zoo_trains_once_then_reuses(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=smoke")
    first = _pretrained(cfg, tmp_path)
    assert first.trained and first.path.exists() and first.path.with_suffix(".png").exists()
    second = _pretrained(cfg, tmp_path)
    assert not second.trained and second.path == first.path
    assert same_weights(first.generator, second.generator)
    assert not any(p.requires_grad for p in second.generator.parameters())

    other_seed = _pretrained(compose_cfg("experiment=smoke", "generator.seed=1"), tmp_path)
    assert other_seed.trained and other_seed.path != first.path
    # where data lives or how it loads does not change the key
    assert not _pretrained(compose_cfg("experiment=smoke", "data.num_workers=0"), tmp_path).trained


@pytest.mark.slow
def test_zoo_training_is_reproducible_from_the_seed(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=smoke")
    a = _pretrained(cfg, tmp_path / "a").generator
    assert same_weights(a, _pretrained(cfg, tmp_path / "b").generator)


@pytest.mark.slow
def test_two_processes_asking_for_one_key_train_it_once(tmp_path):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = sorted(w.communicate(timeout=300)[0].strip().splitlines()[-1] for w in workers)
    assert all(w.returncode == 0 for w in workers)
    assert outcomes == ["LOADED", "TRAINED"]
    assert len(list((tmp_path / "generators").glob("*.pt"))) == 1


def test_user_checkpoint_is_loaded_with_weights_only(compose_cfg, tmp_path):
    cfg = compose_cfg("experiment=smoke")
    trained = _pretrained(cfg, tmp_path)
    own = tmp_path / "mine.pt"
    torch.save(trained.generator.state_dict(), own)
    entry = _pretrained(compose_cfg("experiment=smoke", f"generator.checkpoint={own}"), tmp_path)
    assert not entry.trained and entry.path == own
    assert same_weights(entry.generator, trained.generator)
    # measured on first use, its sidecar in the cache, keyed by the file's content
    (sidecar,) = (tmp_path / "generators").glob("user-*.quality-*.json")
    assert json.loads(sidecar.read_text()) == entry.quality
    assert entry.quality["fid"]["value"] == pytest.approx(trained.quality["fid"]["value"])


@pytest.mark.slow
def test_quality_is_measured_once_per_protocol_and_the_curve_written(
    compose_cfg, tmp_path, monkeypatch
):
    first = _pretrained(compose_cfg("experiment=smoke", "generator.curve_every=4"), tmp_path)
    (sidecar,) = (tmp_path / "generators").glob("*.quality-*.json")
    assert json.loads(sidecar.read_text()) == first.quality
    assert set(quality.QUALITY_METRICS) <= set(first.quality)
    assert first.quality["fid"]["floor"] < first.quality["fid"]["value"]
    curve = json.loads(first.path.with_suffix(".curve.json").read_text())
    assert [p["iteration"] for p in curve["points"]] == [4, 8, 10]
    assert all("raw" in p for p in curve["points"])  # the recipe keeps an EMA: both measured
    assert curve["points"][-1]["fid"] == pytest.approx(first.quality["fid"]["value"])

    def measured_again(*args, **kwargs):
        raise AssertionError("the sidecar should have been read, not measured again")

    with monkeypatch.context() as patch:
        patch.setattr(quality, "measure_quality", measured_again)
        # curve_every is not part of the key: the same generator, and its quality, are reused
        second = _pretrained(compose_cfg("experiment=smoke"), tmp_path)
    assert not second.trained and second.quality == first.quality
    other_protocol = _pretrained(compose_cfg("experiment=smoke", "metrics.n=150"), tmp_path)
    assert not other_protocol.trained and other_protocol.quality["n"] == 150
    assert len(list((tmp_path / "generators").glob("*.quality-*.json"))) == 2
    # a job that runs one other family still measures a new protocol's quality in full
    one_family = ("experiment=smoke", "metrics.n=120", "metrics.families=[directions]")
    assert set(quality.QUALITY_METRICS) <= set(
        _pretrained(compose_cfg(*one_family), tmp_path).quality
    )


def test_the_zoo_key_changes_with_the_threads_and_the_device_it_trains_on(
    compose_cfg, restore_threads, monkeypatch
):
    cfg = compose_cfg("experiment=smoke")
    keys = set()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        keys.add(generators.zoo_key(cfg.data, cfg.generator, "cpu"))
    for gpu in ("NVIDIA H200", "NVIDIA A100-SXM4-80GB"):
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device, gpu=gpu: gpu)
        keys.add(generators.zoo_key(cfg.data, cfg.generator, torch.device("cuda", 0)))
    assert len(keys) == 4


@pytest.mark.slow
def test_a_change_to_the_code_that_trains_a_generator_retrains_it(
    compose_cfg, tmp_path, monkeypatch
):
    cfg = compose_cfg("experiment=smoke")
    first = _pretrained(cfg, tmp_path)
    monkeypatch.setattr(generators, "code_version", lambda *objects: "edited backbone")
    changed = _pretrained(cfg, tmp_path)
    assert changed.trained and changed.path != first.path
