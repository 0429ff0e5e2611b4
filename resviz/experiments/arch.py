"""Architecture: block diagrams traced from the modules, and the ResNet family's sizes and costs.

`python -m resviz arch resnet50 --json`            stages, parameters, multiply-adds vs the paper
`python -m resviz arch --block full_preact --dot`  the DOT of one block of the gallery
`python -m resviz arch net --depth 60 --dot`       the DOT of a ResViz network (long runs collapsed)
`python -m resviz arch cifar --n 18`               a CIFAR ResNet (depth 6n + 2)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from resviz import resnet_family as rf
from resviz import seeds
from resviz.blocks import Block, GatedBlock, HighwayBlock, ResidualBlock
from resviz.cli_args import count
from resviz.experiments.train_cmd import add_network_arguments
from resviz.figures.diagrams import graph_dot
from resviz.i18n import _
from resviz.init import materialise
from resviz.models import build
from resviz.probes.architecture import LayerGraph, block_graph, stage_graph, trace
from resviz.registry import PAPER_ORDERING_ERROR as PAPER
from resviz.shortcut_variants import ShortcutVariantBlock
from resviz.spec import ORDERINGS, NetworkSpec

COMMAND = "arch"
GROUPS = ("orderings", "gates", "shortcuts")
COLLAPSE_AT = 50  # blocks: from here on a diagram merges identical neighbours


@dataclass(frozen=True)
class GalleryEntry:
    """One block of the gallery: how to build it, its formula, and the paper's number."""

    key: str
    group: str
    title: str
    formula: str  # LaTeX; lines separated by \\ (the page sets them in a gathered block)
    error: float | None  # CIFAR-10 ResNet-110 test error %, He et al. 2016; None = none reported
    fails: bool = False  # the paper reports that it fails to train well
    note: str = ""

    def build(self, width: int = 16, conv: bool = False) -> nn.Module:
        return _MAKERS[self.key](width, conv)


def _seeded(make: Callable[[], Block]) -> Block:
    """A gallery block with He init from a fixed generator: the global RNG is never drawn."""
    return materialise(make, "he", seeds.generator(0, "gallery"))


def _plain(width: int, conv: bool) -> nn.Module:
    block = _seeded(lambda: ResidualBlock(width, "original", conv))
    block.set_skip(False)  # the plain block is the residual block with its shortcut removed
    return block


def _ordering(o: str) -> Callable[[int, bool], nn.Module]:
    return lambda width, conv: _seeded(lambda: ResidualBlock(width, o, conv))


def _variant(v: str) -> Callable[[int, bool], nn.Module]:
    return lambda width, conv: _seeded(lambda: ShortcutVariantBlock(width, v, conv))


_MAKERS: dict[str, Callable[[int, bool], nn.Module]] = {
    "plain": _plain,
    **{o: _ordering(o) for o in ORDERINGS},
    "highway": lambda width, conv: _seeded(lambda: HighwayBlock(width, conv)),
    "gated": lambda width, conv: _seeded(lambda: GatedBlock(width, conv)),
    **{v: _variant(v) for v in ("constant_scaling", "exclusive_gating", "shortcut_gating",
                                "conv_shortcut", "dropout_shortcut")},
}


def gallery() -> list[GalleryEntry]:
    """The gallery, built per call so titles and notes come out in the current language."""
    e = GalleryEntry
    return [
        e("plain", "orderings", _("Plain (no shortcut)"),
          r"y = \mathrm{ReLU}(\mathrm{BN}(W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 x))))", None,
          note=_("Deep stacks of these degrade (He et al. 2015): the shortcut is drawn removed.")),
        e("original", "orderings", _("Original (post-activation)"),
          r"y = \mathrm{ReLU}(x + \mathcal{F}(x)) \\ "
          r"\mathcal{F}(x) = \mathrm{BN}(W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 x)))",
          PAPER["original"]),
        e("bn_after_add", "orderings", _("BN after addition"),
          r"y = \mathrm{ReLU}(\mathrm{BN}(x + \mathcal{F}(x))) \\ "
          r"\mathcal{F}(x) = W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 x))",
          PAPER["bn_after_add"],
          note=_("BN on the shortcut's path alters the identity signal.")),
        e("relu_before_add", "orderings", _("ReLU before addition"),
          r"y = x + \mathcal{F}(x) \\ "
          r"\mathcal{F}(x) = \mathrm{ReLU}(\mathrm{BN}(W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 x))))",
          PAPER["relu_before_add"],
          note=_("The branch can only add, never subtract: F(x) ≥ 0.")),
        e("relu_preact", "orderings", _("ReLU-only pre-activation"),
          r"y = x + \mathcal{F}(x) \\ "
          r"\mathcal{F}(x) = \mathrm{BN}(W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1\,\mathrm{ReLU}(x))))",
          PAPER["relu_preact"]),
        e("full_preact", "orderings", _("Full pre-activation"),
          r"y = x + \mathcal{F}(x) \\ "
          r"\mathcal{F}(x) = W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1\,\mathrm{ReLU}(\mathrm{BN}(x))))",
          PAPER["full_preact"],
          note=_("Nothing on the shortcut and nothing after the addition: a clean identity path.")),
        e("highway", "gates", _("Highway (transform gate T, carry 1 − T)"),
          r"y = H(x)\,T(x) + x\,(1 - T(x)) \\ T(x) = \sigma(W_T x + b_T)", None,
          note=_("Srivastava et al. 2015; with both gates held open it is the residual block.")),
        e("gated", "gates", _("Gated (LSTM analogy)"),
          r"y = c(x) \odot x + i(x) \odot H(x) \\ c, i = \sigma(W x + b)", None,
          note=_("Like the LSTM cell state c_t = f_t c_{t-1} + i_t g_t, across depth.")),
        e("constant_scaling", "shortcuts", _("Constant scaling (0.5 / 0.5)"),
          r"y = \mathrm{ReLU}(0.5\,x + 0.5\,\mathcal{F}(x))", 12.35),
        e("exclusive_gating", "shortcuts", _("Exclusive gating (b_g = −6)"),
          r"y = \mathrm{ReLU}((1 - g(x))\,x + g(x)\,\mathcal{F}(x)) \\ g(x) = \sigma(W_g x + b_g)", 8.70),
        e("shortcut_gating", "shortcuts", _("Shortcut-only gating (b_g = −6)"),
          r"y = \mathrm{ReLU}((1 - g(x))\,x + \mathcal{F}(x)) \\ g(x) = \sigma(W_g x + b_g)", 6.91,
          note=_("With b_g = −6 the gate starts nearly open: almost the identity.")),
        e("conv_shortcut", "shortcuts", _("1×1 conv shortcut"),
          r"y = \mathrm{ReLU}(W_s x + \mathcal{F}(x))", 12.22),
        e("dropout_shortcut", "shortcuts", _("Dropout shortcut (0.5)"),
          r"y = \mathrm{ReLU}(\mathrm{dropout}_{0.5}(x) + \mathcal{F}(x))", None, fails=True,
          note=_("The paper reports that it fails to train well.")),
    ]


