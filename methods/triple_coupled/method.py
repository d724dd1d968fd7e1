"""The triple-coupled latent-conditioned GAN (Durall et al.; docs/METHODS.md §2): a GAN whose
generator is conditioned on a frozen, label-free feature extractor's codes, and whose
discriminator judges image pairs.

Per batch x (Algorithm 1): f = E(x); for every x_i its in-batch nearest neighbour x_i⁺ and
farthest x_i⁻ by L1 distance in E's space. With x̃_i = G(z, f_i), D sees three kinds of pairs,
concatenated on channels (eqs. 2–5):

    adv  = [x_i⁺, x̃_i]   → fake    L_adv  = E log(1 − D(adv))
    same = [x_i, x_i⁺]   → real    L_same = E log D(same)
    diff = [x_i, x_i⁻]   → fake    L_diff = E log(1 − D(diff))

D maximises λ_a L_adv + λ_s L_same + λ_d L_diff; G minimises −E log D([x_i⁺, x̃_i]) (the
non-saturating form of the adversarial term). Algorithm 2: G steps every iteration, D every
`d_every`-th. The control samples G(z, E(x)) for a given exemplar x.

Ablations (the paper's Table 3): any λ set to 0 drops its term; `objective=minimax` trains a
single-image D with the plain GAN loss while G still reads f (the conditioning then has nothing to
tie it to the exemplar). `sensor=none` with `objective=minimax` is the baseline: the same GAN
without features, an unconditional control.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.methods.backbones.sensors import FEATURE_SENSORS, feature_extractor
from ganctrl.methods.common.batched import in_batches
from ganctrl.methods.common.contract import ControlMethod, Exemplars, Unconditional, seeded, to_grid
from ganctrl.methods.common.frozen import frozen
from ganctrl.methods.common.gan_losses import nonsaturating_d, nonsaturating_g
from ganctrl.methods.common.job_inputs import Networks, OwnNetworks, TrainingImages

OBJECTIVES = ("triple", "minimax")
GRID_ROWS, GRID_SAMPLES = 10, 9  # the control's grid: exemplars, each beside its samples


def coupled_neighbours(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 1: for every row, the index of its nearest and of its farthest other row by
    L1 distance (a row is never its own neighbour)."""
    if len(features) < 3:
        raise ValueError(f"a coupled batch needs at least 3 images, got {len(features)}")
    distances = torch.cdist(features, features, p=1)
    self_pairs = torch.eye(len(features), dtype=torch.bool, device=features.device)
    nearest = distances.masked_fill(self_pairs, math.inf).argmin(dim=1)
    farthest = distances.masked_fill(self_pairs, -math.inf).argmax(dim=1)
    return nearest, farthest


