"""Exact k-nearest-neighbour search and k-means with FAISS: on the GPU where CUDA and faiss-gpu
are there, on the CPU otherwise. Every FAISS k-NN and k-means in the harness goes through here —
the metrics' neighbour rates and the methods' searches alike (IMLE's matching and clustering), so
both sides search the same way. Precision/recall and density/coverage do not: their radii and
ball membership must agree to the last bit, which float32 search cannot promise
(metrics/fidelity.py has the exact float64 engine).
"""

from __future__ import annotations

import functools

import faiss
import numpy as np
import torch

from ganctrl.finite import finite_rows


def _gpu_available() -> bool:
    return (
        torch.cuda.is_available()
        and hasattr(faiss, "StandardGpuResources")
        and (faiss.get_num_gpus() > 0)
    )


def backend() -> str:
    """Which FAISS the searches here run on, for results.json: a faiss-cpu install, or no CUDA,
    searches on the CPU even on a GPU machine."""
    return "faiss-gpu" if _gpu_available() else "faiss-cpu"


@functools.cache
def _gpu_resources(device: int):
    """One FAISS resource object per device, made on first use and kept: each reserves scratch
    memory and CUDA streams, too costly to make afresh for every search."""
    return faiss.StandardGpuResources()


def _on_gpu(index):
    """`index` moved to torch's current CUDA device (FAISS and torch number devices alike)."""
    device = torch.cuda.current_device()
    return faiss.index_cpu_to_gpu(_gpu_resources(device), device, index)


def _search(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if k > len(database):
        raise ValueError(f"asked for {k} neighbours among only {len(database)} points")
    index = faiss.IndexFlatL2(database.shape[1])
    if _gpu_available():
        index = _on_gpu(index)
    index.add(database)
    squared, indices = index.search(queries, k)
    return np.sqrt(np.maximum(squared, 0.0)), indices


def knn(queries, database, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (ascending) and indices of each query's k nearest database points."""
    queries = finite_rows(queries, "queries", np.float32)
    return _search(queries, finite_rows(database, "database", np.float32), k)


def kmeans(points, k: int, seed: int, iterations: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means from a k-means++ start: (cluster of each point, centroids (k, d)).

    Every point shapes the centroids: FAISS otherwise trains on a random 256·k subsample and
    warns only in verbose mode, which would make the clusters depend on N and k silently.
    k-means++ seeding, not FAISS's default of k random points, keeps one run from merging two
    well-separated groups while splitting a third.
    """
    points = finite_rows(points, "points", np.float32)
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"k-means needs 1 <= k <= {n} points, got k={k}")
    clustering = faiss.Kmeans(
        points.shape[1],
        k,
        niter=iterations,
        seed=seed,
        max_points_per_centroid=-(-n // k),
        min_points_per_centroid=1,
        init_method=faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
    )
    if _gpu_available():
        # Kmeans(gpu=True) would copy the index to every GPU with fresh resources each call.
        clustering.index = _on_gpu(faiss.IndexFlatL2(points.shape[1]))
    clustering.train(points)
    _, assigned = clustering.index.search(points, 1)
    return assigned[:, 0].astype(np.int64), clustering.centroids


def neighbours_excluding_self(points, k: int) -> np.ndarray:
    """Indices of each point's k nearest other points, the point itself removed by index."""
    points = finite_rows(points, "points", np.float32)
    _, indices = _search(points, points, k + 1)
    own = np.arange(len(indices))[:, None]
    keep = indices != own
    # Where duplicates pushed the point itself out of the first k+1, drop the last neighbour.
    keep[keep.all(axis=1), -1] = False
    return indices[keep].reshape(len(indices), k)
