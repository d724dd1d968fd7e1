"""The MNIST stroke measures behind S_disent's attributes, on hand-drawn images."""

import pytest
import torch

from ganctrl.metrics.attributes import STROKE_MEASURES, stroke_measures


def canvas() -> torch.Tensor:
    return torch.full((1, 1, 32, 32), -1.0)  # no ink


def test_a_horizontal_bar_measures_as_drawn():
    image = canvas()
    image[0, 0, 10:12, 5:25] = 1.0  # 2 px high, 20 px long
    area, width, height, slant, thickness = stroke_measures(image)[0].tolist()
    assert area == pytest.approx(40 / 1024)
    assert width == pytest.approx(((20**2 - 1) / 12) ** 0.5, rel=1e-5)  # uniform over 20 columns
    assert height == pytest.approx(0.5)
    assert slant == pytest.approx(0.0, abs=1e-6)
    assert thickness == pytest.approx(2 * 40 / 44)  # perimeter: 4 row ends + 40 column ends


def test_slant_is_the_shear_of_the_ink():
    image = canvas()
    image[0, 0, 10, 10] = image[0, 0, 14, 12] = 1.0  # (u, v) = (10, 10), (12, 14)
    assert stroke_measures(image)[0, STROKE_MEASURES.index("stroke_slant")] == pytest.approx(0.5)


def test_half_ink_counts_half():
    full, half = canvas(), canvas()
    full[0, 0, 8:24, 8:24] = 1.0
    half[0, 0, 8:24, 8:24] = 0.0
    measures = stroke_measures(torch.cat([full, half]))
    assert measures[1, 0] == pytest.approx(measures[0, 0] / 2)
    assert torch.allclose(measures[1, 1:3], measures[0, 1:3])
