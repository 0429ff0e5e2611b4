"""Truths of the lesion probes that the shape tests let through: the mode and BN statistics are left
as found, a shuffled order is that order, and a k-deletion deletes exactly k distinct blocks."""

from __future__ import annotations

import copy

import pytest
import torch

from resviz.models import build
from resviz.probes import lesion as L
from resviz.spec import NetworkSpec
from resviz.train import evaluate


def _net(depth: int = 6, family: str = "residual", seed: int = 0, classes: int = 2):
    net = build(NetworkSpec(family=family, depth=depth, width=8, seed=seed, n_classes=classes))
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():  # non-trivial running statistics: eval and train mode then differ
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net


def _x(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


def _bn_state(net) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items() if "running" in k or "num_batches" in k}


def test_masked_logits_on_a_training_model_leaves_its_mode_and_bn_statistics() -> None:
    net = _net()
    net.train()
    before = _bn_state(net)
    x = _x()
    masks = torch.rand(5, 6, generator=torch.Generator().manual_seed(1)) > 0.3
    got = L.masked_logits(net, x, masks)
    assert net.training and all(m.training for m in net.modules())
    after = _bn_state(net)
    for k in before:
        assert torch.equal(before[k], after[k]), f"{k} changed"
    # and the logits are the eval-mode net's, gated by hand
    ref = copy.deepcopy(net).eval()
    for m, logits in zip(masks, got):
        ref.set_active(m.tolist())
        with torch.no_grad():
            torch.testing.assert_close(logits, ref(x), rtol=1e-5, atol=1e-5)


def test_accuracies_and_delete_each_leave_a_training_model_as_found() -> None:
    net = _net()
    net.train()
    before = _bn_state(net)
    x = _x()
    y = torch.zeros(len(x), dtype=torch.long)
    L.delete_each(net, x, y)
    L.permuted_accuracy(net, x, y, [1, 0, 2, 3, 4, 5])
    assert net.training
    assert all(torch.equal(v, _bn_state(net)[k]) for k, v in before.items())


@pytest.mark.parametrize("perm", [[5, 4, 3, 2, 1, 0], [1, 0, 2, 3, 5, 4], [2, 5, 0, 3, 1, 4]])
def test_permuted_accuracy_runs_the_blocks_in_that_order(perm) -> None:
    """Labels are the hand-written forward in `perm` order, so that order scores 1.0 and the
    identity order does not (checked, so the test can tell the two apart)."""
    net = _net(classes=5, seed=3).eval()
    x = _x(200, seed=2)
    with torch.no_grad():
        h = net.stem(x)
        for i in perm:
            h = net.blocks[i](h)
        y = net.head(h).argmax(1)
    assert L.permuted_accuracy(net, x, y, perm) == 1.0
    assert L.permuted_accuracy(net, x, y, list(range(6))) < 0.95
    assert evaluate(net, x, y)[1] == pytest.approx(L.permuted_accuracy(net, x, y, list(range(6))))


@pytest.mark.parametrize("n", [1, 2, 7])
def test_each_deletion_mask_deletes_exactly_k_distinct_blocks(n) -> None:
    gen = torch.Generator().manual_seed(0)
    seen = set()
    for k in range(n + 1):
        keep = L.random_deletions(n, k, 50, gen)
        assert keep.shape == (50, n) and keep.dtype == torch.bool
        assert ((~keep).sum(1) == k).all(), f"k={k}"
        seen.update(tuple(r.tolist()) for r in keep)
    if n == 7:  # the draws vary (not always the same k blocks)
        assert len(seen) > 50


def test_delete_k_is_the_accuracy_under_exactly_those_masks() -> None:
    """delete_k(seed) = accuracy with the blocks of random_deletions(same seed) switched off."""
    net = _net(depth=5, classes=3, seed=1).eval()
    x = _x(80, seed=4)
    with torch.no_grad():
        y = net(x).argmax(1)
    y[::3] = (y[::3] + 1) % 3  # not every lesion is perfect or useless
    ks = [0, 1, 2, 3, 5]
    got = L.delete_k(net, x, y, ks, draws=4, seed=9)
    gen = torch.Generator().manual_seed(9)
    for k in ks:
        for draw, keep in enumerate(L.random_deletions(5, k, 4, gen)):
            assert int((~keep).sum()) == k
            net.set_active(keep.tolist())
            assert got[k][draw] == pytest.approx(evaluate(net, x, y)[1])
    net.set_active([True] * 5)


