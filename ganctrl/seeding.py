"""A net built from a seed of its own, on the CPU's random stream only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def cpu_seeded(seed: int) -> Iterator[None]:
    """Inside: the CPU's default generator seeded with `seed`; after: its state as before.

    `torch.manual_seed` would also reseed every CUDA device's stream, which
    `fork_rng(devices=[])` does not restore: a job's later draws on the GPU would follow this
    seed instead of the job's (the triple-coupled GAN draws its training latents there, after its
    sensor is built from a seed of 0 in every row)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield
