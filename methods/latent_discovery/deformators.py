"""The deformator A of Voynov & Babenko and Lu et al. (docs/METHODS.md §4): a map from ε·e_k (a
one-hot direction k scaled by a shift ε) to a shift of G's latent, and the draws and losses that
train it, as small functions on tensors.

Types, as in Voynov's `LatentDeformator` (K directions into a d-dimensional latent):
- `ortho`: A = exp(L − Lᵀ), d × d orthogonal; direction k is its k-th column;
- `linear`: a K → d linear map with a bias;
- `projective`: the linear map, its output rescaled to the norm of its input (|ε|);
- `fc`: Lu et al.'s three fully connected layers of 1024 with batch norm, ELU and the skip sums
  of the authors' code, a linear read-out, plus the input itself (e_k's first K coordinates);
- `id` and `random`: fixed, the direction baselines' coordinate axes and random orthonormal
  directions (methods/direction_baselines.py), nothing to train.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganctrl.methods.common.closed_form_directions import coordinate_axes, random_orthonormal
from ganctrl.seeding import cpu_seeded

TYPES = ("ortho", "linear", "projective", "fc", "id", "random")
FIXED_TYPES = ("id", "random")
SHIFT_SCALE = 6.0  # ε = 6·U(−1, 1) ...
MIN_SHIFT = 0.5  # ... with |ε| raised to at least 0.5, keeping its sign (Voynov's `make_shifts`)
FC_WIDTH = 1024


class LatentDeformator(nn.Module):
    """A(ε·e_k): (B, K) inputs → (B, d) latent shifts."""

    def __init__(self, kind: str, k: int, dim: int, seed: int = 0, random_init: bool = True):
        super().__init__()
        if kind not in TYPES:
            raise ValueError(f"method.deformator must be one of {TYPES}, got {kind!r}")
        if not 1 <= k <= dim:
            raise ValueError(f"method.directions must lie in [1, {dim}], got {k}")
        self.kind, self.k, self.dim = kind, k, dim
        with cpu_seeded(seed):
            self._build(random_init, seed)

    def _build(self, random_init: bool, seed: int) -> None:
        k, dim = self.k, self.dim
        if self.kind == "ortho":  # Voynov's init: N(0, 1), or near-identity without random_init
            self.log_half = nn.Parameter((1.0 if random_init else 1e-3) * torch.randn(dim, dim))
        elif self.kind in ("linear", "projective"):
            self.linear = nn.Linear(k, dim)
            with torch.no_grad():  # Voynov's init: 0.1·N(0, 1), or the first K axes
                if random_init:
                    self.linear.weight.copy_(0.1 * torch.randn(dim, k))
                else:
                    self.linear.weight.copy_(coordinate_axes(dim, k).t())
        elif self.kind == "fc":
            self.fc = nn.ModuleList(
                [
                    nn.Linear(k, FC_WIDTH),
                    nn.Linear(FC_WIDTH, FC_WIDTH),
                    nn.Linear(FC_WIDTH, FC_WIDTH),
                ]
            )
            self.norms = nn.ModuleList([nn.BatchNorm1d(FC_WIDTH) for _ in range(3)])
            self.out = nn.Linear(FC_WIDTH, dim)
        elif self.kind == "id":
            self.register_buffer("fixed", coordinate_axes(dim, k).t().contiguous())  # (d, K)
        else:
            self.register_buffer("fixed", random_orthonormal(dim, k, seed).t().contiguous())

    @property
    def trainable(self) -> bool:
        return self.kind not in FIXED_TYPES

    def orthogonal(self) -> torch.Tensor:
        return torch.linalg.matrix_exp(self.log_half - self.log_half.t())

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        if self.kind in FIXED_TYPES:
            return codes @ self.fixed.t()
        if self.kind == "ortho":
            return codes @ self.orthogonal()[:, : self.k].t()
        if self.kind == "linear":
            return self.linear(codes)
        if self.kind == "projective":
            out = self.linear(codes)
            return codes.norm(dim=1, keepdim=True) / out.norm(dim=1, keepdim=True) * out
        # fc: each layer reads the sum of every earlier pre-activation (the authors' skips)
        sums, h = 0, codes
        for linear, norm in zip(self.fc, self.norms, strict=True):
            sums = sums + linear(h)
            h = F.elu(norm(sums))
        return self.out(h) + F.pad(codes, (0, self.dim - self.k))


def sample_shifts(n: int, k: int, generator: torch.Generator, device=None):
    """Voynov's draws: directions k ~ U{K}, shifts ε = 6·U(−1, 1) with |ε| raised to ≥ 0.5."""
    directions = torch.randint(k, (n,), generator=generator).to(device)
    eps = SHIFT_SCALE * (2 * torch.rand(n, generator=generator) - 1)
    eps = torch.where(eps.abs() < MIN_SHIFT, MIN_SHIFT * torch.where(eps < 0, -1.0, 1.0), eps)
    return directions, eps.to(device)


def one_hot_codes(directions: torch.Tensor, eps: torch.Tensor, k: int) -> torch.Tensor:
    """ε·e_k as (B, K) rows."""
    return F.one_hot(directions, k).to(eps.dtype) * eps[:, None]


def centroid_loss(
    shifts: torch.Tensor, directions: torch.Tensor, eps: torch.Tensor, literal: bool = False
) -> torch.Tensor:
    """Lu et al.'s centroid loss on a batch of shift codes A(ε_n e_{k_n}): with the codes
    sign-normalised, u_n = sign(ε_n)·A(ε_n e_{k_n}), and c_k = Σ of the batch's u of direction k,
    mean_n (1 − cos(u_n, c_{k_n})): 0 when every direction's codes are parallel. `literal`: the
    printed L_c = mean_n cos(u_n, c_{k_n}), which rewards spreading them (1 minus the above)."""
    codes = torch.sign(eps)[:, None] * shifts
    centroids = torch.zeros(
        int(directions.max()) + 1, codes.shape[1], dtype=codes.dtype, device=codes.device
    ).index_add(0, directions, codes)
    cosine = F.cosine_similarity(codes, centroids[directions], dim=1)
    return cosine.mean() if literal else (1 - cosine).mean()
