"""The feature pass gives each image the same features whatever the batch it runs in."""

import pytest
import torch

from ganctrl.metrics.trained_nets import FactorNet, LeNet


@pytest.mark.parametrize(
    "net", [LeNet(10, 1), FactorNet(("shape", "scale"), (3, 4), channels=1)], ids=lambda n: n.name
)
def test_features_do_not_depend_on_the_batch_size(net):
    torch.manual_seed(0)
    for module in net.modules():  # non-trivial batch-norm statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    images = torch.rand(600, 1, 28, 28) * 2 - 1
    with pytest.raises(ValueError, match="training mode"):
        net.run(images[:10])
    net.eval()
    small, large = net.run(images, batch_size=50), net.run(images, batch_size=500)
    torch.testing.assert_close(small.features, large.features, rtol=1e-5, atol=1e-6)
    for head in small.logits:
        torch.testing.assert_close(small.logits[head], large.logits[head], rtol=1e-5, atol=1e-6)
    assert small.features.std() > 0
