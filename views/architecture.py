"""Architecture: every diagram traced from a built nn.Module, and the ResNet family measured."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resviz import resnet_family as rf
from resviz.experiments import arch
from resviz.figures import diagrams
from resviz.i18n import _, language
from resviz.models import build
from resviz.presets import N_
from resviz.probes.architecture import LayerGraph, trace
from resviz.spec import NetworkSpec
from ui import charts, layout, params, session

CIFAR_N = [*range(1, 19), 200]  # depth 8 ... 110, and ResNet-1202
# The gallery's columns wrap below 250 px each (at 1024 px three would cut the formulas off);
# a formula wider than its column scrolls instead of being clipped.
GALLERY_CSS = """<style>
.st-key-ar_gallery [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
.st-key-ar_gallery [data-testid="stColumn"] { min-width: 250px; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
</style>"""

layout.header(_("Architecture"), _(
    "What the networks are, drawn from the modules themselves: each diagram below is traced "
    "from a built PyTorch module as its forward pass really runs, so the order of BN, ReLU and "
    "the addition is the order the code computes. A residual block learns the residual "
    "F(x) = H(x) − x and adds it to its input: the blue edge is that identity shortcut; a "
    "dashed grey edge is a shortcut that has been removed. Hover a box for its output shape "
    "and parameter count."))


def _table(rows: list[dict]) -> list[dict]:
    """Translate the column names of a layer table."""
    return [{_(k): v for k, v in r.items()} for r in rows]


def _wide_table(rows: list[dict]) -> None:
    """A table of more than five columns is cut off on the right at 1024 px (the grid scrolls
    with no visible cue): show it transposed, one column per row of data, headed by its first
    field, as a static table that fits the page."""
    if not rows:
        return
    keys = list(rows[0])
    if len(keys) <= 5:
        st.dataframe(rows, hide_index=True)
        return
    cols = {keys[0]: keys[1:]}
    cols.update({str(r[keys[0]]): [str(r[k]) for k in keys[1:]] for r in rows})
    st.table(pd.DataFrame(cols).set_index(keys[0]))


@st.cache_data(max_entries=64, show_spinner=False)
def gallery_dot(key: str, width: int, conv: bool, lang: str) -> tuple[str, list[dict]]:
    g = arch.gallery_graph(key, width, conv)
    return diagrams.graph_dot(g, clusters=False, edge_labels=True), g.table()


@st.cache_data(max_entries=16, show_spinner=False)
def stage_dot(name: str, expand_all: bool, lang: str) -> str:
    return arch.stage_dot(name, expand_all)


def block_gallery() -> None:
    with st.container(key="ar_gallery"):
        _gallery()


def _gallery() -> None:
    st.latex(r"H(x) = x + \mathcal{F}(x) \quad\Longleftrightarrow\quad \mathcal{F}(x) = H(x) - x")
    groups = {"orderings": _("Residual unit orderings"), "gates": _("Highway and gated"),
              "shortcuts": _("Shortcut variants")}
    c1, c2, c3 = st.columns(3)
    group = params.radio("ar_group", _("Blocks"), list(groups), "orderings", fmt=groups.get,
                         container=c1, horizontal=True)
    conv = params.toggle("ar_conv", _("Convolutional blocks (3×3 conv on 8×8 maps)"), False,
                         container=c2)
    width = params.select_slider("ar_width", _("Width"), [4, 8, 16, 32, 64], 16, container=c3)
    entries = [e for e in arch.gallery() if e.group == group]
    original = next(e for e in arch.gallery() if e.key == "original")
    # rows of three that wrap to two or one on a narrow screen (GALLERY_CSS)
    st.html(GALLERY_CSS)
    for start in range(0, len(entries), 3):
        cols = st.columns(3)
        for e, col in zip(entries[start:start + 3], cols):
            with col:
                st.markdown(f"**{e.title}**")
                if e.error is not None:
                    st.metric(_("ResNet-110 error, CIFAR-10 (paper)"), f"{e.error:.2f}%",
                              delta=None if e.key == "original" else f"{e.error - original.error:+.2f}",
                              delta_color="inverse")
                elif e.fails:
                    st.metric(_("ResNet-110 error, CIFAR-10 (paper)"), _("fails"))
                dot, rows = gallery_dot(e.key, width, conv, language())
                st.graphviz_chart(dot)
                st.latex(r"\footnotesize\begin{gathered}" + e.formula + r"\end{gathered}")
                if e.note:
                    st.caption(e.note)
                with st.expander(_("Layers: output shape and parameters")):
                    st.dataframe(_table(rows), hide_index=True)
    ranked = entries if group != "gates" else []
    if group == "shortcuts":
        ranked = [original, *entries]
    if ranked:
        fig = diagrams.errors_figure([e.title for e in ranked], [e.error for e in ranked],
                                     _("He et al. 2016: CIFAR-10 error of ResNet-110 per block"),
                                     highlight=original.title,
                                     plain=next((e.title for e in ranked if e.key == "plain"), None))
        charts.show(fig, key="ar_errors")
        st.caption(_("Keep the shortcut a clean identity: every operation put on it (scaling, "
                     "gating, a 1×1 convolution, dropout) raised the error, and the best unit, full "
                     "pre-activation, leaves both the shortcut and the sum untouched."))
    else:
        st.caption(_("Highway and gated blocks are not part of He et al.'s ResNet-110 comparison; "
                     "see the Highway and LSTM pages for what their gates do."))


def _live_model() -> tuple[str, object]:
    run = session.playground()
    if run is None:
        st.info(_("Nothing is configured on the Playground yet: this is its default model A "
                  "(20 residual blocks). Change it there, switch skips off, and come back."))
        st.page_link("views/playground.py", label=_("Open the Playground"), icon="🎛️")
        if "_ar_default" not in st.session_state:
            st.session_state["_ar_default"] = build(NetworkSpec(depth=20, width=32))
        return "A", st.session_state["_ar_default"]
    name = params.radio("ar_live", _("Model"), list(run.specs), "A", horizontal=True)
    return name, run.models[name]


def _clamp(key: str, options: list) -> None:
    """A value kept from a deeper model must not break the widget of a shallower one."""
    for k in (key, "_keep_" + key):
        if k in st.session_state and st.session_state[k] not in options:
            st.session_state[k] = options[0]


def _traced(model) -> LayerGraph:
    """Trace once per model and switch state (a 100-block trace takes a second or two)."""
    key = (id(model), str(getattr(model, "spec", "")),
           tuple((b.skip_on, b.active, b.survival, getattr(b, "gate", None), getattr(b, "openness", None))
                 for b in model.blocks))
    hit = st.session_state.get("_ar_trace")
    if hit is None or hit[0] != key:
        hit = (key, trace(model))
        st.session_state["_ar_trace"] = hit
    return hit[1]


def live_model() -> None:
    name, model = _live_model()
    g = _traced(model)
    n = len(g.blocks)
    views = {"auto": _("automatic"), "layers": _("every layer"), "blocks": _("one node per block"),
             "runs": _("collapse repeated blocks")}
    c1, c2 = st.columns(2)
    view = params.radio("ar_view", _("Detail"), list(views), "auto", fmt=views.get, container=c1,
                        horizontal=True)
    focus_options = list(range(n + 1))
    _clamp("ar_focus", focus_options)
    focus = params.select("ar_focus", _("Expand block"), focus_options, 0, container=c2,
                          fmt=lambda i: _("none") if i == 0 else str(i))
    if view == "auto":
        view = "layers" if n <= 4 else ("blocks" if n < arch.COLLAPSE_AT else "runs")
    expand = None if view == "layers" else ({focus - 1} if focus else set())
    dot = diagrams.graph_dot(g, expand=expand, merge=view == "runs",
                             title=_("Model {name}").format(name=name))
    on = sum(b.skip_on for b in g.blocks)
    st.markdown(_("Model **{name}**: {n} blocks, {on} skips on, {off} removed, {p} parameters.").format(
        name=name, n=n, on=on, off=n - on, p=f"{sum(x.params for x in g.layers()):,}"))
    st.graphviz_chart(dot)
    st.caption(_("A compact block carries its shortcut as a loop; identical neighbours merge into "
                 "one node with a count. Pick a block under 'Expand block' to see its layers."))
    with st.expander(_("Blocks")):
        st.dataframe([{_("block"): b.index + 1, _("kind"): diagrams.kind_label(b.kind), _("skip"): b.skip_on,
                       _("active"): b.active, _("params"): b.params} for b in g.blocks],
                     hide_index=True)


def _family_rows() -> list[dict]:
    bar = st.progress(0.0, text=_("Counting multiply-adds..."))
    rows = []
    for i, name in enumerate(rf.TORCHVISION):
        bar.progress(i / len(rf.TORCHVISION), text=_("Counting multiply-adds of {m}...").format(m=name))
        rows.append(rf.family_row(name))
    bar.empty()
    return rows


def resnet_family() -> None:
    rows = _family_rows()
    _wide_table([{
        _("model"): r["model"], _("blocks per stage"): str(r["blocks"]), _("block"): r["block"],
        _("parameters (counted)"): f"{r['params']:,}",
        _("torchvision docs"): f"{r['params_torchvision']:,}",
        _("multiply-adds ×10⁹ (torchvision v1.5)"): round(r["gmacs"], 2),
        _("stride on the 1×1 (v1)"): round(r["gmacs_v1"], 2),
        _("paper"): r["gmacs_paper"],
        _("v1.5 vs paper"): f"{r['gmacs'] / r['gmacs_paper'] - 1:+.1%}",
    } for r in rows])
    charts.show(diagrams.macs_figure(rows), key="ar_macs")
    st.markdown(_(
        "**FLOPs or multiply-adds?** The paper's 'FLOPs' are multiply-adds: one multiplication "
        "and one addition count once. torch's FLOP counter counts them as two operations, so we "
        "halve its total; tools that report 'FLOPs' of ResNet-50 as 8.2 G and as 4.1 G are "
        "counting the same thing. Only convolutions and the fully connected layer are counted "
        "(BN, ReLU, pooling and the additions are cheap by comparison).\n\n"
        "**Why torchvision's bottleneck nets count more.** torchvision puts the stride of a "
        "downsampling bottleneck on its 3×3 convolution ('ResNet v1.5'), the paper on the first "
        "1×1. The 1×1 then runs at twice the resolution: about 6% more work for ResNet-50, "
        "slightly better accuracy. Moving the stride back in the same modules gives the v1 "
        "column, which matches the paper within 2%. ResNet-18 and -34 have no bottleneck, so "
        "both columns agree."))
    st.subheader(_("Stages of one model"))
    c1, c2 = st.columns(2)
    chosen = params.select("ar_model", _("Model"), list(rf.TORCHVISION), "resnet50", container=c1)
    expand_all = params.toggle("ar_stage_all", _("Draw every block"), False, container=c2)
    row = rf.family_row(chosen)
    _wide_table(_table(row["stages"]))
    st.graphviz_chart(stage_dot(chosen, expand_all, language()))
    st.caption(_("Orange: the 1×1 convolution (with BN) that projects the shortcut where a stage "
                 "changes width or resolution; blue: identity shortcuts. Identical blocks of a "
                 "stage are merged into one node with a count."))


def cifar_family() -> None:
    n = params.select_slider("ar_n", _("Blocks per stage n (depth 6n + 2)"), CIFAR_N, 3)
    with st.spinner(_("Counting ResNet-{d}...").format(d=6 * n + 2)):
        row = rf.cifar_row(n)
        paper_rows = rf.cifar_paper_rows()
    c = st.columns(4)
    c[0].metric(_("depth"), row["depth"])
    c[1].metric(_("parameters"), f"{row['params'] / 1e6:.2f} M")
    c[2].metric(_("multiply-adds at 32×32"), f"{row['mmacs']:.0f} M")
    err = row["error_paper"]
    c[3].metric(_("CIFAR-10 error (paper)"), "—" if err is None else f"{err:.2f}%")
    rows = sorted({r["n"]: r for r in [*paper_rows, row]}.values(), key=lambda r: r["n"])
    charts.show(diagrams.cifar_figure(rows, row), key="ar_cifar")
    st.dataframe([{_("depth"): r["depth"], _("n"): r["n"], _("parameters (counted)"): f"{r['params']:,}",
                   _("parameters (paper)"): f"{r['params_paper_m']} M",
                   _("error % (paper)"): r["error_paper"]} for r in paper_rows], hide_index=True)
    st.caption(_("He et al. 2015, Table 6. The paper's ResNet-1202 (19.4 M parameters) reaches "
                 "7.93%: worse than ResNet-110, which the authors attribute to overfitting, not "
                 "to degradation. Shortcuts between stages are parameter-free (zero padding)."))
    _wide_table(_table(row["stages"]))
    st.graphviz_chart(stage_dot(f"cifar-{n}", False, language()))


# Lazy tabs: only the open section runs (the family tab counts multiply-adds of five nets).
SECTIONS = ((N_("Block gallery"), block_gallery), (N_("The live model"), live_model),
            (N_("ResNet family"), resnet_family), (N_("CIFAR family"), cifar_family))
tabs = st.tabs([_(t) for t, _f in SECTIONS], key="ar_tab", on_change="rerun")
for tab, (_t, section) in zip(tabs, SECTIONS):
    if tab.open is not False:  # None: state not tracked yet (first run), draw the first tab
        with tab:
            section()
        break
