"""Reconstructor classification accuracy, RCA (docs/METRICS.md, "Directions"): how well a net
that sees G(x) and G(edit(x, k, ε)) can tell which direction k moved it.

Edits are drawn as Voynov et al. draw them, on the calibrated scale: k uniform, ε = ±u·a_k with
u ~ U[`MIN_SHIFT`, 1] (a shift near 0 moves nothing and no reconstructor could name it). The
post-hoc reconstructor (`Reconstructor`) is one fixed architecture, trained from scratch for the
same steps on every control's frozen directions, and scored on fresh edits drawn with another seed.
A control that brings its own reconstructor offers `reconstruct(originals, edited)` → (N, K) logits
and is scored the same way ("RCA, own").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ganctrl.methods.base import Directions, seeded
from ganctrl.metrics.conv_trunk import FEATURES, conv_trunk, settle_batch_norm

MIN_SHIFT = 0.2  # of a_k: Voynov's ε ~ U[−6, 6] with |ε| ≥ 0.5 keeps about this share out
SHIFT_WEIGHT = 0.25  # λ of the shift-regression term, Voynov's default
SETTLE = 20  # fresh batches that fix the batch-norm statistics after training


class Reconstructor(nn.Module):
    """(image, edited image) → (K direction logits, the shift in calibrated units)."""

    def __init__(self, channels: int, k: int, width: int = 32, size: int = 32):
        super().__init__()
        self.size = size
        self.trunk = conv_trunk(2 * channels, width, size)
        self.direction = nn.Linear(FEATURES, k)
        self.shift = nn.Linear(FEATURES, 1)

    def forward(self, originals: torch.Tensor, edited: torch.Tensor):
        pair = torch.cat([originals, edited], dim=1)
        if pair.shape[-1] != self.size:
            pair = F.interpolate(pair, size=self.size, mode="bilinear", align_corners=False)
        h = self.trunk(pair)
        return self.direction(h), self.shift(h).squeeze(1)


def edit_each(control: Directions, latents: torch.Tensor, k: torch.Tensor,
              eps: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Latent i edited along its own direction k[i] by eps[i]."""
    edited = latents.clone()
    for direction in k.unique().tolist():
        rows = k == direction
        edited[rows] = control.edit(latents[rows], direction, eps[rows])
    return edited


@torch.no_grad()
def edit_pairs(control: Directions, scales: torch.Tensor, n: int, seed: int):
    """n (original, edited) image pairs, the direction of each and its shift in units of a_k."""
    device = control.device
    latents = control.sample_latents(n, seed)
    rng = seeded(int(np.random.SeedSequence([seed, 1]).generate_state(1)[0]), device)
    k = torch.randint(control.k, (n,), generator=rng, device=device)
    sign = torch.randint(2, (n,), generator=rng, device=device) * 2 - 1
    fraction = sign * (MIN_SHIFT + (1 - MIN_SHIFT) * torch.rand(n, generator=rng, device=device))
    eps = fraction * scales.to(device)[k]
    edited = edit_each(control, latents, k, eps)
    return control.render(latents), control.render(edited), k, fraction


def train_reconstructor(control: Directions, scales: torch.Tensor, steps: int, batch: int,
                        lr: float, seed: int, curve_every: int = 50):  # fmt: skip
    """The post-hoc reconstructor, trained from scratch; and its training curve: the mean
    direction accuracy over each window of `curve_every` steps."""
    channels = control.sample(1, seed).shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = Reconstructor(channels, control.k).to(control.device)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)  # a settled last step
    curve, window = [], []
    for step in tqdm(range(steps), desc="post-hoc reconstructor", unit="it", mininterval=5.0):
        originals, edited, k, fraction = edit_pairs(control, scales, batch, seed + 1 + step)
        logits, shift = net(originals, edited)
        loss = F.cross_entropy(logits, k) + SHIFT_WEIGHT * (shift - fraction).abs().mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        window.append(float((logits.argmax(1) == k).float().mean()))
        if len(window) == curve_every:
            curve.append({"step": step + 1, "accuracy": sum(window) / len(window)})
            window = []
    settle = (edit_pairs(control, scales, batch, seed + 1 + steps + b)[:2] for b in range(SETTLE))
    settle_batch_norm(net, settle, net)
    return net, curve


@torch.no_grad()
def reconstruction_accuracy(predict: Callable, control: Directions, scales: torch.Tensor,
                            batches: int, batch: int, seed: int) -> float:  # fmt: skip
    """Share of fresh edits whose direction `predict(originals, edited)` (logits) names."""
    correct = 0
    for b in range(batches):
        originals, edited, k, _ = edit_pairs(control, scales, batch, seed + b)
        logits = predict(originals, edited)
        correct += int((logits.argmax(1) == k).sum())
    return correct / (batches * batch)
