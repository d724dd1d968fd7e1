"""`frozen`: D out of autograd during G's step, every flag restored afterwards."""

import pytest
import torch
from torch import nn

from ganctrl.methods.common.frozen import frozen


def test_the_loss_reaches_g_through_d_without_d_s_weight_gradients():
    g, d = nn.Linear(2, 3), nn.Linear(3, 1)
    with frozen(d):
        loss = d(g(torch.ones(4, 2))).sum()
    loss.backward()
    assert all(p.grad is None for p in d.parameters())
    # ∂loss/∂W_g[i, j] = 4 · d.weight[0, i] (every input entry is 1)
    assert torch.allclose(g.weight.grad, 4 * d.weight.detach().T.expand(3, 2))


def test_each_parameter_gets_its_own_flag_back_also_after_an_error():
    d = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    d[0].bias.requires_grad_(False)  # frozen before: stays frozen
    before = [p.requires_grad for p in d.parameters()]
    with pytest.raises(RuntimeError, match="inside"), frozen(d):
        assert not any(p.requires_grad for p in d.parameters())
        raise RuntimeError("inside")
    assert [p.requires_grad for p in d.parameters()] == before == [True, False, True, True]
