import pytest
import torch

from ganctrl.methods.backbones.sensors import SENSORS, imagenet_alexnet, random_alexnet


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
