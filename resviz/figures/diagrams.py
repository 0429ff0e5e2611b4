"""Graphviz DOT from a traced LayerGraph, plus the plotly charts of the Architecture page.

DOT is a string (st.graphviz_chart renders it in the browser, no graphviz binary needed).
Nodes are coloured by what they do (weights, BN, activation, operator); shortcut edges are
thick and blue, a removed skip is a dashed grey edge, a 1×1 projection shortcut is orange,
a parameter-free zero-padding shortcut (CIFAR 'option A') teal.
Each element carries a `class` (layer/op/run/shortcut/removed/projection/pad) so tests can count them.
A long net stays readable: blocks not chosen for expansion are drawn as one node each, and
consecutive identical ones merge into a single node with a count; the block's shortcut then
becomes a loop on that node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

import plotly.graph_objects as go

from resviz.figures.style import base_layout, color, mix
from resviz.i18n import _
from resviz.probes.architecture import BlockInfo, LayerGraph, Node

FILL = {"weight": "#dbe9f6", "norm": "#fff2cc", "act": "#d9f2d9", "drop": "#f4cccc",
        "pool": "#eeeeee", "block": "#e8e0f0", "op": "#ffffff", "add": "#fde9d9", "io": "#ffffff"}
EDGE_STYLE = {
    "data": 'color="#555555"',
    "shortcut": 'color="#1f77b4", penwidth=2.5',
    "removed": 'color="#bbbbbb", style=dashed, penwidth=1.5',
    "projection": 'color="#ff7f0e", penwidth=2.5',
    "pad": 'color="#17becf", penwidth=2.5',
}


def q(text: str) -> str:
    """A quoted DOT string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def edge_label(text: str) -> str:
    """An edge label set off from its edge: graphviz puts the label's left side against the
    line, and the browser's font is wider than graphviz's estimate, so a thick shortcut edge
    would cut the first letter ("identity"). Two en spaces keep the gap."""
    return q("\u2002\u2002" + text)


def _role(n: Node) -> str:
    t = n.type
    if n.kind in ("input", "output"):
        return "io"
    if n.kind == "block":
        return "block"
    if n.kind == "op":
        return "add" if t in ("add", "iadd", "add_") else "op"
    if t.startswith(("Linear", "Conv")) or t == "projection":
        return "weight"
    if "Norm" in t:
        return "norm"
    if t.startswith("Dropout"):
        return "drop"
    if "Pool" in t or t in ("Flatten", "shortcut"):
        return "pool"
    return "act"


def kind_label(kind: str) -> str:
    """A block kind in the reader's language: "residual · original" -> "残差网络 · 原始（后激活）"
    (class names such as Bottleneck pass through)."""
    return " · ".join(_(part) for part in str(kind).split(" · "))


def _fmt_shape(shape: tuple[int, ...] | None) -> str:
    return "×".join(map(str, shape[1:])) if shape else ""


def node_dot(n: Node) -> str:
    role = _role(n)
    tip = _("{name} ({type}) {detail}\noutput {shape}, {params} parameters").format(
        name=n.name, type=n.type, detail=n.detail, shape=_fmt_shape(n.shape), params=f"{n.params:,}")
    if n.kind == "op":
        return (f"{n.id} [label={q(n.label)}, shape=circle, width=0.35, fixedsize=false, "
                f'style=filled, fillcolor="{FILL[role]}", class="op", tooltip={q(tip)}];')
    if n.kind in ("input", "output"):
        label = "x" if n.kind == "input" else "y"
        return f'{n.id} [label={q(label)}, shape=plaintext, class="{n.kind}", tooltip={q(tip)}];'
    label = n.label + (f"\n{n.detail}" if n.detail and n.kind != "block" else "")
    if n.params:
        label += "\n" + _("{n} params").format(n=f"{n.params:,}")
    shape = "box3d" if n.kind == "block" else "box"
    return (f'{n.id} [label={q(label)}, shape={shape}, style="rounded,filled", '
            f'fillcolor="{FILL[role]}", class="layer", tooltip={q(tip)}];')


def _signature(b: BlockInfo) -> tuple:
    return (b.kind, b.skip_on, b.active, b.stage)


