"""FAISS search: non-finite inputs rejected by name, one GPU resource object per device (the GPU
path exercised on CPU FAISS by standing in for the two GPU calls), and the backend it reports."""

import faiss
import numpy as np
import pytest

from ganctrl import faiss_search


@pytest.fixture
def fresh_resources():
    faiss_search._gpu_resources.cache_clear()
    yield
    faiss_search._gpu_resources.cache_clear()


def _points(n=60, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_knn_and_kmeans_reject_non_finite_rows_by_name():
    points = _points()
    broken = points.copy()
    broken[[4, 9], 0] = np.nan  # FAISS answered index -1 for these
    with pytest.raises(ValueError, match=r"^queries: 2 of 60 rows hold NaN or inf$"):
        faiss_search.knn(broken, points, 1)
    with pytest.raises(ValueError, match=r"^database: 2 of 60 rows"):
        faiss_search.knn(points, broken, 1)
    with pytest.raises(ValueError, match=r"^points: 2 of 60 rows"):
        faiss_search.kmeans(broken, 3, seed=0)
    with pytest.raises(ValueError, match=r"^points: 2 of 60 rows"):
        faiss_search.neighbours_excluding_self(broken, 2)


def test_values_beyond_float32_are_caught_as_the_inf_faiss_would_see():
    points = _points()
    points[7, 1] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"^database: 1 of 60 rows hold NaN or inf$"):
        faiss_search.knn(points[:5], points, 2)


def test_backend_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(faiss_search.torch.cuda, "is_available", lambda: False)
    assert faiss_search.backend() == "faiss-cpu"


def test_gpu_path_keeps_one_resource_object_per_device(monkeypatch, fresh_resources):
    made, moved = [], []

    class Resources:
        def __init__(self):
            made.append(self)

    def to_gpu(resources, device, index):
        moved.append((resources, device))
        return index  # CPU FAISS stands in for the GPU index

    current = {"device": 0}
    monkeypatch.setattr(faiss, "StandardGpuResources", Resources, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_gpu", to_gpu, raising=False)
    monkeypatch.setattr(faiss_search, "_gpu_available", lambda: True)
    monkeypatch.setattr(faiss_search.torch.cuda, "current_device", lambda: current["device"])
    points = _points()
    assert faiss_search.backend() == "faiss-gpu"

    distances, indices = faiss_search.knn(points, points, 2)
    labels, _ = faiss_search.kmeans(points, 3, seed=0)
    faiss_search.neighbours_excluding_self(points, 2)
    assert len(made) == 1 and moved == [(made[0], 0)] * 3
    current["device"] = 1
    faiss_search.knn(points, points, 2)
    assert len(made) == 2 and moved[-1] == (made[1], 1)

    monkeypatch.setattr(faiss_search, "_gpu_available", lambda: False)
    cpu_distances, cpu_indices = faiss_search.knn(points, points, 2)
    cpu_labels, _ = faiss_search.kmeans(points, 3, seed=0)
    np.testing.assert_array_equal(indices, cpu_indices)
    np.testing.assert_array_equal(distances, cpu_distances)
    np.testing.assert_array_equal(labels, cpu_labels)
    assert len(moved) == 4  # the CPU path moved nothing
