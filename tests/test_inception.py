"""The Inception path without any download: a user's weights file, and clear errors."""

from unittest import mock

import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as fidelity_inception

from ganctrl.metrics.inception import inception_net


def test_missing_weights_file_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.inception_weights"):
        inception_net(str(tmp_path / "nope.pth"))


def test_failed_download_names_the_setting():
    offline = mock.patch.object(
        fidelity_inception, "load_state_dict_from_url", side_effect=OSError("no network")
    )
    with offline, pytest.raises(FileNotFoundError, match="metrics.inception_weights"):
        inception_net(None)


def test_weights_file_loads_and_embeds_small_images(tmp_path):
    cls = fidelity_inception.FeatureExtractorInceptionV3
    with (
        mock.patch.object(fidelity_inception, "load_state_dict_from_url", return_value={}),
        mock.patch.object(cls, "load_state_dict", lambda self, state: None),
    ):
        random_weights = cls("inception-v3-compat", ["2048"]).state_dict()
    path = tmp_path / "inception.pth"
    torch.save(random_weights, path)
    net = inception_net(str(path))
    out = net.run(torch.rand(2, 1, 32, 32) * 2 - 1)  # grey 32-px images in [-1, 1]
    assert out.features.shape == (2, 2048) and out.logits["class"].shape == (2, 1008)
