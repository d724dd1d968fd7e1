"""MIC-GAN (docs/METHODS.md §5): its loss terms against their equations, the label embedding,
the schedule of phases, and the control's tables."""

import numpy as np
import pytest
import torch
from torch import nn

from ganctrl.methods.backbones.dcgan import DCGANDiscriminator, DCGANGenerator
from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator
from ganctrl.methods.common.streams import iteration_stream
from ganctrl.methods.mic_gan.crp import initial_tables
from ganctrl.methods.mic_gan.method import (
    MICGAN,
    TableClusters,
    encoder,
    encoder_loss,
    linear_d_loss,
    linear_g_loss,
)


class ToyNetworks:
    image_shape = (1, 32, 32)

    def generator(self, **changes):
        return DCGANGenerator(**{"channels": 1, "z_dim": 8, "width": 4, **changes})

    def discriminator(self, **changes):
        return DCGANDiscriminator(**{"channels": 1, "width": 4, **changes})


def toy(**settings) -> MICGAN:
    schedule = {
        "clusters": 3,
        "init_steps": 2,
        "crp_epochs": 2,
        "q_steps": 1,
        "gan_steps": 2,
        "final_steps": 1,
        "batch_size": 8,
    }
    return MICGAN(ToyNetworks(), torch.rand(100, 1, 32, 32) * 2 - 1, **(schedule | settings))


def test_loss_terms_are_their_equations():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.5])
    assert linear_d_loss(real, fake) == pytest.approx(-(1.0 + 3.0) / 2 + (-2.0 + 0.5) / 2)
    assert linear_g_loss(fake) == pytest.approx(-(-2.0 + 0.5) / 2)
    q, mu = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    assert encoder_loss(q, mu) == pytest.approx(0.1 * (1 + 0 + 1 + 1) / 4)


class LinearCritic(nn.Module):
    """D(x) = Σ w·x on every head: ∇ₓD = w, so the R1 term is ‖w‖² exactly."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.full((1, 1, 32, 32), 0.01))

    def forward(self, x, labels=None):
        return (x * self.w).flatten(1).sum(dim=1)


class BlankGenerator(nn.Module):
    """Draws black-to-grey nothing: every fake is 0, so D(fake) = 0 under the linear critic."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def sample_latents(self, n):
        return torch.zeros(n, 1)

    def forward(self, z, labels=None):
        return torch.zeros(len(z), 1, 32, 32) * self.scale


def test_d_step_is_the_linear_loss_plus_ten_times_the_r1_penalty(monkeypatch):
    method = toy()
    method.discriminator, method.generator = LinearCritic(), BlankGenerator()
    logged = {}
    monkeypatch.setattr(method, "log_dict", lambda values, **_: logged.update(values))
    monkeypatch.setattr(method, "manual_backward", lambda loss: loss.backward())
    optimisers = method.configure_optimizers()
    monkeypatch.setattr(method, "optimizers", lambda: optimisers)
    method.gan_step(iteration_stream(method.seed, 0), conditional=False)
    rows = torch.randint(100, (8,), generator=iteration_stream(method.seed, 0))  # its own batch
    real_logits = (method.images[rows] * 0.01).flatten(1).sum(dim=1)
    r1 = 32 * 32 * 0.01**2
    assert logged["loss/r1"].item() == pytest.approx(r1, rel=1e-5)
    assert logged["loss/d"].item() == pytest.approx(-float(real_logits.mean()) + 10 * r1, rel=1e-5)


@pytest.mark.parametrize("backbone", ["dcgan", "stylegan_lite"])
def test_the_label_embedding_changes_the_generator_s_output(backbone):
    """Added to z on dcgan; on stylegan_lite it enters the mapping network the same way."""
    if backbone == "dcgan":
        g = ToyNetworks().generator(num_classes=3).eval()
    else:
        g = StyleGANLiteGenerator(z_dim=8, w_dim=8, width=4, num_classes=3).eval()
    z = torch.randn(4, 8)
    zero, one = (
        g(z, labels=torch.zeros(4, dtype=torch.long)),
        g(z, labels=torch.ones(4, dtype=torch.long)),
    )
    assert (zero - one).abs().max() > 1e-3


