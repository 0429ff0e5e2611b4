"""views/architecture.py under AppTest: diagrams and charts follow the widgets and the live model."""

from __future__ import annotations

import pytest
from apptest_utils import figure, no_exception, open_page, set_skips, trained_playground

from resviz.figures.diagrams import count_class
from resviz.models import build
from resviz.spec import NetworkSpec, TrainSpec
from ui import session

PAGE = "views/architecture.py"


def dots(at) -> list[str]:
    return [el.proto.spec for el in at.get("graphviz_chart")]


def open_tab(at, label: str) -> None:
    """The page's tabs are lazy (only the open one runs): open one as a click would."""
    at.session_state["ar_tab"] = label
    at.run()
    no_exception(at)


@pytest.fixture(scope="module")
def at():
    at = open_page(PAGE, timeout=240)
    no_exception(at)
    return at


def test_gallery_draws_each_ordering_and_follows_the_group(at) -> None:
    open_tab(at, "Block gallery")
    gallery = dots(at)[:6]  # the default group: plain + the five orderings
    assert count_class(gallery[0], "removed") == 1 and count_class(gallery[0], "shortcut") == 0
    assert all(count_class(d, "shortcut") == 1 for d in gallery[1:])
    errors = figure(at, "ar_errors")["data"][0]
    assert errors["x"][1:] == [6.61, 8.17, 7.84, 6.71, 6.37]
    at.radio(key="ar_group").set_value("shortcuts").run()
    no_exception(at)
    errors = figure(at, "ar_errors")["data"][0]
    assert errors["x"][:5] == [6.61, 12.35, 8.70, 6.91, 12.22]
    assert any("σ" in d for d in dots(at)[:5]) and any("Dropout" in d for d in dots(at)[:5])
    at.radio(key="ar_group").set_value("orderings").run()


def test_only_the_open_tab_runs(at) -> None:
    open_tab(at, "Block gallery")
    assert at.get("graphviz_chart") and not any(k in el.proto.id for el in at.get("plotly_chart")
                                                for k in ("ar_macs", "ar_cifar"))
    open_tab(at, "CIFAR family")
    assert figure(at, "ar_cifar") and not any("ar_errors" in el.proto.id
                                              for el in at.get("plotly_chart"))


def test_family_table_and_stage_diagram_follow_the_model(at) -> None:
    open_tab(at, "ResNet family")
    macs = figure(at, "ar_macs")["data"]
    v15, v1, paper = (dict(zip(t["x"], t["y"])) for t in macs)
    assert paper["resnet50"] == 3.8 and abs(v1["resnet50"] / 3.8 - 1) < 0.03
    assert abs(v15["resnet18"] / 1.8 - 1) < 0.03 and v15["resnet50"] > v1["resnet50"]
    stage50 = next(d for d in dots(at) if "Bottleneck" in d)
    assert count_class(stage50, "projection") == 4
    at.selectbox(key="ar_model").set_value("resnet18").run()
    no_exception(at)
    stage18 = next(d for d in dots(at) if "BasicBlock" in d)
    assert count_class(stage18, "projection") == 3


def test_cifar_slider_moves_the_selected_model(at) -> None:
    open_tab(at, "CIFAR family")
    star = figure(at, "ar_cifar")["data"][2]
    assert star["x"] == [20]
    at.select_slider(key="ar_n").set_value(9).run()
    no_exception(at)
    star = figure(at, "ar_cifar")["data"][2]
    assert star["x"] == [56] and abs(star["y"][0] - 0.853) < 0.01


def test_live_model_draws_the_playground_net_with_its_removed_skip(at) -> None:
    run = trained_playground({"A": NetworkSpec(depth=60, width=4),
                              "B": NetworkSpec(family="plain", depth=3, width=4)}, TrainSpec(steps=1))
    set_skips(run, "A", [i != 30 for i in range(60)])
    at.session_state[session.KEY] = run.live
    open_tab(at, "The live model")
    live = next(d for d in dots(at) if 'label="Model ' in d)
    # 60 blocks: collapsed into three runs (30 on, block 31 off, 29 on), each with its loop
    assert count_class(live, "run") == 3 and 'removed", class="removed"' in live
    at.selectbox(key="ar_focus").set_value(31).run()
    live = next(d for d in dots(at) if 'label="Model ' in d)
    assert "cluster_30" in live and count_class(live, "removed") == 1
    at.radio(key="ar_live").set_value("B").run()
    live = next(d for d in dots(at) if 'label="Model ' in d)
    leaves = [m for m in build(NetworkSpec(family="plain", depth=3, width=4)).modules()
              if not list(m.children()) and type(m).__name__ != "Identity"]
    assert count_class(live, "layer") == len(leaves) and count_class(live, "removed") == 3
    no_exception(at)
