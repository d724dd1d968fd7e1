"""The `unconditional` plugin: a backbone trained as a plain GAN — the fidelity baseline.

`UnconditionalGAN` trains G and D; the generator zoo (benchmarks/zoo.py) runs it once per
(data, backbone, budget, generator seed) and caches the result. `UnconditionalBaseline` is what a
job with `method=unconditional` runs: the zoo's generator, as it is.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
from torch import nn

from ganctrl.methods.common.batchnorm import recalibrate_batchnorm
from ganctrl.methods.common.contract import ControlMethod, Unconditional
from ganctrl.methods.common.ema import ema_copy, ema_update
from ganctrl.methods.common.frozen import frozen
from ganctrl.methods.common.gan_losses import GAN_LOSSES, r1_penalty

STANDING_STATS = {"batches": 100, "batch_size": 64, "seed": 0}  # the draw that re-estimates BN


def seeded_latent_batches(generator: nn.Module, batches: int, batch_size: int, seed: int):
    """`batches` seeded batches of G's latents, drawn on G's device."""
    device = next(generator.parameters()).device
    rng = torch.Generator(device=device).manual_seed(seed)
    return (generator.sample_latents(batch_size, generator=rng) for _ in range(batches))


class UnconditionalGAN(ControlMethod):
    """One recipe for every backbone; its settings live in each generator's YAML (`train:`).

    `ema_beta`: sample from an exponential moving average of G (None: the raw G).
    `r1_gamma`, `r1_every`: R1 on real images, γ/2 · E‖∇D(x)‖², applied lazily every
    `r1_every` D steps and scaled by that interval (StyleGAN2). `style_mixing`: the share of
    fakes whose w⁺ switches to a second z's w from a random layer on (style-based G only).
    `channels_last`: the NHWC memory layout, faster for these convs on a CPU.
    """

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
        ema_beta: float | None = None,
        r1_gamma: float = 0.0,
        r1_every: int = 16,
        style_mixing: float = 0.0,
        channels_last: bool = False,
    ):
        super().__init__(steps)
        if loss not in GAN_LOSSES:
            raise ValueError(f"loss must be one of {sorted(GAN_LOSSES)}, got {loss!r}")
        if style_mixing and not hasattr(generator, "synthesis"):
            raise ValueError(
                "generator.train.style_mixing needs a style-based generator (mapping + "
                f"synthesis); {type(generator).__name__} has none: set it to 0"
            )
        if r1_every < 1:
            raise ValueError(f"generator.train.r1_every must be >= 1, got {r1_every}")
        self.automatic_optimization = False
        if channels_last:
            generator = generator.to(memory_format=torch.channels_last)
            discriminator = discriminator.to(memory_format=torch.channels_last)
        self.generator, self.discriminator = generator, discriminator
        self.generator_ema = ema_copy(generator) if ema_beta is not None else None
        self.d_loss, self.g_loss = GAN_LOSSES[loss]
        self.lr_g, self.lr_d, self.betas, self.d_steps = lr_g, lr_d, tuple(betas), d_steps
        self.ema_beta, self.r1_gamma, self.r1_every = ema_beta, r1_gamma, r1_every
        self.style_mixing, self.channels_last = style_mixing, channels_last

    def configure_optimizers(self):
        return (
            torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=self.betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas),
        )

    def fake_images(self, n: int) -> torch.Tensor:
        """n fakes from the raw G, a `style_mixing` share of them with mixed styles."""
        g = self.generator
        z = g.sample_latents(n)
        if not self.style_mixing:
            return g(z)
        ws, other = g.mapping(z), g.mapping(g.sample_latents(n))
        cut = torch.randint(1, g.num_ws, (), device=z.device)  # layers from `cut` on switch
        mixed = torch.rand(n, device=z.device) < self.style_mixing
        switch = (torch.arange(g.num_ws, device=z.device) >= cut)[None, :] & mixed[:, None]
        return g.synthesis(torch.where(switch[..., None], other, ws))

    def training_step(self, real: torch.Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        n = len(real)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        for d_step in range(self.d_steps):
            with torch.no_grad():
                fake = self.fake_images(n)
            d_update = self.iteration * self.d_steps + d_step
            regularise = self.r1_gamma > 0 and d_update % self.r1_every == 0
            real_in = real.detach().requires_grad_(regularise)
            real_logits = self.discriminator(real_in)
            loss_d = self.d_loss(real_logits, self.discriminator(fake))
            if regularise:
                r1 = r1_penalty(real_logits, real_in)
                loss_d = loss_d + self.r1_gamma / 2 * self.r1_every * r1
                self.log("loss/r1", r1)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        with frozen(self.discriminator):
            loss_g = self.g_loss(self.discriminator(self.fake_images(n)))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        if self.generator_ema is not None:
            ema_update(self.generator_ema, self.generator, self.ema_beta)
        if not (math.isfinite(loss_d.item()) and math.isfinite(loss_g.item())):
            raise FloatingPointError(
                f"GAN losses became non-finite at iteration {self.iteration}: "
                f"D {loss_d.item()}, G {loss_g.item()}; lower the learning rates"
            )
        self.log_dict({"loss/d": loss_d, "loss/g": loss_g}, prog_bar=True)

    def sampling_generator(self) -> nn.Module:
        """A copy of the G to sample from, in eval mode: the EMA where the recipe keeps one,
        its BatchNorm statistics re-estimated under its own weights."""
        if self.generator_ema is None:
            return copy.deepcopy(self.generator).eval()
        average = copy.deepcopy(self.generator_ema)
        return recalibrate_batchnorm(average, seeded_latent_batches(average, **STANDING_STATS))

    def controls(self) -> Unconditional:
        return Unconditional(self.sampling_generator())


class UnconditionalBaseline(ControlMethod):
    """The zoo's pretrained generator, unchanged: nothing to fit."""

    needs_generator = True

    def __init__(self, generator: nn.Module):
        super().__init__(steps=0)
        self.generator = generator

    def controls(self) -> Unconditional:
        return Unconditional(self.generator)
