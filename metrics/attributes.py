"""The attribute scores behind S_disent and N_attr (docs/METRICS.md, "Attributes").

- Data with ground-truth factors (Shapes): the factor net's predictions — for an ordered factor
  (scale, rotation, x, y) its expected index under the head's softmax; for an unordered one
  (shape, hue, background) the probability of each value, one attribute per value.
- Other data: the evaluation net's class probabilities, plus, for grey images, five stroke
  measures from image moments (`stroke_measures`).
"""

from __future__ import annotations

import numpy as np
import torch

from ganctrl.metrics.evaluate import Context

UNORDERED_FACTORS = ("shape", "hue", "background")
STROKE_MEASURES = (
    "stroke_area",
    "stroke_width",
    "stroke_height",
    "stroke_slant",
    "stroke_thickness",
)


def stroke_measures(images: torch.Tensor) -> torch.Tensor:
    """(N, 5) measures of grey images in [-1, 1], ink p = (x + 1)/2, pixel coordinates (u, v):
    area = Σp / (H·W); width = √μ20 and height = √μ02 (central second moments over Σp, pixels);
    slant = μ11/μ02 (horizontal shift per pixel of height: the shear that deskews a digit);
    thickness = 2Σp / Σ|∇p| (ink over half its perimeter: a stroke of width w and length L has area
    wL and perimeter ≈ 2L)."""
    p = ((images[:, 0].double() + 1) / 2).clamp(0, 1)
    n, h, w = p.shape
    v, u = torch.meshgrid(
        torch.arange(h, dtype=p.dtype), torch.arange(w, dtype=p.dtype), indexing="ij"
    )
    mass = p.sum(dim=(1, 2)).clamp_min(1e-8)
    mu = (p * u).sum(dim=(1, 2)) / mass
    mv = (p * v).sum(dim=(1, 2)) / mass
    du, dv = u - mu[:, None, None], v - mv[:, None, None]
    m20 = (p * du**2).sum(dim=(1, 2)) / mass
    m02 = (p * dv**2).sum(dim=(1, 2)) / mass
    m11 = (p * du * dv).sum(dim=(1, 2)) / mass
    gradient = (p[:, :, 1:] - p[:, :, :-1]).abs().sum(dim=(1, 2)) + (
        p[:, 1:] - p[:, :-1]
    ).abs().sum(dim=(1, 2))
    return torch.stack(
        [
            mass / (h * w),
            m20.sqrt(),
            m02.sqrt(),
            m11 / m02.clamp_min(1e-8),
            2 * mass / gradient.clamp_min(1e-8),
        ],
        dim=1,
    ).float()


def attribute_names(ctx: Context) -> list[str]:
    dm = ctx.datamodule
    if dm.factor_names:
        names = []
        for factor, size in zip(dm.factor_names, dm.factor_sizes, strict=True):
            names += (
                [f"{factor}={v}" for v in range(size)] if factor in UNORDERED_FACTORS else [factor]
            )
        return names
    names = [f"class={c}" for c in range(dm.num_classes)]
    return names + list(STROKE_MEASURES) if dm.image_shape[0] == 1 else names


def attribute_scores(ctx: Context, images: torch.Tensor) -> np.ndarray:
    """(N, A) attribute scores of images, in `attribute_names` order."""
    output = ctx.run_net(images)
    dm = ctx.datamodule
    if dm.factor_names:
        columns = []
        for factor in dm.factor_names:
            probs = torch.softmax(output.logits[factor], dim=1)
            if factor in UNORDERED_FACTORS:
                columns.append(probs)
            else:
                values = torch.arange(probs.shape[1], dtype=probs.dtype)
                columns.append((probs @ values)[:, None])
        return torch.cat(columns, dim=1).numpy()
    scores = ctx.class_probs(output)
    if dm.image_shape[0] == 1:
        scores = np.concatenate([scores, stroke_measures(images.cpu()).numpy()], axis=1)
    return scores
