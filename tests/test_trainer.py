import pytest
import torch

from ganctrl.benchmarks.trainer import job_device, resolved_trainer_settings


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