def test_masked_logits_on_a_conv_net_equal_gating_by_hand() -> None:
    """Images: (masks, batch, C, H, W) must be flattened to one batch before the pooling head."""
    net = build(NetworkSpec(depth=3, width=4, input_shape=(1, 6, 6), n_classes=3, seed=2)).eval()
    x = torch.randn(5, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    masks = torch.tensor([[True, True, True], [False, True, False], [True, False, True]])
    got = L.masked_logits(net, x, masks)
    assert got.shape == (3, 5, 3)
    for m, logits in zip(masks, got):
        net.set_active(m.tolist())
        with torch.no_grad():
            torch.testing.assert_close(logits, net(x), rtol=1e-5, atol=1e-5)
    net.set_active([True] * 3)


def test_delete_k_and_reorder_defaults_are_seeded_draws_from_seed_zero() -> None:
    net = _net(depth=6, classes=4, seed=5).eval()
    x = _x(120, seed=6)
    with torch.no_grad():
        y = net(x).argmax(1)  # every deletion costs something, differently per draw
    ks = [1, 2, 3]
    default = L.delete_k(net, x, y, ks)
    assert default == L.delete_k(net, x, y, ks, draws=L.DRAWS, seed=0)
    assert all(len(v) == L.DRAWS for v in default.values())
    assert default != L.delete_k(net, x, y, ks, draws=L.DRAWS, seed=1)  # the seed matters here
    assert L.reorder(net, x, y, [2, 4]) == L.reorder(net, x, y, [2, 4], draws=5, seed=0)
    assert L.reorder(net, x, y, [2, 4]) != L.reorder(net, x, y, [2, 4], draws=5, seed=1)


def test_kendall_tau_at_the_smallest_sizes() -> None:
    assert L.kendall_tau([0]) == 1.0 and L.kendall_tau([]) == 1.0
    assert L.kendall_tau([0, 1]) == 1.0 and L.kendall_tau([1, 0]) == -1.0
    assert L.kendall_tau([2, 1, 0]) == -1.0 and L.kendall_tau([0, 2, 1]) == pytest.approx(1 / 3)


def test_swap_pairs_swaps_two_blocks_and_follows_its_generator_only() -> None:
    assert L.swap_pairs(2, 1, torch.Generator().manual_seed(0)) == [1, 0]  # the only pair there is
    assert L.swap_pairs(1, 3, torch.Generator().manual_seed(0)) == [0]
    torch.manual_seed(1)
    a = L.swap_pairs(9, 3, torch.Generator().manual_seed(4))
    torch.manual_seed(2)  # the global generator is not the one drawn from
    assert L.swap_pairs(9, 3, torch.Generator().manual_seed(4)) == a
    assert sorted(a) == list(range(9)) and a != list(range(9))


def test_reorder_is_permuted_accuracy_under_the_seeded_swaps() -> None:
    net = _net(depth=5, classes=3, seed=4).eval()
    x = _x(60, seed=5)
    with torch.no_grad():
        y = net(x).argmax(1)
    got = L.reorder(net, x, y, [0, 1, 3], draws=2, seed=7)
    gen = torch.Generator().manual_seed(7)
    want = []
    for k in (0, 1, 3):
        for _ in range(2):
            perm = L.swap_pairs(5, k, gen)
            want.append({"swaps": k, "tau": L.kendall_tau(perm),
                         "accuracy": L.permuted_accuracy(net, x, y, perm), "perm": perm})
    assert got == want
    assert got[0]["accuracy"] == 1.0 and got[0]["tau"] == 1.0  # 0 swaps: the net itself
    assert min(p["accuracy"] for p in got) < 1.0  # and some order really differs
