import pytest
import torch
from torch.utils.data import DataLoader
from trainers import quiet_trainer

from ganctrl.methods.backbones.dcgan import DCGANDiscriminator, DCGANGenerator
from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator
from ganctrl.methods.unconditional.method import UnconditionalGAN


def _gan(generator, **recipe):
    return UnconditionalGAN(generator, DCGANDiscriminator(generator.channels, 32, 8), 10, **recipe)


def test_style_mixing_switches_to_a_second_w_from_one_layer_on(monkeypatch):
    torch.manual_seed(0)
    g = StyleGANLiteGenerator(channels=1, width=8)
    gan = _gan(g, style_mixing=1.0)
    seen = {}
    monkeypatch.setattr(g, "synthesis", lambda ws: seen.setdefault("ws", ws))
    gan.fake_images(6)
    ws = seen["ws"]
    for row in ws:  # each row: w₁ for layers < cut, then w₂; both from real z's
        changes = [i for i in range(1, g.num_ws) if not torch.equal(row[i], row[i - 1])]
        assert len(changes) == 1 and 1 <= changes[0] < g.num_ws
    cuts = {tuple(torch.equal(r[i], r[0]) for i in range(g.num_ws)) for r in ws}
    assert len(cuts) == 1  # one cut per batch, as in StyleGAN2


def test_style_mixing_needs_a_style_based_generator():
    with pytest.raises(ValueError, match="style-based generator"):
        _gan(DCGANGenerator(channels=1, width=8), style_mixing=0.9)


@pytest.mark.parametrize("r1_gamma", [0.0, 1.0])
def test_a_training_step_updates_the_ema_and_sampling_uses_it(r1_gamma):
    torch.manual_seed(0)
    gan = _gan(DCGANGenerator(channels=1, width=8), ema_beta=0.75, r1_gamma=r1_gamma, r1_every=1)
    initial = [p.clone() for p in gan.generator.parameters()]
    trainer = quiet_trainer(limit_train_batches=1)
    trainer.fit(gan, DataLoader(torch.rand(8, 1, 32, 32) * 2 - 1, batch_size=8))
    for mean, old, new in zip(
        gan.generator_ema.parameters(), initial, gan.generator.parameters(), strict=True
    ):
        assert not torch.equal(old, new)  # G took a step
        torch.testing.assert_close(mean, 0.75 * old + 0.25 * new)
    sampler = gan.sampling_generator()
    assert not sampler.training and sampler is not gan.generator_ema
    for a, b in zip(sampler.parameters(), gan.generator_ema.parameters(), strict=True):
        assert torch.equal(a, b)
