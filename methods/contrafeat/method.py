"""The ContraFeat navigator (Zhu, Xu, Tao; docs/METHODS.md §3): K edit directions in w⁺ of a
frozen style-based G, each a direction in the top-q PCA subspace of W spread over the layers by a
learned attention, trained with contrastive losses on a frozen sensor's feature changes.

- Directions: d_k = V_q a_k, rescaled to RMS 1 over w's coordinates (learned a_k), or fixed
  GANSpace / SeFa directions with only the attention learned (the paper's Table 1 "att" rows).
- Attention: α_k = blur(softmax(b_k)) over the num_ws layers (kernel 3, σ 1, reflect padding).
- Edit: Δ_k = α_k ⊗ d_k, w⁺' = w⁺ + s·Δ_k, s ~ U(−1, 1)·s_max.
- Binary (Bi): the same edit on two bases must change the sensor's features alike, another
  direction's edit differently. Prototype (Pt): a symmetric edit must change them like direction
  k's learned pattern and unlike the others'. Both add 0.1 × the diversity term.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from ganctrl.methods.backbones.base import latent_space
from ganctrl.methods.backbones.sensors import SENSORS
from ganctrl.methods.common.closed_form_directions import (
    latent_reading_weight,
    principal_axes,
    sefa,
)
from ganctrl.methods.common.contract import ControlMethod, to_grid
from ganctrl.methods.common.linear_directions import LinearDirections
from ganctrl.methods.common.streams import iteration_stream
from ganctrl.methods.contrafeat.losses import (
    binary_loss,
    diversity_loss,
    gaussian_kernel,
    prototype_loss,
    rms_normalised,
    smoothed_attention,
    uniform_scale,
)

VARIANTS = ("bi", "pt")
BASES = ("learned", "ganspace", "sefa")
DIVERSITY_WEIGHT = 0.1
PATTERN_STD = 0.01  # the prototype patterns start at N(0, 0.01)


def binary_latents(
    w1: torch.Tensor,
    w2: torch.Tensor,
    edits: torch.Tensor,
    i: torch.Tensor,
    j: torch.Tensor,
    s: torch.Tensor,
    s_other: torch.Tensor,
) -> list:
    """Bi's five w⁺ batches: base w₁, query w₁ + sΔ_i, base w₂, positive w₂ + sΔ_i (the query's
    direction and scale on another base), negative w₂ + s'Δ_j (another direction, its own s')."""
    s, s_other = s[:, None, None], s_other[:, None, None]
    return [w1, w1 + s * edits[i], w2, w2 + s * edits[i], w2 + s_other * edits[j]]


def symmetric_latents(
    w: torch.Tensor, edits: torch.Tensor, q: torch.Tensor, s: torch.Tensor
) -> list[torch.Tensor]:
    """Pt's pair w ± ½sΔ_q: the change between them is a full edit of s, centred on w."""
    half = 0.5 * s[:, None, None] * edits[q]
    return [w + half, w - half]


class Navigator(nn.Module):
    """The direction branch (coefficients in the PCA basis, or fixed directions) and the
    attention branch (logits over the layers, starting uniform)."""

    def __init__(
        self,
        basis: torch.Tensor,
        k: int,
        num_ws: int,
        fixed: torch.Tensor | None = None,
        seed: int = 0,
    ):
        super().__init__()
        self.register_buffer("basis", basis)  # (q, w_dim), orthonormal rows
        self.register_buffer("kernel", gaussian_kernel(3, 1.0))
        if fixed is None:
            generator = torch.Generator().manual_seed(seed)
            self.coefficients = nn.Parameter(torch.randn(k, len(basis), generator=generator))
        else:
            self.register_buffer("fixed", fixed)
        self.attention_logits = nn.Parameter(torch.zeros(k, num_ws))

    def directions(self) -> torch.Tensor:
        """(K, w_dim), each of RMS 1."""
        raw = self.coefficients @ self.basis if hasattr(self, "coefficients") else self.fixed
        return rms_normalised(raw)

    def attention(self) -> torch.Tensor:
        """(K, num_ws): non-negative; a row sums to 1 before the blur (reflect padding weighs the
        end layers again, so not exactly after it)."""
        return smoothed_attention(self.attention_logits, self.kernel)

    def edits(self) -> torch.Tensor:
        """(K, num_ws, w_dim): Δ_k = α_k ⊗ d_k."""
        return self.attention()[:, :, None] * self.directions()[:, None, :]