def coupled_pair(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The discriminator's input: two images concatenated on channels."""
    return torch.cat([first, second], dim=1)


def coupled_discriminator_loss(
    adv_logits: torch.Tensor | None,
    same_logits: torch.Tensor | None,
    diff_logits: torch.Tensor | None,
    weights: tuple[float, float, float],
) -> torch.Tensor:
    """−(λ_a L_adv + λ_s L_same + λ_d L_diff) (eq. 5), D = σ(logit): what D minimises. A term
    whose λ is 0 may come as None (it is not computed)."""
    terms = (
        (adv_logits, lambda x: F.softplus(x)),  # −log(1 − σ(x))
        (same_logits, lambda x: F.softplus(-x)),  # −log σ(x)
        (diff_logits, lambda x: F.softplus(x)),
    )
    total = 0.0
    for (logits, negative_log), weight in zip(terms, weights, strict=True):
        if weight:
            total = total + weight * negative_log(logits).mean()
    return total


def coupled_generator_loss(adv_logits: torch.Tensor) -> torch.Tensor:
    """−E log D([x⁺, x̃]): the adversarial term, non-saturating."""
    return F.softplus(-adv_logits).mean()


def generator_condition(
    features: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor | float
) -> torch.Tensor:
    """What G reads of f: (f − μ) / s, μ the bank's mean code and s the RMS entry of the
    centred bank. An untrained AlexNet's pooled conv5 codes share ~98 % of their energy
    (docs/METHODS.md §2): uncentred, G's input barely moves between images, and G learned to
    ignore it."""
    return (features - mean) / scale


class FeatureConditioned(Exemplars):
    """G(z, (E(x) − μ)/s): samples in the class of an exemplar x, as E's neighbourhoods define
    it.

    Unconditional samples draw f from a bank of training images' features; `encode` is E's
    space (where the metrics layer measures E's neighbour rates)."""

    def __init__(
        self,
        generator: nn.Module,
        extractor: nn.Module,
        feature_mean: torch.Tensor,
        feature_scale: float,
        bank: torch.Tensor,
        exemplars: torch.Tensor,
        batch_size: int = 256,
    ):
        super().__init__(generator, batch_size)
        self.extractor = extractor.eval()
        self.feature_mean, self.feature_scale = feature_mean, feature_scale
        self.bank, self.exemplars = bank, exemplars

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return in_batches(self.extractor, images, self.batch_size, self.device)

    def render_features(self, features: torch.Tensor, seed: int) -> torch.Tensor:
        z = self.generator.sample_latents(len(features), generator=seeded(seed, self.device))
        cond = generator_condition(
            features.to(self.device), self.feature_mean.to(self.device), self.feature_scale
        )
        return self.render_latents(z, cond=cond)

    def sample_like(self, images: torch.Tensor, n_per: int, seed: int = 0) -> torch.Tensor:
        return self.render_features(self.encode(images).repeat_interleave(n_per, dim=0), seed)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        rows = torch.randint(len(self.bank), (n,), generator=torch.Generator().manual_seed(seed))
        return self.render_features(self.bank[rows.to(self.bank.device)], seed)

    def grid(self, seed: int = 0) -> torch.Tensor:
        """One row per stored exemplar: the real image, then its samples."""
        samples = self.sample_like(self.exemplars, GRID_SAMPLES, seed)
        rows = torch.cat(
            [
                self.exemplars.to(self.device)[:, None],
                samples.view(len(self.exemplars), GRID_SAMPLES, *samples.shape[1:]),
            ],
            dim=1,
        )
        return to_grid(rows.flatten(0, 1), nrow=GRID_SAMPLES + 1)


class TripleCoupledGAN(OwnNetworks, TrainingImages, ControlMethod):
    """Trains G(z, f) and the pair discriminator from scratch on the data's training images.

    `sensor`: random_alexnet (seeded, untrained; the paper's MNIST choice), imagenet_alexnet
    (`sensor_weights`: the user's file), pixels, or none (the baseline: no f). f is one AlexNet
    conv map (`feature_layer`, 1–5) average pooled, on images upsampled to `sensor_input_size`.
    G reads (f − μ) / s, μ and s from a bank of `bank_size` training images
    (`generator_condition`), so that f's differences enter at z's scale; neighbours are found on
    f itself. E is frozen and the images fixed, so f is computed once per training image at fit
    start and batches carry image indices. `channels_last`: G and D in the NHWC layout, about a
    quarter faster on a CPU; it changes float rounding, so a run reproduces under the same value.
    """

    trains_on_images = False  # it reads `images` by index, to look up their features

    def __init__(
        self,
        networks: Networks,
        images: torch.Tensor,
        steps: int,
        sensor: str = "random_alexnet",
        feature_layer: int = 5,
        sensor_seed: int = 0,
        sensor_input_size: int = 64,
        sensor_weights: str | None = None,
        objective: Literal["triple", "minimax"] = "triple",
        lambda_adv: float = 1.0,
        lambda_same: float = 1.0,
        lambda_diff: float = 1.0,
        d_every: int = 1,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        bank_size: int = 2000,
        batch_size: int = 64,
        channels_last: bool = False,
        seed: int = 0,
    ):
        super().__init__(steps)
        if len(images) < batch_size:
            raise ValueError(
                f"method.batch_size={batch_size} exceeds the {len(images)} training images"
            )
        if sensor not in (*FEATURE_SENSORS, "none"):
            raise ValueError(
                f"method.sensor must be one of {(*FEATURE_SENSORS, 'none')}, got {sensor!r}"
            )
        if objective not in OBJECTIVES:
            raise ValueError(f"method.objective must be one of {OBJECTIVES}, got {objective!r}")
        self.weights = (float(lambda_adv), float(lambda_same), float(lambda_diff))
        if objective == "triple":
            if sensor == "none":
                raise ValueError(
                    "objective=triple pairs images by their features: it needs a "
                    "sensor (the baseline is sensor=none objective=minimax)"
                )
            if min(self.weights) < 0 or not any(self.weights):
                raise ValueError(
                    f"method.lambda_adv/same/diff must be >= 0 and not all 0, got {self.weights}"
                )
            if not self.weights[0]:
                raise ValueError(
                    "lambda_adv=0 leaves G without a loss: the adversarial pair "
                    "term is the only one G is trained on"
                )
        if d_every < 1:
            raise ValueError(f"method.d_every must be >= 1, got {d_every}")
        self.automatic_optimization = False
        self.objective, self.d_every, self.seed = objective, d_every, seed
        self.lr_g, self.lr_d, self.betas, self.bank_size = lr_g, lr_d, tuple(betas), bank_size
        self.images, self.batch_size = images, batch_size  # not buffers: the data is reloaded
        self.sensor = sensor
        self.image_features: torch.Tensor | None = None  # f of every training image, at fit
        channels, height, width = networks.image_shape
        if sensor == "none":
            self.extractor, dim = None, 0
        else:
            self.extractor = feature_extractor(
                sensor, feature_layer, sensor_seed, sensor_input_size, sensor_weights
            )
            self.extractor.requires_grad_(False).eval()
            with torch.no_grad():
                dim = self.extractor(torch.zeros(1, channels, height, width)).shape[1]
        self.feature_dim = dim
        self.generator = networks.generator(cond_dim=dim)
        pair_channels = 2 * channels if objective == "triple" else channels
        self.discriminator = networks.discriminator(channels=pair_channels)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.generator.to(memory_format=self.memory_format)
        self.discriminator.to(memory_format=self.memory_format)
        # Formed from the data at fit start; buffers, so a checkpoint carries them.
        self.register_buffer("feature_mean", torch.zeros(dim))
        self.register_buffer("feature_scale", torch.ones(()))
        self.register_buffer("feature_bank", torch.zeros(bank_size, dim))
        self.register_buffer("exemplars", torch.zeros(GRID_ROWS, channels, height, width))

    def configure_optimizers(self):
        return (
            torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=self.betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches of training-image indices, epoch after epoch (a distributed run
        splits them across ranks); the run stops after `steps` of them."""
        order = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            range(len(self.images)),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=True,
            generator=order,
        )

    @torch.no_grad()
    def on_fit_start(self) -> None:
        """Every training image's features, a seeded bank of them (the scale s, unconditional
        sampling) and the grid's exemplars: deterministic, so a resumed run forms the same."""
        images = self.images
        rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
        self.exemplars.copy_(images[rows[:GRID_ROWS]])
        if self.extractor is None:
            return
        if len(images) < self.bank_size:
            raise ValueError(
                f"method.bank_size={self.bank_size} exceeds the {len(images)} training images"
            )
        self.image_features = in_batches(self.extractor, images, 256, self.device).to(self.device)
        bank = self.image_features[rows[: self.bank_size].to(self.device)]
        self.feature_bank.copy_(bank)
        self.feature_mean.copy_(bank.mean(dim=0))
        centred = bank - self.feature_mean
        self.feature_scale.copy_(centred.square().mean().sqrt().clamp_min(1e-12))

    def training_step(self, rows: torch.Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        g, d = self.generator, self.discriminator
        real = self.images[rows.cpu()].to(self.device, memory_format=self.memory_format)
        z = g.sample_latents(len(real))
        if self.extractor is None:
            fake = g(z)
        else:
            features = self.image_features[rows.to(self.device)]
            fake = g(z, cond=self.condition(features))
        with frozen(d):
            if self.objective == "triple":
                nearest, farthest = coupled_neighbours(features)
                positive, negative = real[nearest], real[farthest]
                loss_g = coupled_generator_loss(d(coupled_pair(positive, fake)))
            else:
                loss_g = nonsaturating_g(d(fake))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.log("loss/g", loss_g, prog_bar=True)
        if self.iteration % self.d_every == 0:
            fake = fake.detach()
            if self.objective == "triple":
                loss_d = self.coupled_d_loss(real, positive, negative, fake)
            else:
                loss_d = nonsaturating_d(d(real), d(fake))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
            self.log("loss/d", loss_d, prog_bar=True)
            if not math.isfinite(loss_d.item()):
                raise FloatingPointError(
                    f"D's loss became non-finite at iteration {self.iteration}; lower method.lr_d"
                )
        if not math.isfinite(loss_g.item()):
            raise FloatingPointError(
                f"G's loss became non-finite at iteration {self.iteration}; lower method.lr_g"
            )

    def coupled_d_loss(self, real, positive, negative, fake) -> torch.Tensor:
        """The three pair kinds through D in one pass (D has no batch statistics), the terms
        whose λ is 0 left out."""
        kinds = [(positive, fake), (real, positive), (real, negative)]
        used = [i for i, weight in enumerate(self.weights) if weight]
        logits = self.discriminator(torch.cat([coupled_pair(*kinds[i]) for i in used])).chunk(
            len(used)
        )
        by_kind = [None, None, None]
        for i, part in zip(used, logits, strict=True):
            by_kind[i] = part
        return coupled_discriminator_loss(*by_kind, self.weights)

    def condition(self, features: torch.Tensor) -> torch.Tensor:
        return generator_condition(features, self.feature_mean, self.feature_scale)

    def summary(self) -> dict:
        return {
            **super().summary(),
            "sensor": self.sensor,
            "feature_dim": self.feature_dim,
            "feature_scale": float(self.feature_scale),
        }

    def controls(self) -> FeatureConditioned | Unconditional:
        generator = copy.deepcopy(self.generator).eval()
        if self.extractor is None:
            return Unconditional(generator)
        return FeatureConditioned(
            generator,
            self.extractor,
            self.feature_mean,
            float(self.feature_scale),
            self.feature_bank,
            self.exemplars,
        )
