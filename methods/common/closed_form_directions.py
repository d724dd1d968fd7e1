"""Closed-form directions in a latent space, shared by every plugin that starts from them: the
direction baselines, the deformators' fixed and initial directions, ContraFeat's PCA subspace.

- `random_orthonormal`: K random orthonormal directions (QR of a seeded Gaussian matrix);
- `coordinate_axes`: the first K coordinate axes;
- `principal_axes` / `regressed_components`: GANSpace (Härkönen et al. 2020), in w, or for G
  without a w through the first block's activations regressed back onto z;
- `sefa` / `latent_reading_weight`: SeFa (Shen & Zhou 2021), the top eigenvectors of AᵀA for the
  weight A that first reads the latent.
"""

from __future__ import annotations

import torch
from torch import nn


def random_orthonormal(dim: int, k: int, seed: int) -> torch.Tensor:
    """(k, dim) orthonormal rows, uniformly distributed (QR of a Gaussian with sign fix)."""
    gaussian = torch.randn(
        dim, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    q, r = torch.linalg.qr(gaussian)
    return (q * torch.sign(torch.diagonal(r))).t().float()


def coordinate_axes(dim: int, k: int) -> torch.Tensor:
    return torch.eye(dim)[:k]


def principal_axes(samples: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k principal axes of `samples` (rows), and the share of variance each explains."""
    centred = samples.double() - samples.double().mean(dim=0)
    _, singular, vt = torch.linalg.svd(centred, full_matrices=False)
    variance = singular.square()
    return vt[:k].float(), (variance[:k] / variance.sum()).float()


def regressed_components(latents: torch.Tensor, activations: torch.Tensor, k: int):
    """GANSpace for G without a w: PCA of the activations, then z ≈ X·U by least squares on the
    components' coordinates X; the rows of U are the directions in z. Also the explained shares."""
    axes, shares = principal_axes(activations, k)
    centred = activations.double() - activations.double().mean(dim=0)
    coordinates = centred @ axes.double().t()
    solution = torch.linalg.lstsq(coordinates, latents.double()).solution  # (k, z_dim)
    return solution.float(), shares


def sefa(weight: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k eigenvectors of AᵀA for A = `weight` (out, latent), as rows, and their
    eigenvalues, largest first."""
    values, vectors = torch.linalg.eigh(weight.double().t() @ weight.double())
    order = torch.argsort(values, descending=True)[:k]
    return vectors[:, order].t().float(), values[order].float()


def latent_reading_weight(generator: nn.Module, space: str) -> torch.Tensor:
    """The weight SeFa factorises: the layer(s) that first read the latent."""
    if space == "w":
        affines = [m.affine for m in generator.synthesis_network.modules() if hasattr(m, "affine")]
        return torch.cat([a.weight * a.weight_gain for a in affines])
    return generator.blocks[0].linear.weight
