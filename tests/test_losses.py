import math

import torch

from ganctrl.methods.common.gan_losses import (
    hinge_d,
    hinge_g,
    nonsaturating_d,
    nonsaturating_g,
    r1_penalty,
)


def test_nonsaturating_losses_at_closed_forms():
    zeros = torch.zeros(8)
    assert math.isclose(nonsaturating_d(zeros, zeros).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(nonsaturating_g(zeros).item(), math.log(2), rel_tol=1e-6)
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    sigmoid = torch.sigmoid
    expected = -(sigmoid(real).log().mean() + (1 - sigmoid(fake)).log().mean())
    assert torch.allclose(nonsaturating_d(real, fake), expected)
    assert torch.allclose(nonsaturating_g(fake), -sigmoid(fake).log().mean())


def test_hinge_losses_at_closed_forms():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.25])
    assert math.isclose(hinge_d(real, fake).item(), (0 + 0.5) / 2 + (0 + 1.25) / 2)
    assert math.isclose(hinge_g(fake).item(), 1.375)


def test_r1_penalty_is_the_squared_gradient_norm_of_d_on_real_images():
    real = torch.randn(5, 2, 3, 3, requires_grad=True)
    a = torch.randn(2, 3, 3)
    linear = (real * a).flatten(1).sum(1)  # ∇ₓD = a for every image
    torch.testing.assert_close(r1_penalty(linear, real), a.square().sum())
    quadratic = 0.5 * real.square().flatten(1).sum(1)  # ∇ₓD = x
    torch.testing.assert_close(r1_penalty(quadratic, real), real.square().flatten(1).sum(1).mean())
    r1_penalty(quadratic, real).backward()  # a graph to differentiate through: D learns from it
    assert real.grad is not None
