"""GAN losses as small pure functions of discriminator logits (pinned in tests/test_losses.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nonsaturating_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−E log σ(D(x)) − E log(1 − σ(D(G(z)))) (Goodfellow et al. 2014)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def nonsaturating_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """−E log σ(D(G(z))), the non-saturating generator loss."""
    return F.softplus(-fake_logits).mean()


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))) (Lim & Ye 2017; SNGAN)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


GAN_LOSSES = {"nonsaturating": (nonsaturating_d, nonsaturating_g), "hinge": (hinge_d, hinge_g)}


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E ‖∇ₓ D(x)‖² over real images (Mescheder et al. 2018); the recipe scales it by γ/2.
    `real` must require grad and `real_logits` be D(real), built with it."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(dim=1).mean()
