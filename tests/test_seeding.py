"""ganctrl.seeding: a net's own seed decides its CPU draws, and moves no other stream."""

import pytest
import torch
import torchvision

from ganctrl.methods.backbones.sensors import AlexNetSensor
from ganctrl.seeding import cpu_seeded


def test_inside_the_seed_decides_and_after_the_stream_goes_on_as_if_untouched():
    torch.manual_seed(5)
    untouched = torch.randn(4)
    torch.manual_seed(5)
    with cpu_seeded(9):
        inside = torch.randn(4)
    assert torch.equal(inside, torch.randn(4, generator=torch.Generator().manual_seed(9)))
    assert torch.equal(torch.randn(4), untouched)


@pytest.fixture
def cuda_seeds(monkeypatch):
    """Seeds given to every GPU's stream (torch.manual_seed gives them, lazily where CUDA has not
    started, so this sees them on a CPU-only machine too)."""
    seeds = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeds.append)
    return seeds


def test_no_gpu_stream_is_reseeded(cuda_seeds):
    torch.manual_seed(7)
    assert cuda_seeds == [7]  # what fork_rng(devices=[]) around torch.manual_seed let through
    cuda_seeds.clear()
    with cpu_seeded(3):
        torch.randn(2)
    assert cuda_seeds == []


def test_the_sensor_leaves_the_job_s_gpu_stream_alone_and_keeps_its_weights(cuda_seeds):
    """The triple-coupled GAN builds its sensor after the job's seed and then draws its training
    latents on the job's device: building it must not reseed that stream. Its weights are those
    of torch.manual_seed(seed), as before."""
    sensor = AlexNetSensor(seed=4)
    assert cuda_seeds == []
    torch.manual_seed(4)
    reference = torchvision.models.alexnet(weights=None).features
    assert all(
        torch.equal(a, b)
        for a, b in zip(sensor.features.parameters(), reference.parameters(), strict=True)
    )
