"""PPL pinned to closed forms on a linear generator, and to torchmetrics where they coincide."""

import pytest
import torch
from torch import nn
from torchmetrics.functional.image.perceptual_path_length import perceptual_path_length

from ganctrl.metrics.path_length import lerp, path_lengths, slerp, trimmed_mean


def squared_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).flatten(1).square().sum(dim=1)


class LinearGenerator(nn.Module):
    """G(z) = A z, shaped as 1×2×2 images."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z.double() @ self.weight.t()).view(-1, 1, 2, 2)


WEIGHT = torch.tensor(
    [[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0], [0.5, 0.5, 0.5]], dtype=torch.float64
)


def test_lerp_path_length_of_a_linear_generator_is_its_closed_form():
    """d(G(p(t)), G(p(t + δ)))/δ² = ‖A(b − a)‖² at every t, and E = 2·tr(AᵀA) for a, b ~ N(0, I)."""
    g = LinearGenerator(WEIGHT)
    rng = torch.Generator().manual_seed(0)
    a, b = (torch.randn(20000, 3, generator=rng, dtype=torch.float64) for _ in range(2))
    t, delta = torch.rand(20000, generator=rng, dtype=torch.float64), 1e-4
    values = path_lengths(g, lerp(a, b, t), lerp(a, b, t + delta), squared_distance, delta)
    exact = ((b - a).double() @ WEIGHT.t()).square().sum(dim=1)
    assert torch.allclose(values, exact, rtol=1e-6)
    untrimmed = float(values.mean())
    assert untrimmed == pytest.approx(2 * float(torch.trace(WEIGHT.t() @ WEIGHT)), rel=0.03)


def test_path_length_along_a_direction_is_the_norm_of_its_image():
    g = LinearGenerator(WEIGHT)
    direction = torch.tensor([[0.0, 0.6, 0.8]], dtype=torch.float64)
    start = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    values = path_lengths(g, start, start + 1e-3 * direction, squared_distance, 1e-3)
    expected = float((WEIGHT @ direction.t().double()).square().sum())
    assert torch.allclose(values, torch.full((50,), expected, dtype=torch.float64), rtol=1e-6)


def test_trimmed_mean_keeps_the_values_between_the_1st_and_99th_percentiles():
    values = torch.arange(1.0, 201.0)  # quantile('lower') 0.01 → 2, 0.99 → 198
    assert trimmed_mean(values) == pytest.approx(float(torch.arange(2.0, 199.0).mean()))
    values[-1] = 1e9  # one outlier changes nothing
    assert trimmed_mean(values) == pytest.approx(float(torch.arange(2.0, 199.0).mean()))


def test_slerp_meets_its_endpoints_and_interpolates_the_norm():
    a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    assert torch.allclose(slerp(a, b, torch.tensor([0.0])), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, torch.tensor([1.0])), b, atol=1e-5)
    mid = slerp(a, b, torch.tensor([0.5]))
    assert torch.allclose(mid, 3.0 * torch.tensor([[0.5**0.5, 0.5**0.5]]), atol=1e-5)


class Seeded(nn.Module):
    """torchmetrics' generator protocol over a fixed, seeded stream of latents; outputs in
    [0, 255], as torchmetrics expects."""

    def __init__(self, net: nn.Module, seed: int):
        super().__init__()
        self.net, self.rng = net, torch.Generator().manual_seed(seed)

    def sample(self, n: int) -> torch.Tensor:
        return torch.randn(n, 3, generator=self.rng)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net(z).float() + 1) * 127.5


class Distance(nn.Module):
    def forward(self, x, y):
        return squared_distance(x, y)


def test_agrees_with_torchmetrics_where_the_definitions_coincide():
    """torchmetrics' PPL is the t = 0 end of a lerp path, trimmed at 1 %/99 %: ours on the same
    latents, with the same distance, gives the same number."""
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    torch.manual_seed(0)
    theirs, _, _ = perceptual_path_length(
        Seeded(net, 5),
        num_samples=500,
        batch_size=100,
        interpolation_method="lerp",
        epsilon=1e-2,
        resize=None,
        sim_net=Distance(),
    )
    stream = Seeded(net, 5)
    a, b = stream.sample(500), stream.sample(500)

    def render(z):
        with torch.no_grad():
            return stream(z) / 127.5 - 1  # the rescale torchmetrics applies before its distance

    ours = trimmed_mean(
        path_lengths(render, a, lerp(a, b, torch.full((500,), 1e-2)), squared_distance, 1e-2)
    )
    assert ours == pytest.approx(float(theirs), rel=1e-4)
