"""Procedural dSprites-like Shapes: every image is a pure function of its factor index.

Factors (sizes): shape (3), scale (4), rotation (6), x (8), y (8), hue (6), background (4) —
110 592 images in all. Rendering is 4× supersampled for smooth edges.

The geometry is chosen so that every factor can be read off a generated image, not only a
real one (docs/METHODS.md, "Shapes"):
- scale is the object's area, the same for every shape: a square of side a, an ellipse with
  axes 2:1 and a triangle (equilateral) all cover a² pixels, so a pixel count tells scale and
  nothing of shape;
- sides run 7 to 11.5 px, and rotations step by 15° over [0°, 90°) (no two rotations of one shape
  give the same picture; a square repeats every 90°), so one rotation step moves the outermost
  point of the smallest object by 1.3 px (square) to 1.6 px (triangle);
- centres lie in [11, 21] px, so the largest object, at any rotation, stays inside the frame.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ganctrl.data.base import ImageDataModule

FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y", "hue", "background")
FACTOR_SIZES = (3, 4, 6, 8, 8, 6, 4)
SHAPE_NAMES = ("square", "ellipse", "triangle")
IMAGE_SIZE = 32
SUPERSAMPLE = 4

_SIDES = np.linspace(7.0, 11.5, FACTOR_SIZES[1])  # √area, px
_ANGLES = np.arange(FACTOR_SIZES[2]) * (np.pi / 2 / FACTOR_SIZES[2])
_CENTRES = np.linspace(11.0, 21.0, FACTOR_SIZES[3])
# Each shape's size parameter per unit of √area: the square's half-side, the ellipse's
# semi-major axis (semi-minor half of it: π·r·r/2 = a²), the triangle's inradius (area 3√3·r²).
_SHAPE_UNITS = np.array([0.5, np.sqrt(2.0 / np.pi), 1.0 / np.sqrt(3.0 * np.sqrt(3.0))])
_BACKGROUNDS = np.array([[0.0, 0.0, 0.0], [0.3, 0.3, 0.3], [0.1, 0.1, 0.35], [0.35, 0.15, 0.1]])


def _hue_to_rgb(hue: np.ndarray) -> np.ndarray:
    """Fully saturated, full-value colours for hues in [0, 1)."""
    k = (np.array([5.0, 3.0, 1.0]) + hue[:, None] * 6.0) % 6.0
    return 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


_HUES = _hue_to_rgb(np.arange(FACTOR_SIZES[5]) / FACTOR_SIZES[5])

NUM_IMAGES = int(np.prod(FACTOR_SIZES))


def factors_of(indices: np.ndarray) -> np.ndarray:
    """Image index → factor indices (N, 7), mixed radix with the last factor fastest."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= NUM_IMAGES):
        raise IndexError(f"Shapes image indices must lie in [0, {NUM_IMAGES})")
    return np.stack(np.unravel_index(indices, FACTOR_SIZES), axis=1)


def _inside(shape: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Which supersampled points of the object frame (u, v) lie inside the shape whose size
    parameter (`_SHAPE_UNITS`) is r."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= r
    if shape == 1:
        return (u / r) ** 2 + (v / (0.5 * r)) ** 2 <= 1.0
    inside = np.ones(u.shape, dtype=bool)
    for phi in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
        inside &= u * np.float32(np.cos(phi)) + v * np.float32(np.sin(phi)) <= r
    return inside


def _coverage(factors: np.ndarray) -> np.ndarray:
    """Fraction of each pixel covered by the object, (N, 32, 32) in [0, 1]."""
    offsets = ((np.arange(IMAGE_SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE).astype(np.float32)
    cover = np.empty((len(factors), IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for shape in range(FACTOR_SIZES[0]):
        rows = np.flatnonzero(factors[:, 0] == shape)
        f = factors[rows]
        r = (_SIDES[f[:, 1]] * _SHAPE_UNITS[shape]).astype(np.float32)[:, None, None]
        cos = np.cos(_ANGLES[f[:, 2]]).astype(np.float32)[:, None, None]
        sin = np.sin(_ANGLES[f[:, 2]]).astype(np.float32)[:, None, None]
        dx = (offsets[None, :] - _CENTRES[f[:, 3], None].astype(np.float32))[:, None, :]
        dy = (offsets[None, :] - _CENTRES[f[:, 4], None].astype(np.float32))[:, :, None]
        u = cos * dx + sin * dy
        v = cos * dy - sin * dx
        inside = _inside(shape, u, v, r).reshape(
            len(rows), IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE
        )
        cover[rows] = inside.mean(axis=(2, 4), dtype=np.float32)
    return cover


def render(indices: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Image indices → uint8 images (N, 3, 32, 32)."""
    factors = factors_of(indices)
    out = np.empty((len(factors), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for start in range(0, len(factors), chunk):
        f = factors[start : start + chunk]
        cover = _coverage(f)[:, None]
        colour = _HUES[f[:, 5]][:, :, None, None]
        background = _BACKGROUNDS[f[:, 6]][:, :, None, None]
        image = background * (1.0 - cover) + colour * cover
        out[start : start + chunk] = np.round(image * 255.0).astype(np.uint8)
    return out


def draw_indices(n_train: int, n_test: int, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    chosen = np.random.default_rng(split_seed).choice(NUM_IMAGES, n_train + n_test, replace=False)
    return chosen[:n_train], chosen[n_train:]


@functools.cache
def rendered_draw(n_train: int, n_test: int, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The train and test images of a draw, rendered once per process (5 s at the default
    25 000): a sweep's jobs share them, read-only."""
    images = tuple(render(indices) for indices in draw_indices(n_train, n_test, split_seed))
    for split in images:
        split.flags.writeable = False
    return images


class Shapes(ImageDataModule):
    """A seeded, disjoint train/test draw of Shapes image indices; label = the shape factor."""

    name = "shapes"
    evaluation_net = "shapes_factors"
    class_names = SHAPE_NAMES
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(
        self,
        n_train: int = 20000,
        n_test: int = 5000,
        split_seed: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
    ):
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        if n_train + n_test > NUM_IMAGES:
            raise ValueError(f"data.n_train + data.n_test must be <= {NUM_IMAGES}")
        self.n_train, self.n_test, self.split_seed = n_train, n_test, split_seed

    def split_indices(self) -> tuple[np.ndarray, np.ndarray]:
        return draw_indices(self.n_train, self.n_test, self.split_seed)

    def _load(self) -> dict[str, torch.Tensor]:
        tensors = {}
        images = rendered_draw(self.n_train, self.n_test, self.split_seed)
        for split, indices, pixels in zip(
            ("train", "test"), self.split_indices(), images, strict=True
        ):
            factors = factors_of(indices)
            tensors[f"{split}_images"] = torch.from_numpy(pixels.copy())
            tensors[f"{split}_factors"] = torch.from_numpy(factors)
            tensors[f"{split}_labels"] = torch.from_numpy(factors[:, 0].copy())
        return tensors
