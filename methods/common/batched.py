"""A frozen net over many images, a batch at a time: the pass the methods' non-gradient steps make
(a sensor's feature bank, MIC-GAN's embedding of every real image, a control's `encode`)."""

from __future__ import annotations

from collections.abc import Callable

import torch


@torch.no_grad()
def in_batches(
    net: Callable, images: torch.Tensor, batch_size: int, device: torch.device | str
) -> torch.Tensor:
    """net(images), `batch_size` rows at a time on `device`; the result on the CPU."""
    return torch.cat(
        [
            net(images[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(images), batch_size)
        ]
    )
