"""An exponential moving average of a network's weights, the copy a GAN samples from.

θ_ema ← β θ_ema + (1 − β) θ after every generator step (Karras et al. 2018; Yazıcı et al. 2019).
Buffers are not averaged but copied, as StyleGAN2-ADA does. A BatchNorm generator's running
statistics were gathered under the raw weights, not the averaged ones, so before the averaged
copy is sampled in eval mode `recalibrate_batchnorm` re-estimates them under its own weights
(BigGAN's "standing statistics").
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_copy(network: nn.Module) -> nn.Module:
    """A frozen copy of `network` to average into."""
    return copy.deepcopy(network).requires_grad_(False)


@torch.no_grad()
def ema_update(average: nn.Module, network: nn.Module, beta: float) -> None:
    """average ← β·average + (1 − β)·network, parameter by parameter; buffers copied."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"the EMA decay must lie in [0, 1), got {beta}")
    for mean, current in zip(average.parameters(), network.parameters(), strict=True):
        mean.lerp_(current, 1.0 - beta)
    for mine, theirs in zip(average.buffers(), network.buffers(), strict=True):
        mine.copy_(theirs)


def has_batchnorm(network: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, batches: int, batch_size: int, seed: int) -> None:
    """Re-estimate every BatchNorm's running mean and variance as the plain average over
    `batches` seeded batches of G's own forward passes; leaves G in eval mode."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    generator.train()
    rng = torch.Generator(device=next(generator.parameters()).device).manual_seed(seed)
    for _ in range(batches):
        generator(generator.sample_latents(batch_size, generator=rng))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    generator.eval()
