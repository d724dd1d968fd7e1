"""The standard FID Inception-v3 (torch-fidelity's port of the TensorFlow graph).

Registered as the evaluation net `inception`. Weights come from `metrics.inception_weights` (a
local .pth) or, where there is network, the usual download into torch's hub cache. Neither → one
error naming the setting. Inputs follow the net's own convention: RGB uint8 in [0, 255] at any
size, resized inside to 299 px with TensorFlow-1-style bilinear interpolation. Features: pool3
(2048-d); IS: softmax of its logits.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch

from ganctrl.metrics.features import (
    EvaluationNet,
    ImageConvention,
    NetOutput,
    register_feature_net,
    weights_hash,
)

_torch_load = torch.load


def _load_weights_only(*args, **kwargs):
    kwargs["weights_only"] = True
    return _torch_load(*args, **kwargs)


class InceptionV3(EvaluationNet):
    name = "inception"

    def __init__(self, weights_path: str | None):
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.convention = ImageConvention(size=None, channels=3, low=0.0, high=255.0)
        # torch-fidelity reads its weights with weights_only=False; our rule is weights_only=True.
        with mock.patch("torch.load", _load_weights_only):
            self.net = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"], weights_path
            )

    def embed(self, images: torch.Tensor) -> NetOutput:
        features, logits = self.net(images.round().clamp(0, 255).to(torch.uint8))
        return NetOutput(features, {"class": logits})


def inception_net(weights_path: str | None) -> InceptionV3:
    if weights_path is not None and not Path(weights_path).expanduser().is_file():
        raise FileNotFoundError(
            f"metrics.inception_weights={weights_path} does not exist: point it at the FID "
            "Inception weights (weights-inception-2015-12-05-6726825d.pth)"
        )
    path = None if weights_path is None else str(Path(weights_path).expanduser())
    try:
        net = InceptionV3(path)
    except (OSError, RuntimeError) as error:
        if path is not None:
            raise
        raise FileNotFoundError(
            "The FID Inception weights could not be downloaded here. Download "
            "weights-inception-2015-12-05-6726825d.pth (torch-fidelity's release) on a machine "
            "with network and set metrics.inception_weights=PATH"
        ) from error
    net.eval().requires_grad_(False)
    net.weights_hash = weights_hash(net)
    return net


def _load(datamodule, cache_dir, device, settings) -> tuple[InceptionV3, dict]:
    net = inception_net(settings.inception_weights).to(device)
    return net, {
        "name": net.name,
        "weights_hash": net.weights_hash,
        "trained_here": False,
        "convention": net.convention.describe(),
    }


register_feature_net("inception", _load)
