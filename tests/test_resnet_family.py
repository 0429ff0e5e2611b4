"""The ResNet family measured from the modules agrees with torchvision and with the papers."""

from __future__ import annotations

import pytest
from torch import nn

from resviz import resnet_family as rf
from resviz.experiments import arch
from resviz.figures.diagrams import count_class
from resviz.probes.architecture import stage_graph


@pytest.mark.parametrize("name", rf.TORCHVISION)
def test_parameter_counts_equal_torchvision(name: str) -> None:
    assert rf.count_params(rf.torchvision_model(name)) == rf.TORCHVISION_PARAMS[name]


def test_documented_parameter_counts() -> None:
    assert rf.TORCHVISION_PARAMS["resnet18"] == 11_689_512
    assert rf.TORCHVISION_PARAMS["resnet50"] == 25_557_032
    assert rf.TORCHVISION_PARAMS["resnet152"] == 60_192_808


def test_resnet18_multiply_adds_match_the_paper_within_3_percent() -> None:
    row = rf.family_row("resnet18")
    assert abs(row["gmacs"] / 1.8 - 1) < 0.03
    assert row["gmacs"] == row["gmacs_v1"]  # basic blocks: no v1 / v1.5 difference
    assert row["blocks"] == [2, 2, 2, 2] and row["block"] == "BasicBlock"
    assert [r["output"] for r in row["stages"]] == ["112×112", "56×56", "28×28", "14×14", "7×7"]


def test_resnet50_v15_counts_more_than_the_paper_and_v1_matches_it() -> None:
    row = rf.family_row("resnet50")
    assert row["blocks"] == [3, 4, 6, 3] and row["block"] == "Bottleneck"
    assert abs(row["gmacs"] / 3.8 - 1) < 0.10
    assert row["gmacs"] > row["gmacs_v1"] * 1.04  # the stride on the 3×3 costs ~6% more
    assert abs(row["gmacs_v1"] / 3.8 - 1) < 0.03  # the stride moved back: the paper's count
    widths = [r["widths"] for r in row["stages"][1:]]
    assert widths == [[64, 64, 256], [128, 128, 512], [256, 256, 1024], [512, 512, 2048]]


def test_macs_are_the_flop_counter_halved_on_a_known_layer() -> None:
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False))
    assert rf.count_macs(conv, (3, 10, 10)) == 8 * 10 * 10 * 3 * 3 * 3


def test_stage_diagram_marks_one_projection_per_downsampling_block() -> None:
    g = stage_graph(rf.torchvision_model("resnet50"))
    assert len(g.blocks) == 16
    projections = [n for n in g.nodes if n.type == "projection"]
    assert [n.name for n in projections] == ["layer1.0.downsample", "layer2.0.downsample",
                                              "layer3.0.downsample", "layer4.0.downsample"]
    assert len(g.edges_of("shortcut")) == 12
    dot = arch.stage_dot("resnet50")
    assert count_class(dot, "projection") == 4 and "1×1" in dot
    # resnet18's first stage keeps its width: identity shortcuts only, three projections
    g18 = stage_graph(rf.torchvision_model("resnet18"))
    assert sum(n.type == "projection" for n in g18.nodes) == 3


def test_cifar_stage_diagram_has_parameter_free_padding_shortcuts() -> None:
    g = stage_graph(rf.cifar_model(3), 32)
    assert len(g.blocks) == 9 and not g.edges_of("projection")
    assert len(g.edges_of("pad")) == 4 and len(g.edges_of("shortcut")) == 7
    assert all(n.params == 0 for n in g.nodes if n.type == "projection")
    dot = arch.stage_dot("cifar-3")
    assert count_class(dot, "pad") == 2 and 'zero-pad", class="pad"' in dot and "identity ×2" in dot


@pytest.mark.parametrize(("n", "depth"), [(3, 20), (9, 56), (18, 110)])
def test_cifar_family_depth_params_and_paper_errors(n: int, depth: int) -> None:
    row = rf.cifar_row(n)
    assert row["depth"] == depth == row["weight_layers"]  # 6n convs + first conv + fc
    err, params_m = rf.CIFAR_PAPER[depth]
    assert row["error_paper"] == err
    assert abs(row["params"] / 1e6 / params_m - 1) < 0.03  # Table 6 of He et al. 2015
    assert [r["output"] for r in row["stages"]] == ["32×32", "32×32", "16×16", "8×8"]
    assert [r["widths"][-1] for r in row["stages"][1:]] == [16, 32, 64]


def test_cifar_paper_errors() -> None:
    assert {d: e for d, (e, _p) in rf.CIFAR_PAPER.items() if d <= 110} == {
        20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43}


def test_bad_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="resnet18"):
        rf.torchvision_model("resnet19")
    with pytest.raises(ValueError, match="between 1 and 200"):
        rf.cifar_model(0)
