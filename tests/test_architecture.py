"""Diagrams are traced from the modules: layer order, one node per layer, one edge per skip."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

from resviz.blocks import HighwayBlock, ResidualBlock
from resviz.experiments import arch
from resviz.figures.diagrams import count_class, graph_dot
from resviz.models import build
from resviz.probes.architecture import block_graph, trace
from resviz.shortcut_variants import VARIANTS, ShortcutVariantBlock
from resviz.spec import NetworkSpec

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]

# What each ordering's name says, as the sequence of W(eight), BN, ReLU and + along the data path.
EXPECTED = {
    "original": ["W", "BN", "ReLU", "W", "BN", "+", "ReLU"],
    "bn_after_add": ["W", "BN", "ReLU", "W", "+", "BN", "ReLU"],
    "relu_before_add": ["W", "BN", "ReLU", "W", "BN", "ReLU", "+"],
    "relu_preact": ["ReLU", "W", "BN", "ReLU", "W", "BN", "+"],
    "full_preact": ["BN", "ReLU", "W", "BN", "ReLU", "W", "+"],
}


def _short(t: str) -> str | None:
    return {"Linear": "W", "Conv2d": "W", "BatchNorm1d": "BN", "BatchNorm2d": "BN", "ReLU": "ReLU",
            "add": "+"}.get(t)


def _leaf_layers(model: nn.Module) -> set[str]:
    return {name for name, m in model.named_modules()
            if not list(m.children()) and not isinstance(m, nn.Identity)}


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("ordering", list(EXPECTED))
def test_each_ordering_puts_bn_relu_add_where_its_name_says(ordering: str, conv: bool) -> None:
    g = block_graph(ResidualBlock(8, ordering, conv=conv), 8, conv=conv)
    seq = [s for s in (_short(n.type) for n in g.nodes) if s]
    assert seq == EXPECTED[ordering]
    # the shortcut leaves the block input and lands on the addition
    (edge,) = g.edges_of("shortcut")
    assert g.node(edge.src).kind == "input" and g.node(edge.dst).type == "add"


def test_the_diagram_follows_the_module_not_a_table() -> None:
    """Swap two layers of a built block: the traced order must change with it."""
    block = ResidualBlock(8, "original")
    block.n1, block.act1 = nn.ReLU(), nn.BatchNorm1d(8)
    seq = [s for s in (_short(n.type) for n in block_graph(block, 8).nodes) if s]
    assert seq[:3] == ["W", "ReLU", "BN"]


@pytest.mark.parametrize("family", ["residual", "highway", "gated", "plain"])
def test_one_node_per_layer_and_one_shortcut_per_skip(family: str) -> None:
    model = build(NetworkSpec(family=family, depth=5, width=8))
    g = trace(model)
    assert {n.name for n in g.layers()} == _leaf_layers(model)
    assert len(g.layers()) == len(_leaf_layers(model))
    assert sum(n.params for n in g.layers()) == sum(p.numel() for p in model.parameters())
    on = sum(model.skips)
    assert len(g.edges_of("shortcut")) == on
    assert len(g.edges_of("removed")) == 5 - on
    dot = graph_dot(g)
    assert count_class(dot, "layer") == len(_leaf_layers(model))
    assert count_class(dot, "shortcut") == on


def test_switching_one_skip_off_removes_exactly_that_edge() -> None:
    model = build(NetworkSpec(depth=6, width=8))
    before = trace(model)
    model.set_skips([True, True, False, True, True, True])
    after = trace(model)
    key = lambda g, kind: {(e.src, e.dst) for e in g.edges_of(kind)}  # noqa: E731
    gone = key(before, "shortcut") - key(after, "shortcut")
    assert len(gone) == 1 and key(after, "removed") == gone
    (src, dst) = gone.pop()
    assert after.node(dst).block == 2  # the addition of the third block
    assert len(before.nodes) == len(after.nodes)  # the layers stay; only the edge goes
    dot = graph_dot(after)
    assert count_class(dot, "shortcut") == 5 and count_class(dot, "removed") == 1


def test_trace_does_not_touch_bn_statistics_or_the_training_flag() -> None:
    model = build(NetworkSpec(depth=3, width=8)).train()
    stats = model.blocks[0].n1.running_mean.clone()
    trace(model)
    assert model.training and torch.equal(stats, model.blocks[0].n1.running_mean)


def test_shapes_come_from_a_real_forward() -> None:
    g = trace(build(NetworkSpec(depth=2, width=12, input_shape=(1, 8, 8), n_classes=10)))
    assert g.node("stem").shape == (2, 12, 8, 8)
    assert g.nodes[-2].shape == (2, 10)  # the head's Linear, just before the output


def test_collapse_merges_identical_neighbours_and_expands_on_demand() -> None:
    model = build(NetworkSpec(depth=60, width=4))
    model.set_skips([i != 30 for i in range(60)])
    g = trace(model)
    dot = graph_dot(g, expand=set(), merge=True)
    # three runs: blocks 1-30 (on), block 31 (off), blocks 32-60 (on), each with one loop
    assert count_class(dot, "run") == 3
    assert "identity ×30" in dot and "identity ×29" in dot and 'removed", class="removed"' in dot
    outside = len([n for n in g.layers() if n.block is None])  # stem, head ReLU, head Linear
    assert outside == 3 and count_class(dot, "layer") == outside
    expanded = graph_dot(g, expand={30}, merge=True)
    assert count_class(expanded, "removed") == 1 + 0  # block 31 drawn layer by layer
    assert "cluster_30" in expanded and count_class(expanded, "run") == 2
    assert count_class(expanded, "layer") == outside + len(g.block_nodes(30)) - 1  # minus its '+'
    assert len(dot) < len(graph_dot(g)) / 10


def test_highway_diagram_shows_the_transform_and_carry_gates() -> None:
    g = block_graph(HighwayBlock(8), 8)
    labels = [n.label for n in g.nodes]
    assert "σ" in labels and "1 − ·" in labels and labels.count("×") == 2
    (edge,) = g.edges_of("shortcut")
    assert g.node(edge.src).label == "×"  # the carried x(1 − T) is what the shortcut adds


@pytest.mark.parametrize("variant", VARIANTS)
def test_shortcut_variants_compute_their_formula(variant: str) -> None:
    torch.manual_seed(0)
    b = ShortcutVariantBlock(6, variant).eval()
    x = torch.randn(5, 6)
    f = b.branch(x)
    g = torch.sigmoid(b.g(x)) if hasattr(b, "g") else None
    want = {"constant_scaling": 0.5 * x + 0.5 * f,
            "exclusive_gating": (1 - g) * x + g * f if g is not None else None,
            "shortcut_gating": (1 - g) * x + f if g is not None else None,
            "conv_shortcut": b.proj(x) + f if hasattr(b, "proj") else None,
            "dropout_shortcut": x + f}[variant]  # dropout is the identity in eval mode
    assert torch.allclose(b(x), torch.relu(want), atol=1e-6)
    (edge,) = block_graph(b, 6).edges_of("shortcut")
    src = block_graph(b, 6).node(edge.src)
    assert src.type == {"constant_scaling": "mul", "exclusive_gating": "mul", "shortcut_gating": "mul",
                        "conv_shortcut": "Linear", "dropout_shortcut": "Dropout"}[variant]


def test_gallery_blocks_all_trace_and_carry_the_papers_numbers() -> None:
    entries = arch.gallery()
    errors = {e.key: e.error for e in entries}
    assert errors["full_preact"] == 6.37 and errors["bn_after_add"] == 8.17
    assert errors["constant_scaling"] == 12.35 and errors["conv_shortcut"] == 12.22
    assert min((e for e in entries if e.error), key=lambda e: e.error).key == "full_preact"
    for e in entries:
        g = arch.gallery_graph(e.key, 4)
        assert len(g.edges_of("shortcut")) == (0 if e.key == "plain" else 1)
        assert len(g.edges_of("removed")) == (1 if e.key == "plain" else 0)


def _dot_edges(dot: str) -> list[str]:
    return re.findall(r"^\s*\w+ -> \w+", dot, re.M)


def test_cli_prints_bare_dot_and_json() -> None:
    env = {"PYTHONPATH": str(ROOT), "RESVIZ_NO_STORE": "1", "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-m", "resviz", "arch", "--block", "full_preact", "--dot"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    assert out.startswith("digraph G {") and out.rstrip().endswith("}")
    assert count_class(out, "shortcut") == 1 and len(_dot_edges(out)) == 9
    res = subprocess.run([sys.executable, "-m", "resviz", "arch", "net", "--depth", "4", "--width", "8",
                          "--json"], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    data = json.loads(res.stdout)
    assert data["blocks"] == 4 and data["shortcuts_on"] == 4
    assert data["params"] == sum(p.numel() for p in build(NetworkSpec(depth=4, width=8)).parameters())


def test_a_deleted_block_vanishes_from_the_data_path() -> None:
    model = build(NetworkSpec(depth=4, width=8))
    model.set_active([True, False, True, True])
    g = trace(model)
    assert g.block_nodes(1) == [] and len(g.edges_of("shortcut")) == 3
    into_block2 = {e.src for e in g.edges if g.node(e.dst).block == 2 and g.node(e.src).block != 2}
    assert into_block2 == {"blocks_0_act2"}  # block 1's output feeds block 3 directly
    assert count_class(graph_dot(g, expand=set(), merge=False), "run") == 3
