"""Pictures the metric families draw (saved under samples/ by the job): each on a figure of its
own with the Agg canvas, so no pyplot state is touched."""

from __future__ import annotations

import numpy as np
import torch


def heat_map(
    matrix: np.ndarray, columns: list[str], rows: list[str], xlabel: str, ylabel: str
) -> torch.Tensor:
    """`matrix` with each row normalised to a maximum of 1, as a (3, H, W) picture in [0, 1]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    peaks = matrix.max(axis=1, keepdims=True)
    shown = np.divide(matrix, peaks, out=np.zeros_like(matrix, dtype=float), where=peaks > 0)
    figure = Figure(figsize=(1.6 + 0.32 * len(columns), 1.0 + 0.3 * len(rows)), dpi=110)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(shown, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    axes.set_yticks(range(len(rows)), rows, fontsize=7)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    figure.colorbar(image, ax=axes, fraction=0.03)
    figure.tight_layout()
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)


def profile_bars(profile: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """(K, channels, size, size) tiles in [-1, 1]: tile k is a bar chart of row k of `profile`,
    a bar per column, scaled to the row's peak (white bars on black)."""
    k, columns = profile.shape
    peaks = profile.max(dim=1, keepdim=True).values.clamp_min(1e-12)
    heights = (profile / peaks * size).round().long()  # pixels per bar
    rows = torch.arange(size)
    filled = rows[None, :, None] >= size - heights[:, None, :]  # (K, size rows, columns)
    edges = torch.linspace(0, columns, size + 1)[:-1].floor().long()  # each pixel column's bar
    tiles = filled[:, :, edges].float() * 2 - 1
    return tiles[:, None].expand(k, channels, size, size).contiguous()