def entry(key: str) -> GalleryEntry:
    for e in gallery():
        if e.key == key:
            return e
    raise ValueError(f"block must be one of {', '.join(_MAKERS)}; got {key!r}")


def gallery_graph(key: str, width: int = 16, conv: bool = False) -> LayerGraph:
    """The traced graph of one gallery block, built fresh at this width."""
    return block_graph(entry(key).build(width, conv), width, conv)


def block_dot(key: str, width: int = 16, conv: bool = False) -> str:
    return graph_dot(gallery_graph(key, width, conv), clusters=False, edge_labels=True)


def net_dot(graph: LayerGraph, expand: set[int] | None = None, collapse: bool | None = None) -> str:
    """A whole net: every layer when small; compact blocks, merged runs when 50+ blocks."""
    n = len(graph.blocks)
    collapse = n >= COLLAPSE_AT if collapse is None else collapse
    if not collapse and expand is None:
        return graph_dot(graph, rankdir="LR")
    return graph_dot(graph, expand=expand or set(), merge=collapse, rankdir="LR")


def stage_dot(name: str, expand_all: bool = False) -> str:
    """Stage diagram of a torchvision ResNet ('resnet50') or a CIFAR one ('cifar-<n>')."""
    if name.startswith("cifar-"):
        g = stage_graph(rf.cifar_model(int(name.split("-")[1])), 32)
    else:
        g = stage_graph(rf.torchvision_model(name))
    return graph_dot(g, expand=None if expand_all else set(), merge=True, rankdir="TB", clusters=False)


# --- CLI ---------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", default=None, choices=[*rf.TORCHVISION, "cifar", "net"],
                   help="a torchvision ResNet, 'cifar' (with --n) or 'net' (the network flags)")
    p.add_argument("--block", default=None, choices=list(_MAKERS), help="one block of the gallery")
    p.add_argument("--dot", action="store_true", help="print the Graphviz DOT of the diagram")
    p.add_argument("--conv", action="store_true", help="gallery block with 3x3 convolutions")
    p.add_argument("--n", type=count(1, 200), default=3,
                   help="CIFAR ResNet: blocks per stage (depth 6n+2; 1..200)")
    p.add_argument("--expand-all", action="store_true", help="draw every block, never collapse")
    add_network_arguments(p)


def _block_result(args: argparse.Namespace) -> dict:
    e = entry(args.block)
    g = gallery_graph(args.block, args.width, args.conv)
    return {"block": e.key, "title": e.title, "formula": e.formula, "error_paper": e.error,
            "fails": e.fails, "params": sum(n.params for n in g.layers()), "layers": g.table(),
            "dot": graph_dot(g, clusters=False, edge_labels=True)}


def _net_result(args: argparse.Namespace) -> dict:
    spec = NetworkSpec(family=args.family, ordering=args.ordering, depth=args.depth, width=args.width,
                       norm=not args.no_norm, activation=args.activation, gate_bias=args.gate_bias)
    g = trace(build(spec))
    return {"spec": spec.to_dict(), "blocks": len(g.blocks), "layers": len(g.layers()),
            "params": sum(n.params for n in g.layers()),
            "shortcuts_on": sum(b.skip_on for b in g.blocks),
            "dot": net_dot(g, collapse=False if args.expand_all else None)}


def main(args: argparse.Namespace) -> dict:
    if args.block:
        result = _block_result(args)
    elif args.model == "net":
        result = _net_result(args)
    elif args.model == "cifar":
        result = {**rf.cifar_row(args.n), "dot": stage_dot(f"cifar-{args.n}", args.expand_all)}
    elif args.model:
        result = {**rf.family_row(args.model), "dot": stage_dot(args.model, args.expand_all)}
    else:
        result = {"imagenet": [{k: v for k, v in r.items() if k != "stages"} for r in rf.family_table()],
                  "cifar": [{k: v for k, v in r.items() if k != "stages"} for r in rf.cifar_paper_rows()]}
    if args.dot and "dot" in result:
        if args.json:
            return {"dot": result["dot"]}
        print(result["dot"])  # bare DOT on stdout, ready for `| dot -Tsvg`
        return {}
    result.pop("dot", None)
    return result
