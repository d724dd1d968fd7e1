"""Exact k-nearest-neighbour search with FAISS: a GPU index where CUDA and faiss-gpu are there,
the CPU index otherwise. Every kNN in the metrics layer goes through here."""

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
