"""A small StyleGAN2-style generator: mapping z → w, synthesis from w⁺ (one w per layer).

As in StyleGAN2 (Karras et al. 2020, config E/F at small scale): an 8-or-fewer-layer mapping
network of equalised-learning-rate linear layers with a learning-rate multiplier (0.01: the
mapping trains 100× slower than the synthesis), pixel norm on z, leaky ReLU with gain √2;
style affines with equalised learning rate and bias 1; modulated, demodulated 3×3 convs; the
skip architecture (a 1×1 toRGB at every resolution, the image summed up through bilinear ×2
up-sampling). Synthesis: a learned 4×4 constant, one conv at 4×4, then per resolution an ×2
up-sampling and two convs. Each conv reads its own w, and each toRGB shares the w of the conv
after it, so at 32 px `num_ws` = 8 (7 convs + the last toRGB). The training recipe adds style
mixing, R1 and an EMA of G (methods/unconditional.py, conf/generator/stylegan_lite.yaml).

Departures from StyleGAN2, all for a CPU budget: no noise inputs (so G(w⁺) is deterministic,
which the direction metrics rely on), no path-length regularisation, no w_avg tracking and so
no truncation trick, bilinear instead of FIR-filtered up-sampling, the non-fused modulated conv,
widths of tens not hundreds of channels, and a discriminator that is not StyleGAN2's residual
one (the YAML picks it). `features(z, layer)` taps the activation after synthesis conv `layer`
(1-based).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganctrl.methods.backbones.base import GeneratorBase
from ganctrl.methods.backbones.conditioning import LatentInput
from ganctrl.methods.backbones.dcgan import num_upsamplings

LRELU_GAIN = math.sqrt(2.0)  # keeps activations at unit scale through leaky ReLU(0.2)


class EqualLinear(nn.Module):
    """A linear layer with equalised learning rate: weights drawn N(0, 1/lr_mul²) and scaled at
    run time by lr_mul/√fan_in, so Adam's steps are the same relative size for every layer, and
    `lr_mul` scales this layer's effective learning rate."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), bias_init / lr_mul))
        self.weight_gain, self.lr_mul = lr_mul / math.sqrt(in_dim), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    def __init__(self, in_dim: int, w_dim: int, num_layers: int, lr_mul: float = 0.01):
        super().__init__()
        dims = [in_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2) * LRELU_GAIN
        return x


class ModulatedConv(nn.Module):
    """A conv whose input channels are scaled by a style from w, then demodulated (StyleGAN2).

    Computed in StyleGAN2's non-fused form — scale the input, run one shared conv, rescale the
    output — which equals the per-sample modulated weights of its eqs. 1–3 and runs as a plain
    batched conv (grouped per-sample convs are several times slower on a CPU).
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, kernel: int = 3, demodulate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # styles start near 1
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)  # equalised learning rate
        self.demodulate, self.padding = demodulate, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (B, c_in)
        weight = self.weight * self.scale
        out = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            # ‖w'_{b,o}‖² = Σ_i s_{b,i}² Σ_k w_{o,i,k}²
            norm_sq = styles.square() @ weight.square().sum(dim=(2, 3)).t()
            out = out * torch.rsqrt(norm_sq + 1e-8)[:, :, None, None]
        return out + self.bias.view(1, -1, 1, 1)


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class SynthesisNetwork(nn.Module):
    def __init__(self, channels: int, image_size: int, w_dim: int, width: int):
        super().__init__()
        n_up = num_upsamplings(image_size)
        widths = [min(4 * width, width * 2 ** (n_up - i)) for i in range(n_up + 1)]  # per res.
        self.const = nn.Parameter(torch.randn(1, widths[0], 4, 4))
        convs = [ModulatedConv(widths[0], widths[0], w_dim)]
        for i in range(n_up):
            convs += [
                ModulatedConv(widths[i], widths[i + 1], w_dim),
                ModulatedConv(widths[i + 1], widths[i + 1], w_dim),
            ]
        self.convs = nn.ModuleList(convs)
        self.to_rgbs = nn.ModuleList(
            ModulatedConv(c, channels, w_dim, kernel=1, demodulate=False) for c in widths
        )
        self.num_ws = len(self.convs) + 1

    def forward(self, ws: torch.Tensor, stop_after: int | None = None) -> torch.Tensor:
        """ws: (B, num_ws, w_dim). With `stop_after=n`, the activation after conv n."""
        x = self.const.expand(len(ws), -1, -1, -1)
        image = None
        for i, conv in enumerate(self.convs):
            if i % 2 == 1:  # convs 1, 3, 5, … open a new resolution
                x = _upsample(x)
            x = F.leaky_relu(conv(x, ws[:, i]), 0.2) * LRELU_GAIN
            if stop_after == i + 1:
                return x
            if i % 2 == 0:  # the last conv of a resolution: add its toRGB to the image
                rgb = self.to_rgbs[i // 2](x, ws[:, i + 1])
                image = rgb if image is None else _upsample(image) + rgb
        return torch.tanh(image)


class StyleGANLiteGenerator(GeneratorBase):
    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        z_dim: int = 128,
        w_dim: int = 128,
        width: int = 32,
        mapping_layers: int = 4,
        mapping_lr_mul: float = 0.01,
        num_classes: int = 0,
        cond_dim: int = 0,
    ):
        super().__init__()
        self.z_dim, self.w_dim, self.channels, self.image_size = z_dim, w_dim, channels, image_size
        self.input = LatentInput(z_dim, num_classes, cond_dim)
        self.mapping_network = MappingNetwork(
            self.input.out_dim, w_dim, mapping_layers, mapping_lr_mul
        )
        self.synthesis_network = SynthesisNetwork(channels, image_size, w_dim, width)
        self.num_ws = self.synthesis_network.num_ws
        self.num_blocks = self.num_ws - 1  # feature taps: one per synthesis conv

    def mapping(self, z: torch.Tensor, labels=None, cond=None) -> torch.Tensor:
        """z → w⁺ (B, num_ws, w_dim), the same w repeated for every layer."""
        w = self.mapping_network(self.input(z, labels, cond))
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        return self.synthesis_network(ws)

    def features(self, z: torch.Tensor, layer: int, labels=None, cond=None) -> torch.Tensor:
        self.check_layer(layer)
        return self.synthesis_network(self.mapping(z, labels, cond), stop_after=layer)

    def forward(self, z: torch.Tensor, labels=None, cond=None) -> torch.Tensor:
        return self.synthesis(self.mapping(z, labels, cond))
