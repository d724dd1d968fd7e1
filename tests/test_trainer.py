import pytest
import torch

from ganctrl.benchmarks.job.config import ConfigError
from ganctrl.benchmarks.job.trainer import (
    build_trainer,
    job_device,
    pin_threads,
    process_count,
    resolved_trainer_settings,
)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the fallback of a CPU-only machine")
def test_gpu_choices_fall_back_to_the_cpu_with_a_warning(compose_cfg, caplog):
    cfg = compose_cfg("trainer=gpu", "trainer.precision=bf16-mixed")
    settings = resolved_trainer_settings(cfg.trainer)
    assert settings["accelerator"] == "cpu" and settings["precision"] == "32-true"
    assert "CUDA is not available" in caplog.text
    assert job_device(cfg.trainer) == torch.device("cpu")


def test_cpu_trainer_is_left_as_configured(compose_cfg):
    cfg = compose_cfg("trainer=cpu")
    assert resolved_trainer_settings(cfg.trainer)["accelerator"] == "cpu"
    assert job_device(cfg.trainer) == torch.device("cpu")


def test_users_trainer_settings_reach_the_trainer_over_the_harness_defaults(compose_cfg):
    cfg = compose_cfg("+trainer.enable_model_summary=true", "+trainer.gradient_clip_val=0.5")
    settings = resolved_trainer_settings(cfg.trainer)
    assert settings["enable_model_summary"] is True  # the harness default is False
    assert settings["max_epochs"] == -1 and settings["num_sanity_val_steps"] == 0
    trainer = build_trainer(settings, "test")
    assert trainer.gradient_clip_val == 0.5 and trainer.max_epochs == -1


def test_process_count_reads_devices_and_nodes(compose_cfg):
    assert process_count(compose_cfg("trainer=cpu").trainer) == 1
    assert process_count(compose_cfg("trainer.devices=2", "+trainer.strategy=ddp").trainer) == 2
    assert process_count({"accelerator": "cpu", "devices": "0,1", "num_nodes": 2}) == 4
    assert process_count({"accelerator": "cpu", "devices": "auto"}) == 1


def test_the_thread_count_is_written_into_the_config_or_set_from_it(compose_cfg, restore_threads):
    cfg = compose_cfg()
    assert cfg.threads is None
    assert pin_threads(cfg) == cfg.threads == restore_threads  # torch's own count, written in
    assert pin_threads(compose_cfg("threads=1")) == 1 and torch.get_num_threads() == 1
    with pytest.raises(ConfigError, match=r"threads=0: give a count of 1 or more, or null"):
        pin_threads(compose_cfg("threads=0"))


def test_a_null_thread_count_after_a_pinned_job_in_the_same_process_is_torchs_own(
    compose_cfg, restore_threads
):
    pin_threads(compose_cfg(f"threads={restore_threads + 1}"))  # a multirun's earlier job
    assert pin_threads(compose_cfg()) == torch.get_num_threads() == restore_threads
