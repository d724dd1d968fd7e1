"""The direction family's parts: calibration to τ, RCA on a generator whose answer is known."""

import pytest
import torch
from torch import nn

from ganctrl.methods.backbones.base import GeneratorBase
from ganctrl.methods.common.linear_directions import LinearDirections
from ganctrl.metrics import reconstruction
from ganctrl.metrics.directions import (
    bisect_scale,
    calibrate,
    half_median_distance,
    traversal_strips,
)
from ganctrl.metrics.features import NetOutput
from ganctrl.metrics.pictures import profile_bars
from ganctrl.metrics.reconstruction import reconstruction_accuracy, train_reconstructor


class BandGenerator(GeneratorBase):
    """z ∈ R⁸; coordinate i < 4 sets the brightness of image band i (8 rows each), tanh(z_i);
    coordinates 4–7 are ignored. Its latent coordinates are visible, or not at all."""

    z_dim, num_blocks = 8, 1

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the module a device

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        bands = torch.tanh(z[:, :4])
        return bands.repeat_interleave(8, dim=1)[:, None, :, None].expand(-1, 1, 32, 32)


def axes(first: int, count: int = 4) -> torch.Tensor:
    return torch.eye(8)[first : first + count]


class PixelNet:
    """A stand-in context whose 'evaluation net' features are the pixels."""

    def run_net(self, images: torch.Tensor) -> NetOutput:
        return NetOutput(images.flatten(1).float(), {})


def test_bisection_hits_the_target_within_tolerance_and_flags_the_unreachable():
    found = bisect_scale(lambda a: 3.0 * a**2, target=7.0, max_scale=100.0, tolerance=0.01)
    assert found.reached and 3.0 * found.scale**2 == pytest.approx(7.0, rel=0.01)
    capped = bisect_scale(lambda a: min(a, 2.0), target=5.0, max_scale=64.0)
    assert not capped.reached and capped.scale == 64.0


def test_calibration_hits_tau_within_5_percent_and_flags_ignored_directions():
    g = BandGenerator()
    control = LinearDirections(g, torch.cat([axes(0, 3), axes(4, 1)]), "z")
    latents = control.sample_latents(64, seed=0)
    tau = half_median_distance(control.sample(256, seed=1).flatten(1))
    found = calibrate(PixelNet(), control, latents, tau, max_scale=50.0, tolerance=0.01)
    base = control.render(latents).flatten(1).repeat(2, 1)
    for k, calibration in enumerate(found[:3]):
        edited = torch.cat(
            [
                control.edit(latents, k, calibration.scale),
                control.edit(latents, k, -calibration.scale),
            ]
        )
        change = (control.render(edited).flatten(1) - base).norm(dim=1).median()
        assert calibration.reached and float(change) == pytest.approx(tau, rel=0.05)
        rms = (control.render(edited).flatten(1) - base).square().mean(dim=1).sqrt().median()
        assert calibration.image_change == pytest.approx(float(rms), rel=1e-5)
    assert not found[3].reached and found[3].scale == 50.0


def test_posthoc_rca_is_near_one_for_visible_axes_and_near_chance_for_ignored_ones():
    g, scales = BandGenerator(), torch.full((4,), 1.5)
    accuracies = {}
    for name, first in (("visible", 0), ("ignored", 4)):
        control = LinearDirections(g, axes(first), "z")
        net, curve = train_reconstructor(
            control, scales, steps=150, batch=32, lr=1e-3, seed=0, curve_every=50
        )
        assert [c["step"] for c in curve] == [50, 100, 150]
        accuracies[name] = reconstruction_accuracy(
            lambda a, b, n=net: n(a, b)[0], control, scales, batches=10, batch=32, seed=7
        )
    assert accuracies["visible"] > 0.9
    assert abs(accuracies["ignored"] - 0.25) < 0.1


def test_reuse_trains_on_each_rendered_chunk_again_and_curves_only_first_passes(monkeypatch):
    rendered = []
    fresh = reconstruction.edit_pairs
    monkeypatch.setattr(
        reconstruction, "edit_pairs", lambda *args: rendered.append(args[-1]) or fresh(*args)
    )
    control, scales = LinearDirections(BandGenerator(), axes(0), "z"), torch.full((4,), 1.5)
    net, curve = train_reconstructor(
        control, scales, steps=60, batch=8, lr=1e-3, seed=0, reuse=3, chunk=10, curve_every=10
    )
    # chunk 1: fresh steps 1–10, then 20 repeats; chunk 2: fresh steps 31–40, then 20 repeats
    assert [c["step"] for c in curve] == [10, 40]
    assert rendered == list(range(1, 21)) + list(range(21, 21 + reconstruction.SETTLE))
    with pytest.raises(ValueError, match="rca_reuse"):
        train_reconstructor(control, scales, steps=10, batch=8, lr=1e-3, seed=0, reuse=0)


def test_a_control_s_own_reconstructor_is_scored_by_the_same_protocol():
    """An oracle that reads the changed band back scores 1; one that always says 0 scores 1/K."""
    control = LinearDirections(BandGenerator(), axes(0), "z")

    def oracle(originals, edited):
        return (edited - originals)[:, 0, ::8, 0].abs()  # one row per band

    def constant(originals, edited):
        return torch.eye(4)[[0] * len(originals)]

    scales = torch.ones(4)
    assert reconstruction_accuracy(oracle, control, scales, 5, 32, seed=3) == 1.0
    assert reconstruction_accuracy(constant, control, scales, 20, 32, seed=3) == pytest.approx(
        0.25, abs=0.06
    )


def test_profile_bars_draw_each_row_scaled_to_its_peak():
    bars = profile_bars(torch.tensor([[0.0, 1.0], [2.0, 1.0]]), channels=1, size=4)
    white = bars[:, 0] > 0  # (K, rows, columns); a bar per 2 pixel columns
    assert not white[0, :, :2].any() and white[0, :, 2:].all()  # 0, then the peak
    assert white[1, :, :2].all()
    assert white[1, 2:, 2:].all() and not white[1, :2, 2:].any()  # half the peak: bottom half


def test_w_plus_strips_start_with_the_layer_profile_and_z_strips_do_not():
    from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator

    style = StyleGANLiteGenerator(channels=1, width=8, z_dim=8, w_dim=8)
    one_layer = torch.zeros(2, style.num_ws, 8)
    one_layer[:, 1, 0] = 1.0  # both directions move layer 1 only
    strips = traversal_strips(LinearDirections(style, one_layer, "w"), torch.ones(2), 0, 3)
    size = style.image_size
    assert strips.shape[-1] == 4 * (size + 1) + 1  # the bars, then 3 steps
    first_bar = strips[:, 1 : size + 1, 1 : size + 1].mean(0)  # in [0, 1]
    per_layer = size // style.num_ws
    lit = first_bar.mean(0).reshape(style.num_ws, per_layer).mean(1)
    assert lit[1] == 1.0 and lit.sum() == 1.0
    band = BandGenerator()
    flat = traversal_strips(LinearDirections(band, axes(0), "z"), torch.ones(4), 0, 3)
    assert flat.shape[-1] == 3 * 33 + 1