def runs(blocks: Sequence[BlockInfo], expand: Collection[int], merge: bool) -> list[list[int]]:
    """Groups of consecutive compact blocks (merged when identical); expanded blocks alone."""
    out: list[list[int]] = []
    for b in blocks:
        if b.index in expand:
            continue
        last = out[-1] if out else None
        if (merge and last and last[-1] == b.index - 1
                and _signature(blocks[last[-1]]) == _signature(b)):
            last.append(b.index)
        else:
            out.append([b.index])
    return out


def _run_dot(g: LayerGraph, run: list[int], loop_kind: str | None) -> tuple[str, str]:
    first, last = g.blocks[run[0]], g.blocks[run[-1]]
    params = sum(g.blocks[i].params for i in run)
    a, b = (first.name, last.name) if first.stage else (first.index + 1, last.index + 1)
    if len(run) == 1:
        label = _("block {i}\n{kind}").format(i=a, kind=kind_label(first.kind))
    else:
        label = _("blocks {a}–{b}\n{k} × {kind}").format(a=a, b=b, k=len(run),
                                                          kind=kind_label(first.kind))
    label += "\n" + _("{n} params").format(n=f"{params:,}")
    tip = _("Collapsed: pick a block to expand it.")
    rid = f"run{first.index}"
    node = (f'{rid} [label={q(label)}, shape=box3d, style="rounded,filled", '
            f'fillcolor="{FILL["block"]}", class="run", tooltip={q(tip)}];')
    if loop_kind is None:
        return rid, node
    if len(run) == 1:
        text = {"shortcut": _("identity"), "removed": _("removed"), "projection": _("1×1 projection"),
                "pad": _("zero-pad")}[loop_kind]
    else:
        text = {"shortcut": _("identity ×{k}"), "removed": _("removed ×{k}"),
                "projection": _("1×1 projection ×{k}"), "pad": _("zero-pad ×{k}")}[loop_kind].format(
                    k=len(run))
    edge = f'{rid} -> {rid} [{EDGE_STYLE[loop_kind]}, label={edge_label(text)}, class="{loop_kind}"];'
    return rid, node + "\n  " + edge


def graph_dot(g: LayerGraph, *, expand: Collection[int] | None = None, merge: bool = True,
              rankdir: str = "TB", clusters: bool = True, edge_labels: bool = False,
              title: str | None = None) -> str:
    """DOT of a layer graph. `expand=None` draws every block layer by layer; otherwise only the
    blocks in `expand` are, and the rest are compact nodes (merged into runs when `merge`)."""
    expand = {b.index for b in g.blocks} if expand is None else set(expand)
    groups = runs(g.blocks, expand, merge)
    where = {i: run for run in groups for i in run}
    lines = [f"digraph G {{\n  rankdir={rankdir}; nodesep=0.25; ranksep=0.3;",
             '  node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];']
    if title:
        lines.append(f'  label={q(title)}; labelloc=t; fontname="Helvetica";')
    block_of = {n.id: n.block for n in g.nodes}
    members: dict[int, list[Node]] = {}
    for n in g.nodes:
        if n.block is not None:
            members.setdefault(n.block, []).append(n)
    skip_kinds: dict[int, Counter] = {}
    for e in g.edges:
        b = block_of[e.dst]
        if e.kind != "data" and b is not None:
            skip_kinds.setdefault(b, Counter())[e.kind] += 1
    alias: dict[str, str] = {}
    for run in groups:
        if not any(members.get(i) for i in run):
            continue  # deleted blocks (lesion) run nothing: the data skips them entirely
        kinds = sum((skip_kinds.get(i, Counter()) for i in run), Counter())
        rid, text = _run_dot(g, run, kinds.most_common(1)[0][0] if kinds else None)
        lines.append("  " + text)
        for i in run:
            for n in members.get(i, []):
                alias[n.id] = rid
    for b in g.blocks:
        if b.index in where:
            continue
        inner = [node_dot(n) for n in members.get(b.index, [])]
        if clusters and inner:
            label = _("block {i} · {kind}").format(i=b.index + 1, kind=kind_label(b.kind))
            lines.append(f"  subgraph cluster_{b.index} {{ label={q(label)}; style=\"rounded,dashed\"; "
                         'color="#999999"; fontsize=9;')
            lines += ["    " + t for t in inner] + ["  }"]
        else:
            lines += ["  " + t for t in inner]
    lines += ["  " + node_dot(n) for n in g.nodes if n.block is None]
    seen: set[tuple[str, str]] = set()
    for e in g.edges:
        src, dst = alias.get(e.src, e.src), alias.get(e.dst, e.dst)
        # a skip edge belongs to the block of its addition: kept while that block is drawn
        kind = "data" if dst != e.dst else e.kind
        if src == dst or (kind == "data" and (src, dst) in seen):
            continue
        seen.add((src, dst))
        label = ""
        if edge_labels and kind != "data":
            label = ", label=" + edge_label({"shortcut": _("identity"), "removed": _("removed"),
                                             "projection": _("projection"),
                                             "pad": _("zero-pad")}[kind])
        lines.append(f'  {src} -> {dst} [{EDGE_STYLE[kind]}{label}, class="{kind}"];')
    lines.append("}")
    return "\n".join(lines)


