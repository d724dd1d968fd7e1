"""Running statistics that fit a network's current weights.

Training normalises by minibatch statistics, while BatchNorm's running averages lag behind
weights that keep moving, or were gathered under other weights altogether (an EMA copy of G);
eval mode with such statistics computes something training never did. Re-estimated over the
network's own forward passes, eval mode computes what training computes, up to minibatch noise.
Used by IMLE's mappings (methods/imle_clusters.py) and the zoo's EMA generators (BigGAN's
"standing statistics", methods/unconditional.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


@torch.no_grad()
def recalibrate_batchnorm(network: nn.Module, inputs: Iterable[torch.Tensor]) -> nn.Module:
    """Set every BatchNorm's running mean and variance to the plain average of its batch
    statistics over `network(x)` for each x in `inputs` (one batch sets them exactly), and
    return the network in eval mode."""
    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return network.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    network.train()
    for x in inputs:
        network(x)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    return network.eval()
