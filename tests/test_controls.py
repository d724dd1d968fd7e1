import pytest
import torch

from ganctrl.methods.backbones.dcgan import DCGANGenerator
from ganctrl.methods.common.contract import Clusters, Directions, Unconditional


class ConstantClusters(Clusters):
    """Cluster c emits images filled with the value c / 10, so samples reveal their cluster."""

    def __init__(self, weights):
        super().__init__(DCGANGenerator(width=4))
        self.weights = torch.tensor(weights)
        self.k = len(weights)

    def sample_cluster(self, cluster, n, seed=0):
        return torch.full((n, 1, 32, 32), cluster / 10)


def test_mixture_sample_follows_the_weights_and_the_seed():
    control = ConstantClusters([0.7, 0.0, 0.3])
    images = control.sample(2000, seed=3)
    clusters = torch.round(images[:, 0, 0, 0] * 10).long()
    counts = torch.bincount(clusters, minlength=3).float() / 2000
    assert counts[1] == 0 and abs(counts[0] - 0.7) < 0.04 and abs(counts[2] - 0.3) < 0.04
    assert torch.equal(images, control.sample(2000, seed=3))
    assert not torch.equal(images, control.sample(2000, seed=4))
    assert not control.can_assign
    with pytest.raises(NotImplementedError, match="cannot assign"):
        control.assign(images)


def test_cluster_grid_has_one_row_per_cluster():
    grid = ConstantClusters([0.5, 0.5]).grid(per_cluster=4)
    assert grid.shape == (3, 2 * 33 + 1, 4 * 33 + 1)


class ShiftDirections(Directions):
    def __init__(self):
        super().__init__(DCGANGenerator(width=4))
        self.k = 2

    def sample_latents(self, n, seed=0):
        return self.generator.sample_latents(n, generator=torch.Generator().manual_seed(seed))

    def edit(self, latents, k, eps):
        shifted = latents.clone()
        shifted[:, k] += eps
        return shifted

    def render(self, latents):
        return self.render_latents(latents)


def test_direction_grid_is_one_traversal_strip_per_direction():
    grid = ShiftDirections().grid(steps=5)
    assert grid.shape == (3, 2 * 33 + 1, 5 * 33 + 1)


def test_unconditional_sampling_is_seeded_and_batched():
    torch.manual_seed(0)
    control = Unconditional(DCGANGenerator(width=4), batch_size=7)
    a = control.sample(20, seed=1)
    assert a.shape == (20, 1, 32, 32)
    assert torch.equal(a, control.sample(20, seed=1))
    assert not torch.equal(a, control.sample(20, seed=2))
