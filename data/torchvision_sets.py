"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, stored under `${paths.data}`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision

from ganctrl.data.base import ImageDataModule
from ganctrl.data.mnist_subset import DIGITS, pad_to_32


class DatasetMissingError(FileNotFoundError):
    pass


class TorchvisionImages(ImageDataModule):
    """A torchvision data set under `root`; `download=true` fetches it where there is network."""

    dataset_class: type = None

    def __init__(
        self, root: str, download: bool = False, batch_size: int = 64, num_workers: int = 0
    ):
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.root = Path(root)
        self.download = download

    def _split(self, train: bool) -> tuple[np.ndarray, np.ndarray]:
        try:
            dataset = self.dataset_class(str(self.root), train=train, download=self.download)
        except RuntimeError as error:  # torchvision: "Dataset not found. You can use download=True"
            raise DatasetMissingError(
                f"{self.name} is not in {self.root}. Put the files there, or run once on a machine "
                f"with network with data.download=true (and paths.data={self.root.parent} or "
                f"data.root=...)."
            ) from error
        return np.asarray(dataset.data), np.asarray(dataset.targets, dtype=np.int64)

    def _images(self, data: np.ndarray) -> np.ndarray:
        return pad_to_32(data)

    def _load(self) -> dict[str, torch.Tensor]:
        tensors = {}
        for split in ("train", "test"):
            data, labels = self._split(train=split == "train")
            tensors[f"{split}_images"] = torch.from_numpy(np.ascontiguousarray(self._images(data)))
            tensors[f"{split}_labels"] = torch.from_numpy(labels)
        return tensors


class MNIST(TorchvisionImages):
    name = "mnist"
    evaluation_net = "mnist_lenet"
    class_names = DIGITS
    dataset_class = torchvision.datasets.MNIST


class FashionMNIST(TorchvisionImages):
    name = "fashion_mnist"
    evaluation_net = "mnist_lenet"
    class_names = (
        "t-shirt",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    )
    dataset_class = torchvision.datasets.FashionMNIST


class CIFAR10(TorchvisionImages):
    name = "cifar10"
    evaluation_net = "inception"
    class_names = (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )
    dataset_class = torchvision.datasets.CIFAR10

    def _images(self, data: np.ndarray) -> np.ndarray:
        return data.transpose(0, 3, 1, 2)  # already 32×32 RGB, stored HWC
