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

from ganctrl.methods.common.contract import Directions, seeded
from ganctrl.metrics.conv_trunk import FEATURES, conv_trunk, settle_batch_norm
from ganctrl.seeding import cpu_seeded

MIN_SHIFT = 0.2  # of a_k: Voynov's ε ~ U[−6, 6] with |ε| ≥ 0.5 keeps about this share out
SHIFT_WEIGHT = 0.25  # λ of the shift-regression term, Voynov's default
SETTLE = 20  # fresh batches that fix the batch-norm statistics after training


class Reconstructor(nn.Module):
    """(image, edited image) → (K direction logits, the shift in calibrated units). It sees the
    pair and their difference: an edit is a change, and handing the trunk the change outright
    speeds its learning (0.67 against 0.59 after 1 000 steps, random directions, dcgan × Shapes)."""

    def __init__(self, channels: int, k: int, width: int = 32, size: int = 32):
        super().__init__()
        self.size = size
        self.trunk = conv_trunk(3 * channels, width, size)
        self.direction = nn.Linear(FEATURES, k)
        self.shift = nn.Linear(FEATURES, 1)

    def forward(self, originals: torch.Tensor, edited: torch.Tensor):
        stack = torch.cat([originals, edited, edited - originals], dim=1)
        if stack.shape[-1] != self.size:
            stack = F.interpolate(stack, size=self.size, mode="bilinear", align_corners=False)
        h = self.trunk(stack)
        return self.direction(h), self.shift(h).squeeze(1)


def edit_each(
    control: Directions, latents: torch.Tensor, k: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Latent i edited along its own direction k[i] by eps[i]."""
    edited = latents.clone()
    for direction in k.unique().tolist():
        rows = k == direction
        edited[rows] = control.edit(latents[rows], direction, eps[rows])
    return edited


@torch.no_grad()
def random_edits(control: Directions, n: int, seed: int):
    """n latents, a uniformly drawn direction for each, and a generator for the edits' other
    draws: latents come from `seed`, the draws from a child of it, so the two never share a
    stream."""
    device = control.device
    latents = control.sample_latents(n, seed)
    rng = seeded(int(np.random.SeedSequence([seed, 1]).generate_state(1)[0]), device)
    return latents, torch.randint(control.k, (n,), generator=rng, device=device), rng


@torch.no_grad()
def edit_pairs(control: Directions, scales: torch.Tensor, n: int, seed: int):
    """n (original, edited) image pairs, the direction of each and its shift in units of a_k."""
    latents, k, rng = random_edits(control, n, seed)
    device = control.device
    sign = torch.randint(2, (n,), generator=rng, device=device) * 2 - 1
    fraction = sign * (MIN_SHIFT + (1 - MIN_SHIFT) * torch.rand(n, generator=rng, device=device))
    eps = fraction * scales.to(device)[k]
    edited = edit_each(control, latents, k, eps)
    return control.render(latents), control.render(edited), k, fraction


def train_reconstructor(
    control: Directions,
    scales: torch.Tensor,
    steps: int,
    batch: int,
    lr: float,
    seed: int,
    reuse: int = 1,
    chunk: int = 50,
    curve_every: int = 50,
):
    """The post-hoc reconstructor, trained from scratch for `steps` batches; and its training
    curve. Edits are rendered `chunk` batches at a time and each chunk is trained on `reuse`
    times, the repeats in a fresh random order: rendering is most of a step's cost. The curve is
    the mean accuracy over each `curve_every` first-pass batches, edits the net had not yet seen:
    a held-out estimate, whatever `reuse` is."""
    if reuse < 1:
        raise ValueError(f"metrics.directions.rca_reuse must be at least 1, got {reuse}")
    channels = control.sample(1, seed).shape[1]
    with cpu_seeded(seed):
        net = Reconstructor(channels, control.k).to(control.device)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)  # a settled last step
    order = torch.Generator().manual_seed(seed)

    def step(originals, edited, k, fraction) -> float:
        logits, shift = net(originals, edited)
        loss = F.cross_entropy(logits, k) + SHIFT_WEIGHT * (shift - fraction).abs().mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        return float((logits.argmax(1) == k).float().mean())

    curve, window, done, rendered = [], [], 0, 0
    progress = tqdm(total=steps, desc="post-hoc reconstructor", unit="it", mininterval=5.0)
    while done < steps:
        stored = []
        for _ in range(min(chunk, steps - done)):
            stored.append(edit_pairs(control, scales, batch, seed + 1 + rendered))
            rendered += 1
            window.append(step(*stored[-1]))
            done += 1
            if len(window) == curve_every:
                curve.append({"step": done, "accuracy": sum(window) / len(window)})
                window = []
        pool = [torch.cat(part) for part in zip(*stored, strict=True)]
        for _ in range(reuse - 1):
            shuffled = torch.randperm(len(pool[0]), generator=order).to(pool[0].device)
            for rows in shuffled.split(batch):
                if done == steps:
                    break
                step(*(part[rows] for part in pool))
                done += 1
        progress.n = done
        progress.refresh()
    progress.close()
    settle = (
        edit_pairs(control, scales, batch, seed + 1 + rendered + b)[:2] for b in range(SETTLE)
    )
    settle_batch_norm(net, settle, net)
    return net, curve


@torch.no_grad()
def reconstruction_accuracy(
    predict: Callable,
    control: Directions,
    scales: torch.Tensor,
    batches: int,
    batch: int,
    seed: int,
) -> float:
    """Share of fresh edits whose direction `predict(originals, edited)` (logits) names."""
    correct = 0
    for b in range(batches):
        originals, edited, k, _ = edit_pairs(control, scales, batch, seed + b)
        logits = predict(originals, edited)
        correct += int((logits.argmax(1) == k).sum())
    return correct / (batches * batch)
