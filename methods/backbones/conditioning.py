"""The input side of every generator: z plus whatever condition a method feeds it.

MIC-GAN adds a learned embedding of its cluster label to z; the triple-coupled GAN concatenates
feature-extractor codes to z. An unconditional generator has neither, and costs nothing extra.
"""

from __future__ import annotations

import torch
from torch import nn


class LatentInput(nn.Module):
    def __init__(self, z_dim: int, num_classes: int = 0, cond_dim: int = 0):
        super().__init__()
        self.z_dim, self.num_classes, self.cond_dim = z_dim, num_classes, cond_dim
        self.label_embedding = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.out_dim = z_dim + cond_dim

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if (labels is not None) != (self.label_embedding is not None):
            raise ValueError(
                f"this generator was built with num_classes={self.num_classes}: "
                "pass labels exactly when num_classes > 0"
            )
        if (cond is not None) != (self.cond_dim > 0):
            raise ValueError(
                f"this generator was built with cond_dim={self.cond_dim}: "
                "pass cond exactly when cond_dim > 0"
            )
        if labels is not None:
            z = z + self.label_embedding(labels)
        if cond is not None:
            z = torch.cat([z, cond], dim=1)
        return z
