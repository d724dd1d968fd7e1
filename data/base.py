"""The datamodule contract every data set follows.

Images are held in memory as uint8 tensors (N, C, H, W) and converted batch-wise to float in
[-1, 1]. The training loader yields images only: labels and factors are exposed for evaluation
through `labels(split)` / `factors(split)` and never reach a method's batches.
"""

from __future__ import annotations

import torch
from pytorch_lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from ganctrl.cache import code_version

SPLITS = ("train", "test")


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] → float32 [-1, 1], the range every generator and net in the harness uses."""
    return images.float().div_(127.5).sub_(1.0)


class ImageTensorDataset(Dataset):
    """Images only, converted to [-1, 1] a whole batch at a time (DataLoader's __getitems__)."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_unit_range(self.images[index])

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        return to_unit_range(self.images[indices])


def _stack_batch(batch):
    # __getitems__ already returns one tensor; default collate would try to re-stack it.
    return batch


class ImageDataModule(LightningDataModule):
    """Holds uint8 train/test images, labels and (optionally) ground-truth factors.

    Subclasses implement `_load()` returning a dict with keys `train_images`, `test_images`,
    `train_labels`, `test_labels` and optionally `train_factors`, `test_factors`.
    """

    name: str = "images"
    evaluation_net: str | None = None  # the metrics layer's default net for this data (by name)
    class_names: tuple[str, ...] = ()
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()

    def __init__(self, batch_size: int = 64, num_workers: int = 0):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self._tensors: dict[str, torch.Tensor] | None = None
        # Records every subclass's constructor arguments too (Lightning walks the init frames).
        self.save_hyperparameters(ignore=["batch_size", "num_workers", "root", "download"])

    def identity(self) -> dict:
        """What decides the images and labels — the settings and the code that renders or loads
        them — a cache key part (not where or how they load)."""
        return {"name": self.name, **dict(self.hparams), "code": code_version(type(self))}

    def _load(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self._tensors is None:
            tensors = self._load()
            for split in SPLITS:
                images = tensors[f"{split}_images"]
                if images.dtype != torch.uint8 or images.ndim != 4:
                    raise TypeError(f"{self.name}: {split} images must be uint8 (N, C, H, W)")
            self._tensors = tensors

    def _get(self, key: str) -> torch.Tensor:
        self.setup()
        if key not in self._tensors:
            raise KeyError(f"{self.name} has no {key!r}")
        return self._tensors[key]

    @staticmethod
    def _check_split(split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")

    def images(self, split: str = "train") -> torch.Tensor:
        """All images of a split as float32 in [-1, 1]."""
        self._check_split(split)
        return to_unit_range(self._get(f"{split}_images"))

    def size(self, split: str) -> int:
        self._check_split(split)
        return len(self._get(f"{split}_images"))

    def labels(self, split: str = "test") -> torch.Tensor:
        """Class labels — for evaluation only; no method may read them."""
        self._check_split(split)
        return self._get(f"{split}_labels")

    def factors(self, split: str = "test") -> torch.Tensor:
        """Ground-truth factor indices (N, len(factor_names)) — evaluation only."""
        self._check_split(split)
        if not self.factor_names:
            raise KeyError(f"{self.name} has no ground-truth factors")
        return self._get(f"{split}_factors")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self._get("train_images").shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            ImageTensorDataset(self._get("train_images")),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=self.num_workers,
            collate_fn=_stack_batch,
        )
