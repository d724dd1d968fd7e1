"""Exact k-nearest-neighbour search and k-means with FAISS: on the GPU where CUDA and faiss-gpu
are there, on the CPU otherwise. Every k-NN and k-means in the harness goes through here — the
metrics' and the methods' alike (IMLE's matching and clustering), so both sides search the same way.
"""

from __future__ import annotations

import faiss
import numpy as np
import torch


def _gpu_available() -> bool:
    return (
        torch.cuda.is_available()
        and hasattr(faiss, "StandardGpuResources")
        and (faiss.get_num_gpus() > 0)
    )


def _as_float32(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def knn(queries, database, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (ascending) and indices of each query's k nearest database points."""
    queries, database = _as_float32(queries), _as_float32(database)
    if k > len(database):
        raise ValueError(f"asked for {k} neighbours among only {len(database)} points")
    index = faiss.IndexFlatL2(database.shape[1])
    if _gpu_available():
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.add(database)
    squared, indices = index.search(queries, k)
    return np.sqrt(np.maximum(squared, 0.0)), indices


def kmeans(points, k: int, seed: int, iterations: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means from a k-means++ start: (cluster of each point, centroids (k, d)).

    Every point shapes the centroids: FAISS otherwise trains on a random 256·k subsample and
    warns only in verbose mode, which would make the clusters depend on N and k silently.
    k-means++ seeding, not FAISS's default of k random points, keeps one run from merging two
    well-separated groups while splitting a third.
    """
    points = _as_float32(points)
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"k-means needs 1 <= k <= {n} points, got k={k}")
    clustering = faiss.Kmeans(
        points.shape[1], k, niter=iterations, seed=seed, gpu=_gpu_available(),
        max_points_per_centroid=-(-n // k), min_points_per_centroid=1,
        init_method=faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
    )  # fmt: skip
    clustering.train(points)
    _, assigned = clustering.index.search(points, 1)
    return assigned[:, 0].astype(np.int64), clustering.centroids


def kth_neighbour_radii(points, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point (itself excluded)."""
    distances, _ = knn(points, points, k + 1)  # column 0 is the point itself (distance 0)
    return distances[:, k]


def neighbours_excluding_self(points, k: int) -> np.ndarray:
    """Indices of each point's k nearest other points, the point itself removed by index."""
    _, indices = knn(points, points, k + 1)
    own = np.arange(len(indices))[:, None]
    keep = indices != own
    # Where duplicates pushed the point itself out of the first k+1, drop the last neighbour.
    keep[keep.all(axis=1), -1] = False
    return indices[keep].reshape(len(indices), k)
