"""Voynov's deformator/reconstructor and Lu et al.'s two shifts and centroid loss
(methods/latent_discovery/: deformators.py, shift_predictors.py, method.py)."""

import pytest
import torch
from trainers import quiet_trainer

from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator
from ganctrl.methods.common.closed_form_directions import coordinate_axes, random_orthonormal
from ganctrl.methods.latent_discovery.deformators import (
    LatentDeformator,
    centroid_loss,
    one_hot_codes,
    sample_shifts,
)
from ganctrl.methods.latent_discovery.method import LatentDiscovery, cumulative_latents, pair_loss
from ganctrl.methods.latent_discovery.shift_predictors import shift_predictor


def unit_shifts(deformator: LatentDeformator) -> torch.Tensor:
    """(K, d): A(e_k) for every k."""
    return deformator(torch.eye(deformator.k)).detach()


def test_ortho_deformator_columns_are_orthonormal_from_a_random_start():
    deformator = LatentDeformator("ortho", k=6, dim=9, seed=3)
    shifts = unit_shifts(deformator)
    assert torch.allclose(shifts @ shifts.t(), torch.eye(6), atol=1e-5)
    assert not torch.allclose(shifts, torch.eye(6, 9), atol=0.1)  # Voynov's N(0, 1) skew start
    assert torch.allclose(deformator(2.5 * torch.eye(6)[[1]]), 2.5 * shifts[[1]], atol=1e-5)


def test_projective_deformator_keeps_the_norm_of_its_input():
    deformator = LatentDeformator("projective", k=4, dim=7, seed=0)
    codes = one_hot_codes(torch.tensor([0, 3, 2]), torch.tensor([-3.0, 0.5, 6.0]), 4)
    assert torch.allclose(deformator(codes).norm(dim=1), torch.tensor([3.0, 0.5, 6.0]))


def test_fixed_types_are_the_direction_baselines_and_have_nothing_to_train():
    ident = LatentDeformator("id", k=3, dim=5)
    assert torch.equal(unit_shifts(ident), coordinate_axes(5, 3))
    rand = LatentDeformator("random", k=3, dim=5, seed=7)
    assert torch.allclose(unit_shifts(rand), random_orthonormal(5, 3, 7))
    assert not ident.trainable and not list(ident.parameters()) and not list(rand.parameters())
    with pytest.raises(ValueError, match="method.deformator must be one of"):
        LatentDeformator("spline", k=3, dim=5)


def test_fc_deformator_adds_its_input_to_a_three_layer_read_out():
    deformator = LatentDeformator("fc", k=3, dim=5, seed=0).eval()
    with torch.no_grad():
        deformator.out.weight.zero_()
        deformator.out.bias.zero_()
    codes = one_hot_codes(torch.tensor([2]), torch.tensor([4.0]), 3)
    assert torch.allclose(deformator(codes), torch.tensor([[0.0, 0.0, 4.0, 0.0, 0.0]]))
    assert len(deformator.fc) == 3 and deformator.fc[1].in_features == 1024


def test_shifts_are_uniform_in_six_with_magnitude_at_least_a_half():
    rng = torch.Generator().manual_seed(0)
    directions, eps = sample_shifts(40000, 10, rng)
    assert eps.abs().min() == 0.5 and eps.abs().max() <= 6.0
    assert abs(float((eps > 0).float().mean()) - 0.5) < 0.01
    raised = (eps.abs() == 0.5).float().mean()  # U(−6, 6) puts 1/12 of its mass in (−0.5, 0.5)
    assert abs(float(raised) - 1 / 12) < 0.006
    assert torch.equal(torch.bincount(directions, minlength=10) > 3700, torch.ones(10).bool())


def test_the_two_shift_images_are_cumulative():
    base, s1, s2 = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    x0, x1, x2 = cumulative_latents(base, [s1, s2])
    assert torch.equal(x0, base) and torch.equal(x1, base + s1)
    assert torch.allclose(x2, base + s1 + s2)
    w_plus = torch.randn(4, 5, 3)  # every layer of w⁺ moves by the same shift
    assert torch.allclose(cumulative_latents(w_plus, [s1])[1], w_plus + s1[:, None])


