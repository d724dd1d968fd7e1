"""The triple-coupled GAN (docs/METHODS.md §2): Algorithm 1's batches, which pairs D sees under
which label, and each loss term against its equation on hand-made logits."""

import pytest
import torch
from trainers import quiet_trainer

from ganctrl.methods.backbones.dcgan import DCGANDiscriminator
from ganctrl.methods.backbones.sngan import SNGANGenerator
from ganctrl.methods.common.contract import Unconditional
from ganctrl.methods.triple_coupled.method import (
    FeatureConditioned,
    TripleCoupledGAN,
    coupled_discriminator_loss,
    coupled_generator_loss,
    coupled_neighbours,
    coupled_pair,
)


def test_neighbours_are_by_l1_with_self_excluded():
    # Row 0's L1-nearest is row 2 (1.9 against 2.0); by L2 it would be row 1 (1.41 against 1.80).
    features = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.8, 0.1], [9.0, 9.0]])
    nearest, farthest = coupled_neighbours(features)
    assert nearest.tolist() == [2, 2, 1, 1]
    assert farthest.tolist() == [3, 3, 3, 0]
    duplicates = torch.tensor([[1.0], [1.0], [4.0]])  # a zero distance to another row is fine
    assert coupled_neighbours(duplicates)[0].tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="at least 3"):
        coupled_neighbours(features[:2])


def test_each_loss_term_is_its_equation():
    adv, same, diff = torch.tensor([0.3, -1.2]), torch.tensor([2.0, 0.1]), torch.tensor([-0.4, 1.5])
    sigma = torch.sigmoid
    l_adv = torch.log(1 - sigma(adv)).mean()  # eq. 2
    l_same = torch.log(sigma(same)).mean()  # eq. 3
    l_diff = torch.log(1 - sigma(diff)).mean()  # eq. 4
    weights = (0.5, 2.0, 3.0)
    expected = -(0.5 * l_adv + 2.0 * l_same + 3.0 * l_diff)  # D maximises eq. 5
    assert coupled_discriminator_loss(adv, same, diff, weights) == pytest.approx(float(expected))
    dropped = coupled_discriminator_loss(adv, None, diff, (1.0, 0.0, 1.0))
    assert dropped == pytest.approx(float(-(l_adv + l_diff)))
    assert coupled_generator_loss(adv) == pytest.approx(float(-torch.log(sigma(adv)).mean()))


IMAGES = torch.rand(64, 1, 32, 32) * 2 - 1  # the training images a job would hand over


class ToyNetworks:
    """The smallest backbone pair, built as the job builds the generator group's nets."""

    image_shape = (1, 32, 32)

    def generator(self, **changes):
        return SNGANGenerator(
            **{"channels": 1, "image_size": 32, "z_dim": 8, "width": 4, **changes}
        )

    def discriminator(self, **changes):
        return DCGANDiscriminator(**{"channels": 1, "image_size": 32, "width": 4, **changes})


class RecordingDiscriminator(torch.nn.Module):
    """Remembers its input and answers with a logit per pair (the mean of its first channel)."""

    def forward(self, pairs):
        self.seen = pairs
        return pairs[:, 0].mean(dim=(1, 2))


def test_d_sees_adv_same_and_diff_pairs_under_their_labels():
    method = TripleCoupledGAN(ToyNetworks(), IMAGES, steps=1, sensor="pixels", lambda_same=2.0)
    method.discriminator = RecordingDiscriminator()
    real, positive, negative, fake = (torch.full((2, 1, 32, 32), v) for v in (0.1, 0.2, 0.3, 0.4))
    loss = method.coupled_d_loss(real, positive, negative, fake)
    seen = method.discriminator.seen
    assert seen.shape == (6, 2, 32, 32)  # three kinds of pairs, channels concatenated
    expected_pairs = [
        coupled_pair(positive, fake),
        coupled_pair(real, positive),
        coupled_pair(real, negative),
    ]
    assert torch.equal(seen, torch.cat(expected_pairs))
    logits = [torch.full((2,), v) for v in (0.2, 0.1, 0.1)]  # each pair's first image's mean
    assert loss == pytest.approx(float(coupled_discriminator_loss(*logits, (1.0, 2.0, 1.0))))
    # adv [x⁺, x̃] is fake, same [x, x⁺] is real, diff [x, x⁻] is fake: the gradient of D's loss
    # pushes the logits of adv and diff down and that of same up
    parts = [torch.zeros(2, requires_grad=True) for _ in range(3)]
    coupled_discriminator_loss(*parts, (1.0, 1.0, 1.0)).backward()
    assert parts[0].grad.gt(0).all() and parts[1].grad.lt(0).all() and parts[2].grad.gt(0).all()


def test_g_reads_the_bank_s_codes_centred_at_unit_rms():
    images = torch.rand(16, 1, 32, 32) * 2 - 1
    method = TripleCoupledGAN(
        ToyNetworks(), images, steps=1, sensor="pixels", bank_size=16, batch_size=4
    )
    method.on_fit_start()
    bank = method.condition(method.feature_bank)
    assert bank.mean(dim=0).abs().max() < 1e-5
    assert bank.square().mean().sqrt() == pytest.approx(1.0, abs=1e-5)
    # a shift and one scalar: L1 neighbours in G's input are those of f
    in_g = coupled_neighbours(method.condition(method.image_features))
    in_f = coupled_neighbours(method.image_features)
    assert all(torch.equal(a, b) for a, b in zip(in_g, in_f, strict=True))


