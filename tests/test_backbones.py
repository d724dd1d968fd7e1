import math

import pytest
import torch
import torch.nn.functional as F

from ganctrl.methods.backbones.dcgan import DCGANDiscriminator, DCGANGenerator
from ganctrl.methods.backbones.sngan import SNGANDiscriminator, SNGANGenerator
from ganctrl.methods.backbones.stylegan_lite import (
    EqualLinear,
    ModulatedConv,
    StyleGANLiteGenerator,
)

GENERATORS = [DCGANGenerator, SNGANGenerator, StyleGANLiteGenerator]


@pytest.mark.parametrize("cls", GENERATORS)
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_output_and_layer_taps(cls, channels):
    torch.manual_seed(0)
    g = cls(channels=channels, width=8).eval()
    z = g.sample_latents(4)
    assert z.shape == (4, g.z_dim)
    x = g(z)
    assert x.shape == (4, channels, 32, 32) and x.abs().max() <= 1
    taps = [g.features(z, layer) for layer in range(1, g.num_blocks + 1)]
    sizes = [t.shape[-1] for t in taps]
    assert sizes == sorted(sizes) and sizes[0] == 4
    if cls is not StyleGANLiteGenerator:
        assert torch.allclose(taps[-1], x)
    with pytest.raises(ValueError, match="layer must lie"):
        g.features(z, g.num_blocks + 1)


def test_dcgan_layer_two_is_the_first_upsampling_block():
    g = DCGANGenerator(channels=1, width=8)
    assert g.features(torch.randn(2, g.z_dim), 2).shape == (2, 16, 8, 8)


def test_stylegan_lite_mapping_synthesis_and_num_ws():
    torch.manual_seed(0)
    g = StyleGANLiteGenerator(channels=3, width=8).eval()
    assert g.num_ws >= 6
    z = g.sample_latents(3)
    ws = g.mapping(z)
    assert ws.shape == (3, g.num_ws, g.w_dim)
    assert torch.allclose(g.synthesis(ws), g(z))
    edited = ws.clone()
    edited[:, 2] += 1.0  # one layer's w changes the image: the layers really are separate
    assert not torch.allclose(g.synthesis(edited), g(z))
    with pytest.raises(ValueError, match="ws must be"):
        g.synthesis(ws[:, :2])


def test_modulated_conv_equals_per_sample_demodulated_weights():
    """StyleGAN2 eqs. 1–3 computed literally, one sample at a time."""
    torch.manual_seed(0)
    conv = ModulatedConv(5, 7, w_dim=6)
    x, w = torch.randn(3, 5, 8, 8), torch.randn(3, 6)
    styles = conv.affine(w)
    expected = []
    for b in range(3):
        weight = conv.weight * conv.scale * styles[b].view(1, -1, 1, 1)
        weight = weight / weight.square().sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        expected.append(F.conv2d(x[b : b + 1], weight, padding=1) + conv.bias.view(1, -1, 1, 1))
    assert torch.allclose(conv(x, w), torch.cat(expected), atol=1e-5)


@pytest.mark.parametrize("cls", GENERATORS)
def test_conditioning_hooks(cls):
    torch.manual_seed(0)
    g = cls(channels=1, width=8, num_classes=4, cond_dim=5).eval()
    z, cond = g.sample_latents(2), torch.randn(2, 5)
    a = g(z, labels=torch.tensor([0, 0]), cond=cond)
    b = g(z, labels=torch.tensor([3, 3]), cond=cond)
    c = g(z, labels=torch.tensor([0, 0]), cond=cond + 1)
    assert not torch.allclose(a, b) and not torch.allclose(a, c)
    with pytest.raises(ValueError, match="num_classes=4"):
        g(z, cond=cond)
    with pytest.raises(ValueError, match="cond_dim=5"):
        g(z, labels=torch.tensor([0, 1]))


@pytest.mark.parametrize("cls", [DCGANDiscriminator, SNGANDiscriminator])
def test_discriminator_heads(cls):
    torch.manual_seed(0)
    d = cls(channels=2, width=8, num_classes=3).eval()
    x = torch.randn(4, 2, 32, 32)
    unconditional, per_class = d(x), d(x, torch.tensor([0, 1, 2, 0]))
    assert unconditional.shape == (4,) and per_class.shape == (4,)
    logits = d.head(d.trunk(x))
    assert torch.allclose(per_class, logits[torch.arange(4), torch.tensor([1, 2, 3, 1])])
    assert torch.allclose(unconditional, logits[:, 0])


def test_image_size_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(image_size=28)
    assert (
        math.log2(64) == 6
        and DCGANGenerator(image_size=64, width=4)(torch.randn(1, 100)).shape[-1] == 64
    )


def test_equal_linear_scales_weights_at_run_time_by_lr_mul_over_root_fan_in():
    torch.manual_seed(0)
    layer = EqualLinear(16, 4, bias_init=1.0, lr_mul=0.01)
    x = torch.randn(5, 16)
    expected = x @ (layer.weight * 0.01 / 4.0).t() + layer.bias * 0.01
    torch.testing.assert_close(layer(x), expected)
    torch.testing.assert_close(layer.bias * 0.01, torch.ones(4))  # the bias starts at bias_init
    # Stored weights ~ N(0, 1/lr_mul²): the effective weights are unit-variance / √fan_in.
    assert 50 < layer.weight.std().item() < 200


def test_stylegan_lite_renders_its_latent_at_initialisation():
    """The defect this guards: default nn.Linear mapping gave w of RMS 0.045 and images that
    barely moved with z (pixel std across z 0.010 against an image spread of 0.21)."""
    torch.manual_seed(0)
    g = StyleGANLiteGenerator(channels=1, width=16).eval()
    z = g.sample_latents(256)
    with torch.no_grad():
        w, images = g.mapping_network(z), g(z)
    assert 0.5 < w.square().mean().sqrt().item() < 2.0
    assert images.std(dim=0).mean() > 0.4 * images.std()


def test_stylegan_lite_image_sums_a_torgb_per_resolution():
    g = StyleGANLiteGenerator(channels=3, width=8).eval()
    assert len(g.synthesis_network.to_rgbs) == 4  # 4, 8, 16, 32 px
    ws = g.mapping(g.sample_latents(2))
    with torch.no_grad():
        before = g.synthesis(ws)
        g.synthesis_network.to_rgbs[0].bias.add_(0.5)  # the 4×4 toRGB reaches the image
        assert not torch.allclose(g.synthesis(ws), before)
