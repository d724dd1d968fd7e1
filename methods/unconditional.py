"""The `unconditional` plugin: a backbone trained as a plain GAN — the fidelity baseline.

`UnconditionalGAN` trains G and D; the generator zoo (benchmarks/zoo.py) runs it once per
(data, backbone, budget, generator seed) and caches the result. `UnconditionalBaseline` is what a
job with `method=unconditional` runs: the zoo's generator, as it is.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ganctrl.methods.base import ControlMethod, Unconditional
from ganctrl.methods.losses import GAN_LOSSES


class UnconditionalGAN(ControlMethod):
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        steps: int,
        loss: Literal["nonsaturating", "hinge"] = "nonsaturating",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        d_steps: int = 1,
    ):
        super().__init__(steps)
        if loss not in GAN_LOSSES:
            raise ValueError(f"loss must be one of {sorted(GAN_LOSSES)}, got {loss!r}")
        self.automatic_optimization = False
        self.generator, self.discriminator = generator, discriminator
        self.d_loss, self.g_loss = GAN_LOSSES[loss]
        self.lr_g, self.lr_d, self.betas, self.d_steps = lr_g, lr_d, tuple(betas), d_steps

    def configure_optimizers(self):
        return (
            torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=self.betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas),
        )

    def training_step(self, real: torch.Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        n = len(real)
        for _ in range(self.d_steps):
            with torch.no_grad():
                fake = self.generator(self.generator.sample_latents(n))
            loss_d = self.d_loss(self.discriminator(real), self.discriminator(fake))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        fake = self.generator(self.generator.sample_latents(n))
        loss_g = self.g_loss(self.discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        if not (math.isfinite(loss_d.item()) and math.isfinite(loss_g.item())):
            raise FloatingPointError(
                f"GAN losses became non-finite at iteration {self.iteration}: "
                f"D {loss_d.item()}, G {loss_g.item()}; lower the learning rates"
            )
        self.log_dict({"loss/d": loss_d, "loss/g": loss_g}, prog_bar=True)

    def controls(self) -> Unconditional:
        return Unconditional(self.generator)


class UnconditionalBaseline(ControlMethod):
    """The zoo's pretrained generator, unchanged: nothing to fit."""

    needs_generator = True

    def __init__(self, generator: nn.Module):
        super().__init__(steps=0)
        self.generator = generator

    def controls(self) -> Unconditional:
        return Unconditional(self.generator)
