"""MIC-GAN with the Adversarial Chinese Restaurant Process (Ying et al.; docs/METHODS.md §5): a
conditional GAN whose labels are the tables of an infinite Gaussian mixture over an encoder's
embeddings of the real images, re-sampled by CRP Gibbs sweeps between GAN epochs.

The schedule, one Lightning iteration per step (`phase`):
1. `init_steps` GAN steps with uniform random labels on D's unconditional head;
2. `crp_epochs` epochs, each: `q_steps` encoder steps (Q learns to map G(z, y), y ~ Cat(π), to
   table y's mean), one CRP step (embed every real image, methods/crp.py's rounds of sweeps,
   refit, removal; π_k = n_k / N), then `gan_steps` conditional GAN steps in which each real
   image carries its sampled table as its label and G draws the same labels;
3. `final_steps` more conditional GAN steps on the last labels (re-sampling has stopped).

Losses (the authors' code): D minimises −E D(x) + E D(G(z, y)) + 10·E‖∇ₓD(x)‖², G minimises
−E D(G(z, y)); Q minimises 0.1·mean((Q(G(z, y)) − μ_y)²). Adam(1e-4, β = (0, 0.99)) for all three.
The control samples table k as G(z, k) and assigns a real image to its most likely table.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.methods.common.batched import in_batches
from ganctrl.methods.common.contract import Clusters, ControlMethod, seeded
from ganctrl.methods.common.frozen import frozen
from ganctrl.methods.common.gan_losses import r1_penalty
from ganctrl.methods.common.job_inputs import Networks, OwnNetworks, TrainingImages
from ganctrl.methods.common.streams import iteration_stream
from ganctrl.methods.mic_gan.crp import Tables, crp_rounds, initial_tables, log_likelihoods

R1_WEIGHT = 10.0  # the authors' γ, applied at every D step, without the usual 1/2
Q_WEIGHT = 0.1


def linear_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−E D(x) + E D(G(z, y)): the authors' critic loss (before the R1 term)."""
    return fake_logits.mean() - real_logits.mean()


def linear_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def encoder_loss(embeddings: torch.Tensor, target_means: torch.Tensor) -> torch.Tensor:
    """0.1 · the mean squared error over every entry (the authors' `F.mse_loss(...) * 0.1`)."""
    return Q_WEIGHT * F.mse_loss(embeddings, target_means)