def test_centroid_loss_is_zero_for_parallel_codes_and_grows_as_they_spread():
    directions = torch.tensor([0, 0, 0, 1, 1])
    eps = torch.tensor([2.0, -1.0, 3.0, 1.0, -4.0])
    axis0, axis1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    parallel = torch.stack([2 * axis0, -axis0, 3 * axis0, axis1, -4 * axis1])  # sign·code ∥ axis
    assert centroid_loss(parallel, directions, eps) == pytest.approx(0.0, abs=1e-6)
    losses = []
    for spread in (0.1, 0.5, 1.0):
        codes = parallel.clone()
        codes[0] += spread * 2 * torch.tensor([0.0, 0.0, 1.0])
        losses.append(float(centroid_loss(codes, directions, eps)))
    assert 0 < losses[0] < losses[1] < losses[2]
    # By hand for the last: u = (2, 0, 2), (1, 0, 0), (3, 0, 0); c = (6, 0, 2).
    cos = [16 / (8**0.5 * 40**0.5), 6 / 40**0.5, 18 / (3 * 40**0.5)]
    assert losses[2] == pytest.approx(sum(1 - c for c in cos) / 5, rel=1e-5)


def test_the_literal_sign_switch_flips_the_centroid_loss():
    torch.manual_seed(0)
    codes, eps = torch.randn(8, 4), torch.randn(8)
    directions = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    pulled = centroid_loss(codes, directions, eps)
    assert centroid_loss(codes, directions, eps, literal=True) == pytest.approx(1 - float(pulled))


def test_pair_loss_is_cross_entropy_plus_weighted_absolute_shift_error():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    directions, eps, predicted = torch.tensor([0, 0]), torch.tensor([1.0, -2.0]), torch.zeros(2)
    ce = torch.nn.functional.cross_entropy(logits, directions)
    expected = float(ce) + 0.25 * 1.5  # mean |ε̂ − ε| = (1 + 2) / 2
    assert pair_loss(logits, predicted, directions, eps, 0.25) == pytest.approx(expected)


@pytest.mark.parametrize("architecture", ["lenet", "resnet18"])
def test_reconstructors_read_channel_stacked_pairs(architecture):
    net = shift_predictor(architecture, channels=3, k=7)
    logits, shift = net(torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, 7) and shift.shape == (4,)


def fit(method: LatentDiscovery) -> None:
    quiet_trainer().fit(method)


@pytest.mark.parametrize("lu", [False, True])
def test_deformator_and_reconstructor_train_together_and_g_stays_frozen(lu):
    torch.manual_seed(0)
    g = DCGANGenerator(channels=1, width=8)
    frozen = {k: v.clone() for k, v in g.state_dict().items()}
    options = {"deformator": "fc", "two_shifts": True, "centroid": True} if lu else {}
    method = LatentDiscovery(g, directions=4, steps=3, batch_size=8, **options)
    before = [
        p.detach().clone()
        for p in (*method.deformator.parameters(), *method.predictor.parameters())
    ]
    fit(method)
    after = [*method.deformator.parameters(), *method.predictor.parameters()]
    assert all(not torch.equal(b, a) for b, a in zip(before[:2], after[:2], strict=True))
    assert not torch.equal(before[-1], after[-1])
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in frozen.items())  # BN stats too
    assert method.iteration == 3


def test_a_fixed_deformator_trains_only_its_reconstructor():
    method = LatentDiscovery(
        DCGANGenerator(channels=1, width=8),
        deformator="random",
        directions=4,
        steps=2,
        batch_size=8,
    )
    fit(method)
    assert torch.allclose(unit_shifts(method.deformator), random_orthonormal(100, 4, 0))


@pytest.mark.parametrize("backbone", ["dcgan", "stylegan_lite"])
def test_the_control_edits_by_the_centred_deformator_and_reconstructs_with_its_own_r(backbone):
    torch.manual_seed(0)
    g = (
        DCGANGenerator(channels=1, width=8)
        if backbone == "dcgan"
        else StyleGANLiteGenerator(channels=1, width=8, z_dim=16, w_dim=16)
    )
    method = LatentDiscovery(g, deformator="linear", directions=3, steps=0)
    with torch.no_grad():
        method.deformator.linear.bias.fill_(0.3)  # A(0) ≠ 0: the control subtracts it
    control = method.controls()
    latents = control.sample_latents(5, seed=1)
    assert torch.equal(control.edit(latents, 1, 0.0), latents)
    column = method.deformator.linear.weight[:, 1].detach()
    moved = control.edit(latents, 1, torch.tensor([1.0, -2.0, 0.5, 3.0, 6.0]))
    flat = (moved - latents) if latents.ndim == 2 else (moved - latents)[:, 2]
    assert torch.allclose(
        flat, torch.tensor([1.0, -2.0, 0.5, 3.0, 6.0])[:, None] * column, atol=1e-5
    )
    assert torch.allclose(control.directions[1], column / column.norm(), atol=1e-5)
    images = control.render(latents)
    assert control.reconstruct(images, control.render(moved)).shape == (5, 3)
    summary = method.summary()
    assert summary["origin_norm"] == pytest.approx(0.3 * len(column) ** 0.5, rel=1e-4)
    assert summary["shift_norm_per_unit"][1] == pytest.approx(float(column.norm()), rel=1e-4)
