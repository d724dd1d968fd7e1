"""The contract every backbone generator follows: latent sampling and the layer-tap check.

`z_dim` sizes the latent; `num_blocks` counts the layer taps of `features(z, layer)`, from 1 (the
first block) to `num_blocks` (the image). Methods validate a tap with `check_layer` before use.
"""

from __future__ import annotations

import torch
from torch import nn


class GeneratorBase(nn.Module):
    """Shared by every backbone generator: latent sampling and the layer-tap contract."""

    z_dim: int
    num_blocks: int

    def sample_latents(
        self, n: int, generator: torch.Generator | None = None, device=None
    ) -> torch.Tensor:
        device = device if device is not None else next(self.parameters()).device
        return torch.randn(n, self.z_dim, generator=generator, device=device)

    def check_layer(self, layer: int) -> None:
        if not 1 <= layer <= self.num_blocks:
            raise ValueError(f"layer must lie in [1, {self.num_blocks}], got {layer}")


SPACES = ("z", "w")


def latent_space(generator: nn.Module) -> str:
    """ "w" for a style-based generator (it has a mapping network), else "z"."""
    return "w" if hasattr(generator, "mapping") and hasattr(generator, "synthesis") else "z"


def space_dim(generator: nn.Module, space: str) -> int:
    return generator.w_dim if space == "w" else generator.z_dim


@torch.no_grad()
def synthesise(generator: nn.Module, ws: torch.Tensor, batch_size: int) -> torch.Tensor:
    """A style-based G's synthesis network over w⁺ latents (B, num_ws, w_dim), in batches."""
    return torch.cat(
        [generator.synthesis(ws[i : i + batch_size]) for i in range(0, len(ws), batch_size)]
    )
