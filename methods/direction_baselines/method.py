"""The direction baselines (docs/METHODS.md, "Direction baselines"): `Directions` controls on the
zoo's frozen generator that need no training, only a closed form.

- `random`:   K random orthonormal directions (QR of a seeded Gaussian matrix) — the null baseline
              every direction method must beat;
- `axes`:     the first K coordinate axes of the latent space;
- `ganspace`: GANSpace (Härkönen et al. 2020): for a style-based G, the top-K principal axes of w;
              otherwise PCA of the first block's activations, each component's coordinates then
              regressed back onto z (least squares), as the paper does for BigGAN;
- `sefa`:     SeFa (Shen & Zhou 2021): the top-K eigenvectors of AᵀA, A the weight that first
              reads the latent (dcgan/sngan: the z → 4×4 projection; stylegan_lite: every style
              affine, stacked, as in the paper's all-layers setting).

Edits are in G's own latent space (z, or w for style-based G; methods/linear_directions.py).
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
from torch import nn

from ganctrl.methods.backbones.base import latent_space, space_dim
from ganctrl.methods.common.closed_form_directions import (
    coordinate_axes,
    latent_reading_weight,
    principal_axes,
    random_orthonormal,
    regressed_components,
    sefa,
)
from ganctrl.methods.common.contract import ControlMethod
from ganctrl.methods.common.linear_directions import LinearDirections

log = logging.getLogger(__name__)

KINDS = ("random", "axes", "ganspace", "sefa")


class DirectionBaseline(ControlMethod):
    """A closed-form baseline as a method plugin: nothing to train; formed on first use."""

    needs_generator = True
    trains_on_images = False

    def __init__(
        self,
        generator: nn.Module,
        kind: Literal["random", "axes", "ganspace", "sefa"] = "random",
        directions: int = 10,
        num_latents: int = 10000,
        seed: int = 0,
    ):
        if kind not in KINDS:
            raise ValueError(f"method.kind must be one of {KINDS}, got {kind!r}")
        space = latent_space(generator)
        dim = space_dim(generator, space)
        if not 1 <= directions <= dim:
            raise ValueError(
                f"method.directions must lie in [1, {dim}] ({space}-space), got {directions}"
            )
        if kind == "ganspace" and num_latents <= directions:
            raise ValueError(f"method.num_latents ({num_latents}) must exceed method.directions")
        super().__init__(steps=0)
        self.generator = generator.eval().requires_grad_(False)
        self.kind, self.space, self.num_directions = kind, space, directions
        self.num_latents, self.seed = num_latents, seed
        self.facts: dict = {"space": space}
        self._control: LinearDirections | None = None

    def summary(self) -> dict:
        return {**super().summary(), **self.facts}

    @torch.no_grad()
    def _ganspace(self) -> torch.Tensor:
        rng = torch.Generator(device=self.device).manual_seed(self.seed)
        z = self.generator.sample_latents(self.num_latents, generator=rng)
        parts = [z[i : i + 1000] for i in range(0, len(z), 1000)]
        if self.space == "w":
            w = torch.cat([self.generator.mapping(p)[:, 0] for p in parts]).cpu()
            found, shares = principal_axes(w, self.num_directions)
        else:
            acts = torch.cat([self.generator.features(p, 1).flatten(1) for p in parts]).cpu()
            found, shares = regressed_components(z.cpu(), acts, self.num_directions)
        self.facts["explained_variance"] = shares.tolist()
        return found

    def _directions(self) -> torch.Tensor:
        dim = space_dim(self.generator, self.space)
        if self.kind == "random":
            return random_orthonormal(dim, self.num_directions, self.seed)
        if self.kind == "axes":
            return coordinate_axes(dim, self.num_directions)
        if self.kind == "ganspace":
            return self._ganspace()
        found, values = sefa(
            latent_reading_weight(self.generator, self.space).detach().cpu(), self.num_directions
        )
        self.facts["eigenvalues"] = values.tolist()
        return found

    def controls(self) -> LinearDirections:
        if self._control is None:
            self._control = LinearDirections(self.generator, self._directions(), self.space)
            log.info("%s directions: %d in %s-space", self.kind, self.num_directions, self.space)
        return self._control