class AttendedDirections(LinearDirections):
    """ContraFeat's edits as per-layer linear directions: the traversal strips draw each one's
    attention profile beside it (`layer_profile`); Pt adds its learned patterns as a picture."""

    def __init__(
        self, generator: nn.Module, edits: torch.Tensor, patterns: torch.Tensor | None = None
    ):
        super().__init__(generator, edits, "w")
        self.patterns = patterns

    def pictures(self, seed: int = 0) -> dict[str, torch.Tensor]:
        out = super().pictures(seed)
        if self.patterns is not None:
            out["patterns"] = to_grid(torch.tanh(self.patterns), nrow=len(self.patterns))
        return out


class ContraFeat(ControlMethod):
    """The navigator trained with the Bi or Pt loss; `base` fixes its directions to GANSpace or
    SeFa and learns the attention alone."""

    needs_generator = True
    trains_on_images = False
    supports_ddp = False

    def __init__(
        self,
        generator: nn.Module,
        variant: str = "bi",
        base: str = "learned",
        directions: int = 10,
        subspace: int = 30,
        steps: int = 75000,
        batch_size: int = 8,
        edit_scale: float = 1.0,
        lr: float = 0.05,
        betas: tuple[float, float] = (0.0, 0.99),
        pca_samples: int = 100000,
        sensor: str = "random_alexnet",
        sensor_seed: int = 0,
        sensor_input_size: int = 64,
        sensor_weights: str | None = None,
        seed: int = 0,
    ):
        if variant not in VARIANTS:
            raise ValueError(f"method.variant must be one of {VARIANTS}, got {variant!r}")
        if base not in BASES:
            raise ValueError(f"method.base must be one of {BASES}, got {base!r}")
        if latent_space(generator) != "w":
            raise ValueError(
                "ContraFeat edits w⁺: run it with a style-based generator (generator=stylegan_lite)"
            )
        if sensor not in SENSORS:
            raise ValueError(f"method.sensor must be one of {tuple(SENSORS)}, got {sensor!r}")
        if not directions <= subspace <= generator.w_dim:
            raise ValueError(
                f"need method.directions <= method.subspace <= w_dim "
                f"({generator.w_dim}), got {directions} and {subspace}"
            )
        super().__init__(steps)
        self.automatic_optimization = False
        self.generator = generator.eval().requires_grad_(False)
        self.variant, self.base, self.k = variant, base, directions
        self.batch_size, self.lr, self.betas, self.seed = batch_size, lr, tuple(betas), seed
        # drawn on the CPU and the PCA taken there, so that every device gets the same subspace
        device = next(generator.parameters()).device
        with torch.no_grad():
            z = generator.sample_latents(
                pca_samples, generator=torch.Generator().manual_seed(seed), device="cpu"
            )
            w = torch.cat(
                [generator.mapping(part.to(device))[:, 0].cpu() for part in z.split(1000)]
            )
        basis, shares = principal_axes(w, subspace)
        # s_max: an edit under uniform attention moves every layer by up to `edit_scale` of w's
        # per-coordinate spread
        self.max_shift = edit_scale * float(w.std(dim=0).square().mean().sqrt()) * generator.num_ws
        self.facts = {"subspace_variance": float(shares.sum()), "max_shift": self.max_shift}
        self.navigator = Navigator(
            basis, directions, generator.num_ws, self._fixed_directions(base, w, directions), seed
        )
        if sensor == "imagenet_alexnet":
            self.sensor = SENSORS[sensor](sensor_weights, sensor_input_size)
        else:
            self.sensor = SENSORS[sensor](sensor_seed, sensor_input_size)
        self.patterns = None
        if variant == "pt":
            shape = (directions, generator.channels, generator.image_size, generator.image_size)
            draws = torch.Generator().manual_seed(seed + 1)
            self.patterns = nn.Parameter(PATTERN_STD * torch.randn(*shape, generator=draws))

    def _fixed_directions(self, base: str, w: torch.Tensor, k: int) -> torch.Tensor | None:
        if base == "ganspace":
            return principal_axes(w, k)[0]
        if base == "sefa":
            return sefa(latent_reading_weight(self.generator, "w").detach().cpu(), k)[0]
        return None

    def train_dataloader(self) -> DataLoader:
        return DataLoader(range(self.steps), batch_size=None, shuffle=False)

    def configure_optimizers(self):
        params = [*self.navigator.parameters(), *([self.patterns] if self.variant == "pt" else [])]
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas)

    def bases(self, n: int, rng: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            z = self.generator.sample_latents(n, generator=rng, device="cpu").to(self.device)
            return self.generator.mapping(z)

    def binary_step(self, edits: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        n, k = self.batch_size, self.k
        w1, w2 = self.bases(n, rng), self.bases(n, rng)
        i = torch.randint(k, (n,), generator=rng)
        j = (i + torch.randint(1, k, (n,), generator=rng)) % k  # another direction
        s = uniform_scale(n, self.max_shift, rng).to(self.device)
        s_other = uniform_scale(n, self.max_shift, rng).to(self.device)
        latents = binary_latents(w1, w2, edits, i.to(self.device), j.to(self.device), s, s_other)
        maps = [m.split(n) for m in self.sensor(self.generator.synthesis(torch.cat(latents)))]
        query = [m[1] - m[0] for m in maps]
        positive = [m[3] - m[2] for m in maps]
        negative = [m[4] - m[2] for m in maps]
        return binary_loss(query, positive, negative)

    def prototype_step(self, edits: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        n = self.batch_size
        w = self.bases(n, rng)
        q = torch.randint(self.k, (n,), generator=rng).to(self.device)
        s = uniform_scale(n, self.max_shift, rng).to(self.device)
        latents = torch.cat(symmetric_latents(w, edits, q, s))
        changes = [m[:n] - m[n:] for m in self.sensor(self.generator.synthesis(latents))]
        prototypes = self.sensor(torch.tanh(self.patterns))
        return prototype_loss(changes, prototypes, q)

    def training_step(self, iteration: int, batch_idx: int) -> None:
        rng = iteration_stream(self.seed, int(iteration))
        edits = self.navigator.edits()
        step = self.binary_step if self.variant == "bi" else self.prototype_step
        contrast = step(edits, rng)
        diversity = diversity_loss(edits)
        loss = contrast + DIVERSITY_WEIGHT * diversity
        optimiser = self.optimizers()
        optimiser.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        for group in optimiser.param_groups:  # the authors zero non-finite gradients
            for p in group["params"]:
                if p.grad is not None:
                    torch.nan_to_num_(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
        optimiser.step()
        self.log_dict(
            {"loss/contrast": contrast.detach(), "loss/diversity": diversity.detach()},
            prog_bar=True,
        )

    def summary(self) -> dict:
        attention = self.navigator.attention().detach()
        return {**super().summary(), **self.facts, "attention": attention.tolist()}

    def controls(self) -> AttendedDirections:
        with torch.no_grad():
            edits = self.navigator.edits()
        patterns = None if self.patterns is None else self.patterns.detach().cpu().clone()
        return AttendedDirections(self.generator, edits, patterns)
