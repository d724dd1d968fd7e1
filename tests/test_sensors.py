import pytest
import torch

from ganctrl.benchmarks.studies.sensor_rates import sensor_rates
from ganctrl.methods.backbones.sensors import (
    SENSORS,
    feature_extractor,
    imagenet_alexnet,
    random_alexnet,
)


def test_random_alexnet_is_seeded_frozen_and_tapped():
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    a, b, c = random_alexnet(seed=0), random_alexnet(seed=0), random_alexnet(seed=1)
    taps = a(x)
    assert len(taps) == 5 and taps[-1].shape[-1] >= 2  # 64-px input keeps conv5 at 3×3
    assert all(torch.equal(p, q) for p, q in zip(taps, b(x), strict=True))
    assert not torch.equal(taps[0], c(x)[0])
    assert not any(p.requires_grad for p in a.parameters())
    assert a.pooled(x).shape == (2, 256)
    assert torch.allclose(a(x)[0], a(x.expand(-1, 3, -1, -1))[0])  # grey = repeated RGB


def test_imagenet_alexnet_loads_a_user_file_with_weights_only(tmp_path):
    weights = tmp_path / "alexnet.pth"
    features = random_alexnet(seed=5).features.state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, weights)
    loaded = imagenet_alexnet(str(weights))
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(loaded(x)[-1], random_alexnet(seed=5)(x)[-1])
    with pytest.raises(FileNotFoundError, match="not found"):
        imagenet_alexnet(str(tmp_path / "missing.pth"))
    assert set(SENSORS) == {"random_alexnet", "imagenet_alexnet"}


def test_feature_extractors_pool_one_map_or_pass_the_pixels():
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    conv3 = feature_extractor("random_alexnet", layer=3, seed=2)
    assert torch.equal(conv3(x), random_alexnet(seed=2).pooled(x, 3)) and conv3(x).shape == (3, 384)
    assert torch.equal(feature_extractor("pixels")(x), x.flatten(1))
    with pytest.raises(ValueError, match="feature_layer"):
        feature_extractor("random_alexnet", layer=6)
    with pytest.raises(ValueError, match="sensor_weights"):
        feature_extractor("imagenet_alexnet")
    with pytest.raises(ValueError, match="pixels"):
        feature_extractor("sift")


def test_sensor_rates_score_every_conv_map_and_the_pixels():
    """Two classes that differ in brightness: pixels put every neighbour in the same class."""
    labels = torch.tensor([0, 1] * 6)
    images = (labels.float() * 1.6 - 0.8).view(-1, 1, 1, 1) + 0.01 * torch.randn(12, 1, 32, 32)
    rows = sensor_rates(images, labels)
    assert [r["sensor"] for r in rows][-1] == "pixels" and len(rows) == 6
    assert rows[-1]["rate_1"] == rows[-1]["rate_5"] == 1.0
