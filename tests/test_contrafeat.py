"""ContraFeat's navigator, masks, similarity and losses (methods/contrafeat/losses.py,
methods/contrafeat/method.py), each against a hand computation."""

import pytest
import torch
from trainers import quiet_trainer

from ganctrl.methods.backbones.stylegan_lite import StyleGANLiteGenerator
from ganctrl.methods.common.closed_form_directions import principal_axes
from ganctrl.methods.contrafeat.losses import (
    binary_loss,
    change_mask,
    diversity_loss,
    gaussian_kernel,
    masked_similarity,
    prototype_loss,
    smoothed_attention,
)
from ganctrl.methods.contrafeat.method import (
    ContraFeat,
    Navigator,
    binary_latents,
    symmetric_latents,
)


def test_the_attention_is_a_softmax_blurred_by_a_three_tap_gaussian_with_reflect_padding():
    kernel = gaussian_kernel(3, 1.0)
    assert torch.allclose(kernel, torch.tensor([0.2741, 0.4519, 0.2741]), atol=1e-4)
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3]]))  # softmax gives these back
    a, b, c = kernel.tolist()
    # reflect padding: [0.6, 0.1, 0.6, 0.3, 0.6]
    expected = [
        a * 0.6 + b * 0.1 + c * 0.6,
        a * 0.1 + b * 0.6 + c * 0.3,
        a * 0.6 + b * 0.3 + c * 0.6,
    ]
    assert torch.allclose(smoothed_attention(logits, kernel), torch.tensor([expected]), atol=1e-6)


def test_directions_lie_in_the_pca_subspace_and_have_rms_one():
    torch.manual_seed(0)
    basis = principal_axes(torch.randn(500, 12) * torch.linspace(3, 0.1, 12), 4)[0]
    navigator = Navigator(basis, k=3, num_ws=5, seed=1)
    directions = navigator.directions()
    assert torch.allclose(directions.square().mean(dim=1), torch.ones(3), atol=1e-5)
    projected = directions @ basis.t() @ basis  # onto the subspace: nothing is lost
    assert torch.allclose(projected, directions, atol=1e-5)
    edits = navigator.edits()
    assert edits.shape == (3, 5, 12)
    assert torch.allclose(edits.sum(dim=1), directions, atol=1e-5)  # uniform start: 1/num_ws


def test_the_mask_is_the_channel_norm_min_max_normalised_per_sample():
    change = torch.zeros(2, 2, 1, 3)
    change[0, 0, 0] = torch.tensor([3.0, 1.0, 2.0])
    change[1, :, 0, 0] = torch.tensor([3.0, 4.0])  # norms 5, 0, 0
    change[1, 1, 0, 2] = 10.0
    mask = change_mask(change)
    assert torch.allclose(mask[0, 0], torch.tensor([1.0, 0.0, 0.5]))
    assert torch.allclose(mask[1, 0], torch.tensor([0.5, 0.0, 1.0]))


