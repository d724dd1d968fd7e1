"""An exponential moving average of a network's weights, the copy a GAN samples from.

θ_ema ← β θ_ema + (1 − β) θ after every generator step (Karras et al. 2018; Yazıcı et al. 2019).
Buffers are not averaged but copied, as StyleGAN2-ADA does. A BatchNorm generator's running
statistics were gathered under the raw weights, not the averaged ones, so before the averaged
copy is sampled in eval mode they are re-estimated under its own weights
(methods/batchnorm.py).
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
