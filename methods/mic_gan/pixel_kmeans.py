"""MIC-GAN's clustering baseline (docs/METHODS.md §5): k-means on the pixels of the real training
images, with the same K. Nothing is generated: cluster c's "samples" are its member images, so
its fidelity numbers are the real-data floor and its cluster scores are what plain pixel
clustering gives; `assign` puts an image at its nearest centroid.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganctrl.faiss_search import kmeans, knn
from ganctrl.methods.common.contract import Clusters, ControlMethod
from ganctrl.methods.common.job_inputs import TrainingImages


class ImageBank(nn.Module):
    """The training images as a module, standing where a control expects its generator (it
    gives the control a device; it is never called)."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.register_buffer("images", images)


class PixelClusters(Clusters):
    def __init__(self, bank: ImageBank, labels: torch.Tensor, centroids: np.ndarray):
        super().__init__(bank)
        self.k = len(centroids)
        self.labels, self.centroids = labels, centroids
        self.members = [torch.nonzero(labels == c).flatten() for c in range(self.k)]
        self.weights = torch.bincount(labels, minlength=self.k).float() / len(labels)

    @property
    def device(self) -> torch.device:
        return self.generator.images.device  # the bank has buffers only, no parameters

    def sample_cluster(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        members = self.members[cluster]
        picks = torch.randint(len(members), (n,), generator=torch.Generator().manual_seed(seed))
        return self.generator.images[members[picks]]

    def assign(self, images: torch.Tensor) -> torch.Tensor:
        _, nearest = knn(images.flatten(1).cpu().numpy(), self.centroids, 1)
        return torch.from_numpy(nearest[:, 0])


class PixelKMeans(TrainingImages, ControlMethod):
    trains_on_images = False

    def __init__(
        self, images: torch.Tensor, clusters: int = 20, iterations: int = 25, seed: int = 0
    ):
        super().__init__(steps=0)
        self.bank = ImageBank(images)
        labels, centroids = kmeans(images.flatten(1).numpy(), clusters, seed, iterations)
        self.labels, self.centroids = torch.from_numpy(labels), centroids

    def summary(self) -> dict:
        return {**super().summary(), "cluster_sizes": torch.bincount(self.labels).tolist()}

    def controls(self) -> PixelClusters:
        return PixelClusters(self.bank, self.labels, self.centroids)
