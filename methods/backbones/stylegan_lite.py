"""A small StyleGAN2-style generator: mapping z → w, synthesis from w⁺ (one w per layer).

Synthesis: a learned 4×4 constant, one modulated 3×3 conv at 4×4, then per resolution a bilinear
×2 up-sampling and two modulated convs, then a modulated 1×1 toRGB without demodulation. At 32 px
that is 7 convs + toRGB, so `num_ws` = 8. Left out for size: noise inputs, equalised learning
rate in the mapping network, path-length and R1 regularisation, truncation.
`features(z, layer)` taps the activation after synthesis conv `layer` (1-based).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganctrl.methods.backbones.base import GeneratorBase
from ganctrl.methods.backbones.conditioning import LatentInput
from ganctrl.methods.backbones.dcgan import num_upsamplings


class MappingNetwork(nn.Module):
    def __init__(self, in_dim: int, w_dim: int, num_layers: int):
        super().__init__()
        layers, dim = [], in_dim
        for _ in range(num_layers):
            layers += [nn.Linear(dim, w_dim), nn.LeakyReLU(0.2, inplace=True)]
            dim = w_dim
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        return self.net(z)


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
        self.affine = nn.Linear(w_dim, c_in)
        nn.init.ones_(self.affine.bias)  # styles start at 1: the unmodulated conv
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
        self.to_rgb = ModulatedConv(widths[-1], channels, w_dim, kernel=1, demodulate=False)
        self.num_ws = len(self.convs) + 1

    def forward(self, ws: torch.Tensor, stop_after: int | None = None) -> torch.Tensor:
        """ws: (B, num_ws, w_dim). With `stop_after=n`, the activation after conv n."""
        x = self.const.expand(len(ws), -1, -1, -1)
        for i, conv in enumerate(self.convs):
            if i > 0 and i % 2 == 1:  # convs 1, 3, 5, … open a new resolution
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x, ws[:, i]), 0.2) * math.sqrt(2)
            if stop_after == i + 1:
                return x
        return torch.tanh(self.to_rgb(x, ws[:, -1]))


class StyleGANLiteGenerator(GeneratorBase):
    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        z_dim: int = 128,
        w_dim: int = 128,
        width: int = 32,
        mapping_layers: int = 4,
        num_classes: int = 0,
        cond_dim: int = 0,
    ):
        super().__init__()
        self.z_dim, self.w_dim, self.channels, self.image_size = z_dim, w_dim, channels, image_size
        self.input = LatentInput(z_dim, num_classes, cond_dim)
        self.mapping_network = MappingNetwork(self.input.out_dim, w_dim, mapping_layers)
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
