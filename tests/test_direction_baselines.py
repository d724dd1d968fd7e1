"""The direction baselines' closed forms on hand-made weights and samples, and their controls."""

import pytest
import torch

from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator
from ganctrl.methods.common.linear_directions import LinearDirections
from ganctrl.methods.direction_baselines.method import (
    DirectionBaseline,
    coordinate_axes,
    principal_axes,
    random_orthonormal,
    regressed_components,
    sefa,
)


def same_up_to_sign(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-4) -> bool:
    signs = torch.sign((a * b).sum(dim=1, keepdim=True))
    return torch.allclose(a * signs, b, atol=atol)


def test_random_directions_are_orthonormal_and_seeded():
    d = random_orthonormal(20, 5, seed=3)
    assert torch.allclose(d @ d.t(), torch.eye(5), atol=1e-5)
    assert torch.equal(d, random_orthonormal(20, 5, seed=3))
    assert not torch.allclose(d, random_orthonormal(20, 5, seed=4))


def test_axes_are_the_first_coordinates():
    assert torch.equal(coordinate_axes(4, 2), torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))


def test_sefa_directions_are_the_top_eigenvectors_of_a_hand_made_weight():
    v = random_orthonormal(6, 6, seed=0)  # rows: right singular vectors
    u = random_orthonormal(8, 6, seed=1).t()  # (8, 6) orthonormal columns
    singular = torch.tensor([1.0, 5.0, 0.5, 3.0, 0.1, 2.0])
    weight = u @ torch.diag(singular) @ v  # AᵀA = vᵀ diag(s²) v
    found, values = sefa(weight, 3)
    assert same_up_to_sign(found, v[[1, 3, 5]])
    assert torch.allclose(values, torch.tensor([25.0, 9.0, 4.0]), atol=1e-4)


def test_principal_axes_find_the_high_variance_axis():
    rng = torch.Generator().manual_seed(0)
    samples = torch.randn(4000, 3, generator=rng) * torch.tensor([0.1, 3.0, 1.0])
    axes, shares = principal_axes(samples, 2)
    assert same_up_to_sign(axes, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), atol=0.02)
    assert shares[0] > 0.85 and shares.sum() < 1


def test_ganspace_regression_recovers_the_latent_direction_behind_a_component():
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(3000, 4, generator=rng)
    mixing = torch.zeros(4, 10)
    mixing[2, :5] = 4.0  # the strongest activation component is driven by z_2 alone
    mixing[0, 5:] = 1.0
    found, _ = regressed_components(z, z @ mixing, 1)
    found = found / found.norm(dim=1, keepdim=True)
    assert same_up_to_sign(found, torch.tensor([[0.0, 0.0, 1.0, 0.0]]), atol=0.03)


@pytest.mark.parametrize("kind", ["random", "axes", "ganspace", "sefa"])
def test_every_baseline_gives_unit_directions_in_the_generator_space(kind):
    dcgan = DCGANGenerator(width=4, z_dim=16)
    style = StyleGANLiteGenerator(width=4, z_dim=16, w_dim=12, mapping_layers=2)
    for generator, space, dim in ((dcgan, "z", 16), (style, "w", 12)):
        method = DirectionBaseline(generator, kind=kind, directions=4, num_latents=200)
        control = method.controls()
        assert isinstance(control, LinearDirections) and control.space == space
        assert control.directions.shape == (4, dim)
        assert torch.allclose(control.directions.norm(dim=1), torch.ones(4), atol=1e-5)
        assert method.summary()["space"] == space


def test_w_space_edits_move_every_layer_and_render():
    style = StyleGANLiteGenerator(width=4, z_dim=16, w_dim=12, mapping_layers=2)
    control = DirectionBaseline(style, kind="axes", directions=3).controls()
    ws = control.sample_latents(5, seed=0)
    assert ws.shape == (5, style.num_ws, 12)
    moved = control.edit(ws, 1, torch.arange(5.0))
    assert torch.allclose(moved - ws, torch.arange(5.0)[:, None, None] * control.directions[1])
    assert control.render(moved).shape == (5, 1, 32, 32)
    assert torch.allclose(
        control.coordinates(moved)[:, 1] - control.coordinates(ws)[:, 1],
        torch.arange(5.0),
        atol=1e-5,
    )


def test_bad_settings_are_refused_with_the_key():
    generator = DCGANGenerator(width=4, z_dim=16)
    with pytest.raises(ValueError, match="method.kind"):
        DirectionBaseline(generator, kind="pca")
    with pytest.raises(ValueError, match=r"method.directions must lie in \[1, 16\]"):
        DirectionBaseline(generator, directions=17)
