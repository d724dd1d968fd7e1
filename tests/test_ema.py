import pytest
import torch
from torch import nn

from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.batchnorm import recalibrate_batchnorm
from ganctrl.methods.common.ema import ema_copy, ema_update
from ganctrl.methods.unconditional.method import seeded_latent_batches


def test_ema_update_is_the_formula_on_a_tiny_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = ema_copy(net)
    before = [p.clone() for p in average.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
        net[1].running_mean.fill_(7.0)
    ema_update(average, net, beta=0.9)
    for mean, old, new in zip(average.parameters(), before, net.parameters(), strict=True):
        torch.testing.assert_close(mean, 0.9 * old + 0.1 * new, rtol=1e-6, atol=1e-7)
    assert torch.equal(average[1].running_mean, torch.full((2,), 7.0))  # buffers are copied
    assert not any(p.requires_grad for p in average.parameters())
    ema_update(average, net, beta=0.0)  # β = 0: the average is the net
    for mean, current in zip(average.parameters(), net.parameters(), strict=True):
        assert torch.equal(mean, current)
    with pytest.raises(ValueError, match="EMA decay"):
        ema_update(average, net, beta=1.0)


def test_recalibrated_batchnorm_holds_the_average_of_its_batches_statistics():
    torch.manual_seed(0)
    g = DCGANGenerator(channels=1, image_size=8, z_dim=4, width=2)
    first_norm = g.blocks[0].post[0]
    first_norm.running_mean.fill_(5.0)  # stale statistics from other weights
    recalibrate_batchnorm(g, seeded_latent_batches(g, batches=3, batch_size=16, seed=1))
    assert not g.training and first_norm.momentum == 0.1
    rng = torch.Generator().manual_seed(1)
    with torch.no_grad():
        means = [
            g.blocks[0]
            .linear(g.sample_latents(16, generator=rng))
            .view(16, -1, 4, 4)
            .mean(dim=(0, 2, 3))
            for _ in range(3)
        ]
    torch.testing.assert_close(first_norm.running_mean, torch.stack(means).mean(0))
