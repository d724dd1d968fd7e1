"""The representation every disentanglement score reads (docs/METRICS.md, "Disentanglement"): an
encoder trained on the control's own generated images to predict its control code, then applied
to real images (the post-hoc protocol of Khrulkov et al.). One rule for every method:

- direction controls with linear edits: the code is the latent's coordinates along the K
  directions (`Directions.coordinates`), standardised; the encoder regresses it (MSE) and its
  outputs are the representation;
- cluster controls: the code is the cluster id, drawn in proportion to the mixture weights; the
  encoder classifies it (cross-entropy) and its posterior is the representation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ganctrl.methods.common.contract import Clusters, Directions
from ganctrl.metrics.conv_trunk import FEATURES, conv_trunk, settle_batch_norm
from ganctrl.seeding import cpu_seeded

SETTLE = 20  # batches that fix the batch-norm statistics after training


def has_code(control) -> bool:
    """Whether the rule defines a control code for this control."""
    return isinstance(control, Clusters) or (
        isinstance(control, Directions) and control.has_coordinates
    )


class CodeEncoder(nn.Module):
    def __init__(self, channels: int, outputs: int, width: int = 32, size: int = 32):
        super().__init__()
        self.size = size
        self.net = nn.Sequential(conv_trunk(channels, width, size), nn.Linear(FEATURES, outputs))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.size:
            images = F.interpolate(images, size=self.size, mode="bilinear", align_corners=False)
        return self.net(images)


@torch.no_grad()
def generated_codes(control: Directions | Clusters, n: int, seed: int):
    """n generated images, their control codes, and whether the codes are class ids."""
    if isinstance(control, Clusters):
        rng = torch.Generator().manual_seed(seed)
        ids = torch.multinomial(control.weights.cpu().float(), n, replacement=True, generator=rng)
        counts = torch.bincount(ids, minlength=control.k).tolist()
        images = [control.sample_cluster(c, m, seed + c).cpu() for c, m in enumerate(counts) if m]
        labels = torch.cat([torch.full((m,), c) for c, m in enumerate(counts) if m])
        return torch.cat(images), labels, True
    latents = control.sample_latents(n, seed)
    codes = control.coordinates(latents).cpu()
    codes = (codes - codes.mean(dim=0)) / codes.std(dim=0).clamp_min(1e-8)
    return control.render(latents).cpu(), codes, False


def train_encoder(
    images: torch.Tensor,
    codes: torch.Tensor,
    classes: bool,
    outputs: int,
    epochs: int,
    batch: int,
    lr: float,
    seed: int,
    device,
) -> tuple:
    """The encoder, and its mean training loss in each epoch."""
    with cpu_seeded(seed):
        net = CodeEncoder(images.shape[1], outputs).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    curve = []
    for _ in tqdm(range(epochs), desc="code encoder", unit="epoch", mininterval=5.0):
        order, losses = torch.randperm(len(images), generator=rng), []
        for start in range(0, len(order) - batch + 1, batch):
            rows = order[start : start + batch]
            predicted = net(images[rows].to(device))
            target = codes[rows].to(device)
            loss = F.cross_entropy(predicted, target) if classes else F.mse_loss(predicted, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        curve.append(sum(losses) / len(losses))
    settle = (images[order[i : i + batch]].to(device) for i in range(0, SETTLE * batch, batch))
    settle_batch_norm(net, ((b,) for b in settle), net)
    return net, curve


@torch.no_grad()
def encode(
    net: CodeEncoder, images: torch.Tensor, classes: bool, device, batch: int = 500
) -> torch.Tensor:
    """The representation of images: the encoder's outputs, or its posterior over clusters."""
    parts = [net(images[i : i + batch].to(device)).cpu() for i in range(0, len(images), batch)]
    outputs = torch.cat(parts)
    return torch.softmax(outputs, dim=1) if classes else outputs