def test_a_dropped_term_is_not_computed():
    method = TripleCoupledGAN(ToyNetworks(), IMAGES, steps=1, sensor="pixels", lambda_diff=0.0)
    method.discriminator = RecordingDiscriminator()
    real, positive, negative, fake = (torch.rand(2, 1, 32, 32) for _ in range(4))
    method.coupled_d_loss(real, positive, negative, fake)
    assert len(method.discriminator.seen) == 4


def test_settings_are_checked_and_the_baseline_is_featureless():
    net = ToyNetworks()
    for bad, match in [
        ({"sensor": "sift"}, "sensor"),
        ({"objective": "wgan"}, "objective"),
        ({"sensor": "none"}, "needs a sensor"),
        ({"lambda_adv": 0.0}, "lambda_adv=0"),
        ({"d_every": 0}, "d_every"),
    ]:
        with pytest.raises(ValueError, match=match):
            TripleCoupledGAN(net, IMAGES, steps=1, **bad)
    pixels = TripleCoupledGAN(net, IMAGES, steps=1, sensor="pixels")
    assert pixels.feature_dim == 32 * 32 and pixels.discriminator.trunk[0].in_channels == 2
    baseline = TripleCoupledGAN(net, IMAGES, steps=1, sensor="none", objective="minimax")
    assert baseline.feature_dim == 0 and baseline.discriminator.trunk[0].in_channels == 1
    assert isinstance(baseline.controls(), Unconditional)


def test_the_control_samples_like_its_exemplars_from_their_features():
    method = TripleCoupledGAN(ToyNetworks(), IMAGES, steps=1, sensor="pixels", bank_size=4)
    method.feature_bank.copy_(torch.rand(4, 32 * 32))
    control = method.controls()
    assert isinstance(control, FeatureConditioned)
    exemplars = torch.rand(3, 1, 32, 32) * 2 - 1
    samples = control.sample_like(exemplars, n_per=2, seed=0)
    assert samples.shape == (6, 1, 32, 32)
    assert torch.equal(samples, control.sample_like(exemplars, n_per=2, seed=0))
    # the same exemplar twice in a row, the same z draw: the samples repeat exactly
    twice = control.sample_like(exemplars[[0, 0]], n_per=1, seed=0)
    control.generator.sample_latents = lambda n, generator=None: torch.zeros(n, 8)
    same_z = control.sample_like(exemplars[[0, 0]], n_per=1, seed=0)
    assert torch.equal(same_z[0], same_z[1]) and not torch.equal(twice[0], twice[1])
    assert torch.equal(control.encode(exemplars), exemplars.flatten(1))
    assert control.sample(5, seed=1).shape == (5, 1, 32, 32)
    assert control.grid().shape[0] == 3


def test_training_reads_each_batch_s_features_from_one_pass_over_the_training_images(monkeypatch):
    images = torch.rand(12, 1, 32, 32) * 2 - 1
    method = TripleCoupledGAN(
        ToyNetworks(), images, steps=3, sensor="pixels", bank_size=4, batch_size=4
    )
    seen = []
    original = method.generator.forward

    def recording(z, cond=None):
        seen.append(cond)
        return original(z, cond=cond)

    monkeypatch.setattr(method.generator, "forward", recording)
    quiet_trainer(max_epochs=-1).fit(method)
    assert method.iteration == 3 and torch.equal(method.image_features, images.flatten(1))
    in_g = method.condition(images.flatten(1))
    for cond in seen[:3]:  # G's input in each step: some four training images' pixels, centred
        rows = [int(torch.nonzero((in_g - c).abs().sum(dim=1) < 1e-4)[0]) for c in cond]
        assert len(set(rows)) == 4


def first_step_losses(monkeypatch, **settings) -> tuple[TripleCoupledGAN, torch.Tensor]:
    """A seeded toy triple-coupled GAN fitted for one step, and that step's G and D losses."""
    torch.manual_seed(0)
    images = torch.rand(12, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    method = TripleCoupledGAN(
        ToyNetworks(), images, steps=1, sensor="pixels", bank_size=4, batch_size=4, **settings
    )
    logged = {}
    monkeypatch.setattr(method, "log", lambda name, value, **_: logged.setdefault(name, value))
    quiet_trainer(max_epochs=-1).fit(method)
    return method, torch.stack([logged["loss/g"], logged["loss/d"]]).detach()


def test_channels_last_is_a_layout_not_another_computation(monkeypatch):
    """From the same seed, the first step's losses in either layout agree to float rounding,
    and the nets' conv weights are stored NHWC. (Later steps are not compared: Adam's first
    updates are ±lr wherever a gradient is near 0, so rounding can flip them.)"""
    _, nchw_losses = first_step_losses(monkeypatch)
    method, nhwc_losses = first_step_losses(monkeypatch, channels_last=True)
    assert torch.allclose(nchw_losses, nhwc_losses, rtol=1e-5, atol=0)
    conv = method.discriminator.trunk[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