def encoder(channels: int, image_size: int, embed_dim: int, width: int = 64) -> nn.Sequential:
    """Q: stride-2 convs with LeakyReLU down to 2×2, then a linear map; no BatchNorm (its
    statistics would differ between generated training batches and real embedding batches)."""
    layers, c_in, size = [], channels, image_size
    while size > 2:
        layers += [nn.Conv2d(c_in, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c_in, width, size = width, 2 * width, size // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * size * size, embed_dim))


class TableClusters(Clusters):
    """The kept tables as clusters: cluster c is G(z, table c); weights π; `assign` puts a real
    image at its most likely table under Q and the Gaussians."""

    def __init__(
        self,
        generator: nn.Module,
        encoder_net: nn.Module,
        tables: Tables,
        weights: np.ndarray,
        batch_size: int = 256,
    ):
        super().__init__(generator, batch_size)
        self.encoder, self.tables = encoder_net.eval(), tables
        self.kept = np.flatnonzero(~tables.removed)
        self.k = len(self.kept)
        self.weights = torch.as_tensor(weights[self.kept], dtype=torch.float32)

    @torch.no_grad()
    def sample_cluster(self, cluster: int, n: int, seed: int = 0) -> torch.Tensor:
        z = self.generator.sample_latents(n, generator=seeded(seed, self.device))
        labels = torch.full((n,), int(self.kept[cluster]), device=self.device)
        return self.render_latents(z, labels=labels)

    def assign(self, images: torch.Tensor) -> torch.Tensor:
        embedded = in_batches(self.encoder, images, self.batch_size, self.device)
        scores = log_likelihoods(embedded.double().numpy(), self.tables)[:, self.kept]
        return torch.from_numpy(scores.argmax(axis=1))


class MICGAN(OwnNetworks, TrainingImages, ControlMethod):
    """Method 5, and with `clusters=1` its baseline (the same GAN with a single table).

    `channels_last`: G, D and Q in the NHWC layout, about a tenth faster on a CPU; it changes
    float rounding, so a run reproduces under the same value."""

    trains_on_images = False  # it schedules its own passes over `images`, labelled by index
    supports_ddp = False  # one process holds the tables and runs the sweeps

    def __init__(
        self,
        networks: Networks,
        images: torch.Tensor,
        clusters: int = 20,
        init_steps: int = 18750,
        crp_epochs: int = 10,
        q_steps: int = 1000,
        gan_steps: int = 9375,
        final_steps: int = 0,
        crp_rounds: int = 3,
        crp_sweeps: int = 3,
        alpha: float = 0.0,
        min_members_per_dim: float = 10.0,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.99),
        batch_size: int = 64,
        encoder_width: int = 64,
        channels_last: bool = False,
        seed: int = 0,
    ):
        counts = {
            "init_steps": init_steps,
            "crp_epochs": crp_epochs,
            "q_steps": q_steps,
            "gan_steps": gan_steps,
            "final_steps": final_steps,
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"method.{name} must be >= 0, got {value}")
        if clusters < 1:
            raise ValueError(f"method.clusters must be >= 1, got {clusters}")
        if min_members_per_dim < 1:  # fewer than d + 2 members cannot give a full-rank covariance
            raise ValueError(f"method.min_members_per_dim must be >= 1, got {min_members_per_dim}")
        self.epoch_length = q_steps + 1 + gan_steps
        super().__init__(init_steps + crp_epochs * self.epoch_length + final_steps)
        self.automatic_optimization = False
        self.images = images  # not a buffer: the data is reloaded, not checkpointed
        self.k, self.init_steps, self.crp_epochs = clusters, init_steps, crp_epochs
        self.q_steps, self.rounds, self.sweeps, self.alpha = q_steps, crp_rounds, crp_sweeps, alpha
        self.min_members_per_dim = min_members_per_dim
        self.lr, self.betas, self.batch_size, self.seed = lr, tuple(betas), batch_size, seed
        channels, size, _ = networks.image_shape
        self.generator = networks.generator(num_classes=clusters)
        self.discriminator = networks.discriminator(num_classes=clusters)
        self.encoder = encoder(channels, size, clusters, encoder_width)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        for net in (self.generator, self.discriminator, self.encoder):
            net.to(memory_format=self.memory_format)
        tables = initial_tables(clusters, clusters)
        # The mixture and every image's table: buffers, so a checkpoint carries them.
        self.register_buffer("means", torch.from_numpy(tables.means))
        self.register_buffer("covariances", torch.from_numpy(tables.covariances))
        self.register_buffer("removed", torch.from_numpy(tables.removed))
        uniform = torch.full((clusters,), 1.0 / clusters, dtype=torch.float64)
        self.register_buffer("weights", uniform)
        self.register_buffer("labels", torch.zeros(len(images), dtype=torch.long))
        self.history: list[dict] = []

    # --- the schedule -------------------------------------------------------------------------

    def phase(self, iteration: int) -> tuple[str, int]:
        """("init" | "encoder" | "crp" | "gan", CRP epoch) of an iteration (epoch 0: before)."""
        if iteration < self.init_steps:
            return "init", 0
        step = iteration - self.init_steps
        epoch, within = divmod(step, self.epoch_length)
        if epoch >= self.crp_epochs:
            return "gan", self.crp_epochs
        if within < self.q_steps:
            return "encoder", epoch + 1
        if within == self.q_steps:
            return "crp", epoch + 1
        return "gan", epoch + 1

    def train_dataloader(self) -> DataLoader:
        return DataLoader(range(self.steps), batch_size=None, shuffle=False)

    def configure_optimizers(self):
        return [
            torch.optim.Adam(net.parameters(), lr=self.lr, betas=self.betas)
            for net in (self.generator, self.discriminator, self.encoder)
        ]

    def tables(self) -> Tables:
        return Tables(
            self.means.cpu().numpy(), self.covariances.cpu().numpy(), self.removed.cpu().numpy()
        )

    def training_step(self, iteration: int, batch_idx: int) -> None:
        kind, epoch = self.phase(int(iteration))
        rng = iteration_stream(self.seed, int(iteration))  # batch rows and labels
        if kind == "crp":
            self.crp_step(epoch)
        elif kind == "encoder":
            self.encoder_step(rng)
        else:
            self.gan_step(rng, conditional=kind == "gan")

    def draw_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        return torch.multinomial(self.weights.float().cpu(), n, replacement=True, generator=rng)

    def gan_step(self, rng: torch.Generator, conditional: bool) -> None:
        opt_g, opt_d, _ = self.optimizers()
        rows = torch.randint(len(self.images), (self.batch_size,), generator=rng)
        real = self.images[rows].to(self.device, memory_format=self.memory_format)
        if conditional:
            labels = self.labels[rows.to(self.device)]
        else:  # stage 1: uniform random labels, the unconditional head
            labels = torch.randint(self.k, (self.batch_size,), generator=rng).to(self.device)
        head = labels if conditional else None
        g, d = self.generator, self.discriminator
        with torch.no_grad():
            fake = g(g.sample_latents(self.batch_size), labels=labels)
        real = real.requires_grad_(True)
        real_logits = d(real, head)
        penalty = r1_penalty(real_logits, real)
        loss_d = linear_d_loss(real_logits, d(fake, head)) + R1_WEIGHT * penalty
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        with frozen(d):
            loss_g = linear_g_loss(d(g(g.sample_latents(self.batch_size), labels=labels), head))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        if not (np.isfinite(loss_d.item()) and np.isfinite(loss_g.item())):
            raise FloatingPointError(
                f"MIC-GAN's losses became non-finite at iteration {self.iteration}: lower method.lr"
            )
        self.log_dict({"loss/d": loss_d, "loss/g": loss_g, "loss/r1": penalty}, prog_bar=True)

    def encoder_step(self, rng: torch.Generator) -> None:
        _, _, opt_q = self.optimizers()
        labels = self.draw_labels(self.batch_size, rng).to(self.device)
        g = self.generator
        g.eval()  # the authors embed G's eval-mode samples
        with torch.no_grad():
            fake = g(g.sample_latents(self.batch_size), labels=labels)
        g.train()
        loss = encoder_loss(self.encoder(fake), self.means[labels].float())
        opt_q.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt_q.step()
        self.log("loss/q", loss, prog_bar=True)

    def embed(self, images: torch.Tensor) -> np.ndarray:
        self.encoder.eval()
        out = in_batches(self.encoder, images, 256, self.device)
        self.encoder.train()
        return out.double().numpy()

    def crp_step(self, epoch: int) -> None:
        start = time.perf_counter()
        embeddings = self.embed(self.images)
        rng = np.random.default_rng([self.seed, epoch])
        labels, tables, weights, sweep_seconds = crp_rounds(
            embeddings,
            self.tables(),
            rng,
            self.rounds,
            self.sweeps,
            self.alpha,
            self.min_members_per_dim,
        )
        self.labels.copy_(torch.from_numpy(labels))
        self.means.copy_(torch.from_numpy(tables.means))
        self.covariances.copy_(torch.from_numpy(tables.covariances))
        self.removed.copy_(torch.from_numpy(tables.removed))
        self.weights.copy_(torch.from_numpy(weights))
        self.history.append(
            {
                "epoch": epoch,
                "kept": int((~tables.removed).sum()),
                "weights": weights.round(4).tolist(),
                "sweep_seconds": float(np.mean(sweep_seconds)),
                "seconds": time.perf_counter() - start,
            }
        )

    # --- results ------------------------------------------------------------------------------

    def summary(self) -> dict:
        return {
            **super().summary(),
            "crp": self.history,
            "weights": self.weights.tolist(),
            "removed": self.removed.tolist(),
        }

    def controls(self) -> TableClusters:
        generator = copy.deepcopy(self.generator).eval()
        return TableClusters(
            generator, copy.deepcopy(self.encoder), self.tables(), self.weights.cpu().numpy()
        )
