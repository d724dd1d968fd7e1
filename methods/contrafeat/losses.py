"""ContraFeat's attention smoothing and contrastive losses on deep-feature changes (Zhu, Xu, Tao;
docs/METHODS.md §3), as small pure functions on tensors.

A feature change D is one sensor tap's (B, C, H, W) difference between an edited and an original
image's maps. Its mask is the per-sample min-max normalised map of D's channel norm; two changes
are alike where their channel directions agree inside both masks, the cosine squared so that the
sign of the edit does not matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6


def gaussian_kernel(size: int = 3, sigma: float = 1.0) -> torch.Tensor:
    """A normalised 1-d Gaussian; size 3, σ 1: [0.274, 0.452, 0.274]."""
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


def smoothed_attention(logits: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """(K, L) logits over the layers of w⁺ → softmax, then blurred along the layers with
    reflect padding: each direction's attention α_k."""
    weights = torch.softmax(logits, dim=1)[:, None]  # (K, 1, L)
    pad = len(kernel) // 2
    padded = F.pad(weights, (pad, pad), mode="reflect")
    return F.conv1d(padded, kernel.to(logits)[None, None]).squeeze(1)


def rms_normalised(vectors: torch.Tensor) -> torch.Tensor:
    """Rows rescaled to a root mean square of 1 over their coordinates."""
    return vectors / vectors.square().mean(dim=1, keepdim=True).sqrt().clamp_min(EPS)


def change_mask(change: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, H, W): the channel L2 norm, min-max normalised within each sample."""
    norm = change.norm(dim=1)
    low = norm.flatten(1).min(dim=1).values[:, None, None]
    high = norm.flatten(1).max(dim=1).values[:, None, None]
    return (norm - low) / (high - low).clamp_min(EPS)


def masked_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B,): Σ_p (cos_c(a_p, b_p)·m(a)_p·m(b)_p)² / (Σ_p m(a)_p·m(b)_p + 1e-6), cos_c the cosine
    over channels at position p."""
    overlap = change_mask(a) * change_mask(b)
    cosine = F.cosine_similarity(a, b, dim=1, eps=EPS)
    return (cosine * overlap).square().flatten(1).sum(dim=1) / (overlap.flatten(1).sum(dim=1) + EPS)


def binary_loss(
    query: list[torch.Tensor], positive: list[torch.Tensor], negative: list[torch.Tensor]
) -> torch.Tensor:
    """Bi: Σ_l mean_b [−sim(D_q, D_p) + sim(D_q, D_n)] over the sensor taps l."""
    terms = [
        masked_similarity(q, n) - masked_similarity(q, p)
        for q, p, n in zip(query, positive, negative, strict=True)
    ]
    return torch.stack([t.mean() for t in terms]).sum()


def prototype_loss(
    changes: list[torch.Tensor], prototypes: list[torch.Tensor], directions: torch.Tensor
) -> torch.Tensor:
    """Pt: Σ_l mean_b [−sim(D_b, P_{q_b}) + mean_{k≠q_b} sim(D_b, P_k)], with `prototypes[l]` the
    (K, C, H, W) tap-l features of the K patterns, resized to the change's size."""
    total = 0
    for change, pattern in zip(changes, prototypes, strict=True):
        if pattern.shape[-2:] != change.shape[-2:]:
            pattern = F.interpolate(
                pattern, size=change.shape[-2:], mode="bilinear", align_corners=False
            )
        k = len(pattern)
        sims = torch.stack(
            [masked_similarity(change, pattern[j].expand_as(change)) for j in range(k)], dim=1
        )  # (B, K)
        own = sims.gather(1, directions[:, None]).squeeze(1)
        others = (sims.sum(dim=1) - own) / max(k - 1, 1)
        total = total + (others - own).mean()
    return total


def diversity_loss(edits: torch.Tensor) -> torch.Tensor:
    """Σ_{i≠j} cos(vec Δ_i, vec Δ_j)² over the K edits (K, …): 0 for orthogonal edits."""
    flat = F.normalize(edits.flatten(1), dim=1)
    cosine = flat @ flat.t()
    return cosine.square().sum() - cosine.diagonal().square().sum()


def uniform_scale(n: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    """s ~ U(−1, 1)·scale, n draws."""
    return scale * (2 * torch.rand(n, generator=generator) - 1)
