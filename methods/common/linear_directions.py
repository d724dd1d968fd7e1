"""`LinearDirections`: K unit directions in one of G's latent spaces, edited by adding ε·d_k.

The space is G's own: z for generators without a mapping network (dcgan, sngan), w for
style-based ones (stylegan_lite), where latents are w⁺ (B, num_ws, w_dim) and an edit moves every
layer's w by the same vector, so a sampled w⁺ stays in the span of its single w; or, given per-layer
directions (K, num_ws, w_dim) (ContraFeat's layer attention), each layer by its own. Every direction
method whose edits are linear (the direction baselines, the deformators, ContraFeat's PCA-subspace
directions) renders through this control, so the direction metrics see one convention.
"""

from __future__ import annotations

import torch
from torch import nn

from ganctrl.methods.backbones.base import SPACES, space_dim, synthesise
from ganctrl.methods.common.contract import Directions, seeded


class LinearDirections(Directions):
    """edit(x, k, ε) = x + ε·d_k with ‖d_k‖ = 1 (over every coordinate it moves); `coordinates(x)`
    = x·dᵀ (the control code the disentanglement encoder learns to predict)."""

    def __init__(
        self, generator: nn.Module, directions: torch.Tensor, space: str, batch_size: int = 256
    ):
        super().__init__(generator, batch_size)
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        dim = space_dim(generator, space)
        shapes = [(dim,)] + ([(generator.num_ws, dim)] if space == "w" else [])
        if tuple(directions.shape[1:]) not in shapes:
            allowed = " or ".join(str(("K", *shape)).replace("'", "") for shape in shapes)
            raise ValueError(
                f"directions must be {allowed} for {space}-space edits of this "
                f"generator, got {tuple(directions.shape)}"
            )
        norms = directions.flatten(1).norm(dim=1).reshape(-1, *[1] * (directions.ndim - 1))
        if not torch.all(norms > 0):
            raise ValueError("every direction needs a nonzero norm")
        self.space = space
        self.directions = (directions / norms).to(self.device, torch.float32)
        self.k = len(directions)

    @torch.no_grad()
    def sample_latents(self, n: int, seed: int = 0) -> torch.Tensor:
        z = self.generator.sample_latents(n, generator=seeded(seed, self.device))
        if self.space == "z":
            return z
        return torch.cat(
            [
                self.generator.mapping(z[i : i + self.batch_size])
                for i in range(0, n, self.batch_size)
            ]
        )

    def edit(self, latents: torch.Tensor, k: int, eps: float | torch.Tensor) -> torch.Tensor:
        eps = torch.as_tensor(eps, dtype=latents.dtype, device=latents.device)
        eps = eps.reshape(-1, *([1] * (latents.ndim - 1)))  # a scalar, or one ε per latent
        return latents + eps * self.directions[k]

    @torch.no_grad()
    def render(self, latents: torch.Tensor) -> torch.Tensor:
        if self.space == "z":
            return self.render_latents(latents)
        return synthesise(self.generator, latents, self.batch_size)

    def layer_profile(self) -> torch.Tensor | None:
        """(K, num_ws): how far each direction moves each layer of w⁺ (its row norm per layer),
        drawn beside its traversal strip; None where every layer moves alike."""
        return self.directions.norm(dim=-1).cpu() if self.directions.ndim == 3 else None

    def coordinates(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, K): each latent's coordinate along each direction (w⁺ under directions shared by
        every layer: its first layer's w)."""
        flat = latents if self.space == "z" or self.directions.ndim == 3 else latents[:, 0]
        return flat.flatten(1) @ self.directions.flatten(1).t()