def test_the_masked_similarity_is_the_hand_computation():
    # two channels at three positions: a = (1, 0), (0, 2), (3, 0); b = (0, 1), (1, 1), (3, 1)
    a = torch.tensor([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0]])[None, :, None, :]  # (1, 2, 1, 3)
    b = torch.tensor([[0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])[None, :, None, :]
    mask_a = [0.0, 0.5, 1.0]  # norms 1, 2, 3
    mask_b = [0.0, (2**0.5 - 1) / (10**0.5 - 1), 1.0]  # norms 1, √2, √10
    cosines = [0.0, 2 / (2 * 2**0.5), 3 / 10**0.5]
    overlap = [x * y for x, y in zip(mask_a, mask_b, strict=True)]
    numerator = sum((c * o) ** 2 for c, o in zip(cosines, overlap, strict=True))
    expected = numerator / (sum(overlap) + 1e-6)
    assert expected > 0.5
    assert masked_similarity(a, b).item() == pytest.approx(expected, abs=1e-6)
    assert masked_similarity(a, -b).item() == pytest.approx(expected, abs=1e-6)  # sign-blind


def test_bi_shares_the_query_scale_with_the_positive_and_not_with_the_negative():
    w1, w2 = torch.zeros(2, 3, 4), torch.ones(2, 3, 4)
    edits = torch.arange(3 * 3 * 4, dtype=torch.float32).reshape(3, 3, 4)
    i, j = torch.tensor([0, 2]), torch.tensor([1, 0])
    s, s_other = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    base1, query, base2, positive, negative = binary_latents(w1, w2, edits, i, j, s, s_other)
    assert torch.equal(query - base1, positive - base2)  # the same edit on another base
    assert torch.allclose(query[1], -1.0 * edits[2]) and torch.allclose(base2, w2)
    assert torch.allclose(negative[0] - w2[0], 0.5 * edits[1])
    assert torch.allclose(negative[1] - w2[1], 3.0 * edits[0])


def test_bi_loss_rewards_alike_positives_and_unlike_negatives():
    torch.manual_seed(0)
    query = [torch.randn(4, 3, 5, 5)]
    alike, unlike = (
        binary_loss(query, query, [torch.randn(4, 3, 5, 5)]),
        binary_loss(query, [torch.randn(4, 3, 5, 5)], query),
    )
    assert alike < 0 < unlike


def test_pt_edits_symmetrically_and_compares_with_its_own_pattern_against_the_others():
    w, edits = torch.randn(2, 3, 4), torch.randn(5, 3, 4)
    q, s = torch.tensor([4, 1]), torch.tensor([2.0, -3.0])
    plus, minus = symmetric_latents(w, edits, q, s)
    assert torch.allclose((plus + minus) / 2, w)
    assert torch.allclose(plus - minus, s[:, None, None] * edits[q])
    torch.manual_seed(1)
    patterns = [torch.randn(3, 2, 4, 4)]  # K = 3 patterns, one tap
    changes = [patterns[0][[2, 0]].clone()]  # each change is its own pattern exactly
    directions = torch.tensor([2, 0])
    sims = torch.stack(
        [masked_similarity(changes[0], patterns[0][k].expand(2, -1, -1, -1)) for k in range(3)],
        dim=1,
    )
    own = sims[torch.arange(2), directions]
    others = (sims.sum(dim=1) - own) / 2
    loss = prototype_loss(changes, patterns, directions)
    assert loss.item() == pytest.approx((others - own).mean().item(), abs=1e-6)
    assert loss < prototype_loss(changes, patterns, torch.tensor([1, 2]))  # wrong patterns


def test_diversity_is_zero_for_orthogonal_edits_and_counts_each_pair_twice():
    assert diversity_loss(torch.eye(4)[:3].reshape(3, 2, 2)).item() == pytest.approx(0.0)
    edits = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert diversity_loss(edits).item() == pytest.approx(2 * 0.5)


@pytest.mark.parametrize("variant,base", [("bi", "learned"), ("pt", "learned"), ("bi", "sefa")])
def test_the_navigator_trains_on_a_frozen_generator_and_gives_per_layer_directions(variant, base):
    torch.manual_seed(0)
    g = StyleGANLiteGenerator(channels=1, width=8, z_dim=32, w_dim=32)
    frozen = {k: v.clone() for k, v in g.state_dict().items()}
    method = ContraFeat(
        g,
        variant=variant,
        base=base,
        directions=3,
        subspace=6,
        steps=2,
        batch_size=2,
        pca_samples=200,
    )
    before = method.navigator.edits().detach().clone()
    directions = method.navigator.directions().detach().clone()
    quiet_trainer().fit(method)
    after = method.navigator.edits().detach()
    assert not torch.allclose(before, after)
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in frozen.items())
    fixed = torch.allclose(method.navigator.directions().detach(), directions)
    assert fixed == (base == "sefa")  # SeFa's directions stay; only where they act is learned
    control = method.controls()
    assert control.directions.shape == (3, g.num_ws, 32)
    assert ("patterns" in control.pictures()) == (variant == "pt")
    attention = method.navigator.attention().detach()
    profile = control.layer_profile()  # what the strips draw beside each direction: ∝ α_k
    assert torch.allclose(
        profile / profile.sum(1, keepdim=True),
        attention / attention.sum(1, keepdim=True),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="style-based generator"):
        from ganctrl.methods.backbones.dcgan import DCGANGenerator

        ContraFeat(DCGANGenerator(channels=1, width=8))


def test_per_layer_directions_edit_each_layer_by_its_own_vector_and_project_whole_w_plus():
    from ganctrl.methods.common.linear_directions import LinearDirections

    g = StyleGANLiteGenerator(channels=1, width=8, z_dim=8, w_dim=8)
    raw = torch.randn(2, g.num_ws, 8)
    control = LinearDirections(g, raw, "w")
    unit = raw / raw.flatten(1).norm(dim=1)[:, None, None]
    latents = control.sample_latents(3)
    assert torch.allclose(control.edit(latents, 1, 2.0), latents + 2.0 * unit[1], atol=1e-6)
    assert torch.allclose(
        control.coordinates(latents), latents.flatten(1) @ unit.flatten(1).t(), atol=1e-5
    )
    with pytest.raises(ValueError, match=r"\(K, 8\) or \(K, \d+, 8\)"):
        LinearDirections(g, torch.randn(2, 5), "w")