def count_class(dot: str, cls: str) -> int:
    """How many DOT elements carry `class="cls"` (what a test or a legend counts)."""
    return dot.count(f'class="{cls}"')


# --- plotly charts ---------------------------------------------------------------------------


def errors_figure(names: Sequence[str], errors: Sequence[float | None], title: str,
                  highlight: str | None = None, fail_at: float = 20.0,
                  plain: str | None = None) -> go.Figure:
    """The paper's error per block (horizontal bars); a run that failed is drawn at `fail_at`.
    Bars take their family's colour (the plain net red, residual units blue); `highlight`, the
    reference unit, is a darker blue."""
    values = [fail_at if e is None else e for e in errors]
    text = [_("fails (>{v:g}%)").format(v=fail_at) if e is None else f"{e:.2f}%" for e in errors]
    colors = [color("plain") if n == plain else
              mix(color("residual"), "#000000", 0.45) if n == highlight else
              mix(color("residual"), "#ffffff", 0.25) for n in names]
    fig = go.Figure(go.Bar(x=values, y=list(names), orientation="h", text=text,
                           marker_color=colors, textposition="auto"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=_("CIFAR-10 test error, ResNet-110 (%)"))
    return base_layout(fig, title, height=120 + 34 * len(names), showlegend=False)


def macs_figure(rows: Sequence[dict]) -> go.Figure:
    """Multiply-adds at 224×224: torchvision (v1.5), stride moved back (v1), and the paper."""
    names = [r["model"] for r in rows]
    fig = go.Figure()
    for key, label, i in (("gmacs", _("torchvision (v1.5), counted"), 0),
                          ("gmacs_v1", _("stride on the 1×1 (v1), counted"), 2),
                          ("gmacs_paper", _("paper (He et al. 2015)"), 4)):
        fig.add_bar(x=names, y=[r[key] for r in rows], name=label, marker_color=color("", i),
                    text=[f"{r[key]:.2f}" for r in rows], textposition="outside")
    fig.update_yaxes(title=_("multiply-adds (×10⁹)"))
    return base_layout(fig, _("Multiply-adds at 224×224: counted from the modules vs the paper"),
                       height=380, barmode="group")


def cifar_figure(rows: Sequence[dict], selected: dict) -> go.Figure:
    """The paper's CIFAR-10 error against depth, and parameters counted from our modules."""
    fig = go.Figure()
    paper = [r for r in rows if r["error_paper"] is not None]
    fig.add_scatter(x=[r["depth"] for r in paper], y=[r["error_paper"] for r in paper],
                    mode="lines+markers", name=_("paper error (%)"), marker_color=color("residual"))
    fig.add_scatter(x=[r["depth"] for r in rows], y=[r["params"] / 1e6 for r in rows], yaxis="y2",
                    mode="lines+markers", name=_("parameters (M), counted"), marker_color=color("", 4))
    fig.add_scatter(x=[selected["depth"]], y=[selected["params"] / 1e6], yaxis="y2", mode="markers",
                    name=_("ResNet-{d}").format(d=selected["depth"]),
                    marker=dict(size=16, symbol="star", color=color("", 6)))
    fig.update_layout(xaxis=dict(title=_("depth 6n + 2 (log scale)"), type="log"),
                      yaxis=dict(title=_("test error (%)")),
                      yaxis2=dict(title=_("parameters (M)"), overlaying="y", side="right",
                                  type="log"))
    return base_layout(fig, _("CIFAR-10 ResNets: depth, error (paper) and size (counted)"))