def test_the_schedule_runs_init_then_encoder_crp_gan_epochs_then_final_steps():
    method = toy()
    phases = [method.phase(i) for i in range(method.steps)]
    assert method.steps == 2 + 2 * (1 + 1 + 2) + 1
    assert phases == [
        ("init", 0),
        ("init", 0),
        ("encoder", 1),
        ("crp", 1),
        ("gan", 1),
        ("gan", 1),
        ("encoder", 2),
        ("crp", 2),
        ("gan", 2),
        ("gan", 2),
        ("gan", 2),
    ]


def test_a_crp_step_labels_every_image_and_updates_the_mixture():
    method = toy(clusters=2)
    method.crp_step(epoch=1)
    assert method.labels.shape == (100,) and method.labels.max() <= 1
    counts = np.bincount(method.labels.numpy(), minlength=2)
    assert np.allclose(method.weights.numpy(), counts / 100)
    step = method.history[-1]
    assert step["epoch"] == 1 and 0 < step["sweep_seconds"] <= step["seconds"]


def test_the_control_keeps_only_kept_tables_and_assigns_by_likelihood():
    tables = initial_tables(3, 3)
    tables.removed[1] = True
    q = encoder(1, 32, 3, width=4)
    g = ToyNetworks().generator(num_classes=3).eval()
    control = TableClusters(g, q, tables, np.array([0.6, 0.0, 0.4]))
    assert control.k == 2 and torch.allclose(control.weights, torch.tensor([0.6, 0.4]))
    assert control.sample_cluster(1, 5).shape == (5, 1, 32, 32)
    with torch.no_grad():  # make Q output table 2's mean for every image: cluster 1 (kept[1])
        q[-1].weight.zero_()
        q[-1].bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    assert control.assign(torch.rand(4, 1, 32, 32)).tolist() == [1, 1, 1, 1]
    # sample_cluster(1) renders table 2, not table 1
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    expected = g(z, labels=torch.full((5,), 2))
    assert torch.allclose(control.sample_cluster(1, 5, seed=0), expected)


def test_pixel_kmeans_clusters_the_real_images_and_assigns_to_the_nearest_centroid():
    from ganctrl.methods.mic_gan.pixel_kmeans import PixelKMeans

    levels = torch.tensor([-0.8, 0.0, 0.8])
    images = levels.repeat(20).view(-1, 1, 1, 1).expand(-1, 1, 8, 8).clone()
    images += 0.01 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    control = PixelKMeans(images, clusters=3, seed=0).controls()
    assert control.k == 3 and torch.allclose(control.weights, torch.full((3,), 1 / 3))
    assigned = control.assign(images)
    for level in range(3):  # one cluster per brightness level
        assert len(assigned[level::3].unique()) == 1
    samples = control.sample_cluster(int(assigned[0]), 4)
    assert torch.allclose(samples.mean(dim=(1, 2, 3)), torch.full((4,), -0.8), atol=0.05)
    assert control.device == images.device  # the disentanglement family places its encoder here


def one_gan_step(monkeypatch, **settings) -> tuple[MICGAN, torch.Tensor]:
    """A seeded toy MIC-GAN after one stage-1 GAN step, and that step's logged losses."""
    torch.manual_seed(0)
    method, logged = toy(**settings), {}
    monkeypatch.setattr(method, "log_dict", lambda values, **_: logged.update(values))
    monkeypatch.setattr(method, "manual_backward", lambda loss: loss.backward())
    optimisers = method.configure_optimizers()
    monkeypatch.setattr(method, "optimizers", lambda: optimisers)
    method.gan_step(iteration_stream(method.seed, 0), conditional=False)
    return method, torch.stack([logged[k].detach() for k in sorted(logged)])


def test_channels_last_is_a_layout_not_another_computation(monkeypatch):
    """One GAN step from the same seed in either layout: the same losses to float rounding,
    with G's, D's and Q's conv weights stored NHWC."""
    _, nchw_losses = one_gan_step(monkeypatch)
    method, nhwc_losses = one_gan_step(monkeypatch, channels_last=True)
    assert torch.allclose(nchw_losses, nhwc_losses, rtol=1e-5, atol=0)
    for net in (method.generator, method.discriminator, method.encoder):
        conv = next(
            m.weight
            for m in net.modules()  # one channel reads the same either way
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d) and m.weight.shape[1] > 1
        )
        assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
