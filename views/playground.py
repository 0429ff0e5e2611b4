"""Playground: two networks, with and without skips, training live side by side.

One screen: the control bar on top; below it each model's network diagram (click a skip's
arc to toggle it) beside the two decision boundaries, the curves and the gradients, so a
click and its effect are in view together. Training runs in the engine (ui.live).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from resviz.data import DATASETS, TOY_SETS
from resviz.figures import network as netfig
from resviz.figures import training as figs
from resviz.figures.style import color
from resviz.i18n import _
from resviz.spec import ACTIVATIONS, FAMILIES, ORDERINGS, NetworkSpec, SpecError, TrainSpec
from ui import charts, export, layout, live, params, session

MAX_STEPS = 3000
DEPTHS = list(range(1, 101))
WIDTHS = [4, 8, 16, 32, 64, 128, 256]
SKIP_ROW = 10  # pills per row in the accessible fallback: pills do not wrap
BIG_MODEL = 1_000_000
ROW_HEIGHT = 190  # one model's row: its diagram beside its boundary
DIAGRAM_EVERY = 10.0  # seconds between two refreshes of the diagrams' hover numbers in training
SLOW_EVERY = 3.0  # ... of the gradient bars (the boundaries and curves: live.CHART_EVERY; each
# times live.crowding() on a crowded server)
# One screen needs the rows; on a narrow screen (a projector's 1024 px beside the sidebar)
# the curves column wraps below the diagrams and boundaries instead of squeezing them.
# Less room above the title, except in presenter mode (its page menu sits on top).
TOP_CSS = """<style>
[data-testid=stMainBlockContainer], .stMainBlockContainer, .block-container {
  padding-top: 2.2rem !important; }
</style>"""
PAGE_CSS = """<style>
.st-key-pg_main > div > [data-testid=stHorizontalBlock] { flex-wrap: wrap; row-gap: 0.5rem; }
.st-key-pg_main [data-testid=stColumn] { min-width: 240px; }
.st-key-pg_main [data-testid=stColumn]:last-child { min-width: 300px; }
.st-key-pg_acc_A p, .st-key-pg_acc_B p { margin: 0; white-space: nowrap; }
</style>"""

st.html(PAGE_CSS)
if not layout.presenter_on():
    st.html(TOP_CSS)
layout.header(_("Playground"), _(
    "**A** has skip connections, **B** does not; both train on the same batches. Press "
    "**Start**, then click a skip's arc in a diagram to switch it off in the trained net."),
    compact=True)

with st.sidebar.expander(_("Data"), expanded=True):
    noise = params.slider("pg_noise", _("Noise"), 0.0, 2.0, 0.1, 0.05)
    n_samples = params.slider("pg_n", _("Points"), 20, 4000, 1000, 20)
    data_seed = params.slider("pg_dseed", _("Data seed"), 0, 99, 0)

with st.sidebar.expander(_("Training"), expanded=True):
    lr = params.select_slider("pg_lr", _("Learning rate"),
                              [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0, 1e6], 0.01)
    optimizer = params.radio("pg_opt", _("Optimizer"), ["adam", "sgd"], "adam", horizontal=True)
    batch = params.select_slider("pg_batch", _("Batch size"), [8, 32, 128, 512, 4096], 128)
    max_steps = params.slider("pg_steps", _("Stop after steps"), 50, MAX_STEPS, 600, 50)
    seed = params.slider("pg_seed", _("Seed"), 0, 99, 0)

bar = st.container(border=True, key="pg_bar")
buttons_row = bar.container()
c_data, c_a, c_b = bar.columns([1.1, 2, 2], gap="small")
dataset = params.select("pg_data", _("Data set"), list(DATASETS), "spirals", fmt=_,
                        container=c_data)


def model_controls(name: str, family: str, col) -> NetworkSpec:
    """Depth and width in the bar; the rest of the model's settings in a popover."""
    k = name.lower()
    d, w, more = col.columns([1, 1, 0.55], gap="small", vertical_alignment="bottom")
    depth = params.select(f"{k}_depth", _("{name}: depth").format(name=name), DEPTHS, 20,
                          container=d)
    width = params.select(f"{k}_width", _("{name}: width").format(name=name), WIDTHS, 32,
                          container=w)
    with more.popover("", icon=":material/tune:", help=_("More settings of {name}").format(name=name),
                      use_container_width=True):
        fam = params.select(f"{k}_fam", _("Family"), list(FAMILIES), family, fmt=_)
        ordering = params.select(f"{k}_ord", _("Residual unit ordering"), list(ORDERINGS),
                                 "original", fmt=_, disabled=fam not in ("plain", "residual"))
        norm = params.toggle(f"{k}_norm", _("Batch normalisation"), True)
        act = params.select(f"{k}_act", _("Activation"), list(ACTIVATIONS), "relu")
        gate_bias = params.slider(f"{k}_gb", _("Gate bias (highway/gated)"), -4.0, 0.0, -2.0,
                                  0.5, disabled=fam not in ("highway", "gated"))
    return NetworkSpec(family=fam, ordering=ordering, depth=depth, width=width, norm=norm,
                       activation=act, gate_bias=gate_bias, seed=seed)


spec_a = model_controls("A", "residual", c_a)
spec_b = model_controls("B", "plain", c_b)


def page() -> None:
    """The page below the settings; returns early (no st.stop) on settings that cannot run."""
    try:
        tspec = TrainSpec(dataset=dataset, n_samples=n_samples, noise=noise, data_seed=data_seed,
                          steps=max_steps, lr=lr, optimizer=optimizer, batch_size=batch, seed=seed)
    except SpecError as e:
        st.error(str(e))
        return
    config = session.config({"A": spec_a, "B": spec_b}, tspec, str(layout.device()))
    run = live.get(session.KEY, config)
    specs = dict(config.specs)
    for name, spec in specs.items():
        n_params = _param_count(spec)
        if n_params > BIG_MODEL:
            st.warning(_("Model {name} has {n:,} parameters: each step will take a while on a "
                         "laptop. Fewer blocks or a smaller width keep training live.").format(
                name=name, n=n_params))
    data = session.data_of(tspec)
    labels = {k: _("{name}: {family}, {depth} blocks").format(
        name=k, family=_(s.family), depth=s.depth) for k, s in specs.items()}

    look = live.look()

    def draw(snap: live.Snapshot) -> None:
        _draw(run, snap, data, specs, labels, look)

    def scene(snap: live.Snapshot) -> dict:
        return _scene(run, snap, data, specs, labels, look)

    def controls() -> None:  # in the live fragment: Start and Pause redraw only that
        live.controls(run, "pg", on_reset=_forget_pills, container=buttons_row)

    live.fragment(run, draw, key="pg_live_fragment", scene=scene, controls=controls)
    if dataset not in TOY_SETS:
        st.caption(_("Digits and MNIST-1D use small conv / MLP blocks on real data."))
    export.playground_section(session.PlaygroundRun(run))


@st.cache_data(max_entries=64, show_spinner=False)
def _param_count(spec: NetworkSpec) -> int:
    from resviz.models import build

    return sum(p.numel() for p in build(spec).parameters())


def _forget_pills() -> None:
    for key in [k for k in st.session_state if str(k).startswith("pg_skips_")]:
        del st.session_state[key]


def _toggle(run: live.Live, name: str, blocks: list[int]) -> None:
    """Flip the skips of `blocks` (1-based) of model `name`, between two training steps."""
    mask = list(run.snap.skips[name])
    for b in blocks:
        mask[b - 1] = not mask[b - 1]
    run.handle.set_skips(name, mask)
    live.after_change(run)


def _on_diagram(run: live.Live, name: str, key: str) -> None:
    """A click on a diagram: toggle the clicked skip, and draw the diagram afresh (new key),
    so the next click on the same arc is a new selection, not a deselection."""
    event = st.session_state.get(key)
    blocks = netfig.clicked_blocks(event.selection if event is not None else None)
    if blocks:
        _toggle(run, name, blocks)
    st.session_state["pg_net_gen"] = st.session_state.get("pg_net_gen", 0) + 1


def _on_pills(run: live.Live, name: str, keys: list[str], n: int) -> None:
    on = {b for key in keys for b in (st.session_state.get(key) or [])}
    run.handle.set_skips(name, [b in on for b in range(1, n + 1)])
    live.after_change(run)


def _on_all(run: live.Live, name: str, value: bool, n: int) -> None:
    run.handle.set_skips(name, [value] * n)
    live.after_change(run)


def _draw(run: live.Live, snap: live.Snapshot, data, specs: dict, labels: dict,
          look: tuple) -> None:
    names = list(specs)
    for name in names:
        div = snap.metrics.get(name, {}).get("diverged_at")
        if div is not None:
            st.error(_("Model {name} diverged at step {step}: the learning rate is too high "
                       "for it. Lower it and press Reset.").format(name=name, step=div))
    scene = _scene(run, snap, data, specs, labels, look)
    texts, figures = scene["texts"], scene["charts"]
    gen = st.session_state.get("pg_net_gen", 0)
    main = st.container(key="pg_main")
    c_net, c_bound, c_curves = main.columns([1.25, 1, 1.1], gap="small")
    for name in names:
        key = f"pg_net_{name}_{gen}"
        with c_net:
            charts.show(_diagram(run, snap, name, labels[name], look), key, restyle=False,
                        on_select=lambda n=name, k=key: _on_diagram(run, n, k),
                        selection_mode="points")
        with c_bound:
            st.container(key=f"pg_acc_{name}").markdown(texts[f"pg_acc_{name}"])
            if f"pg_boundary_{name}" in figures:
                charts.show(figures[f"pg_boundary_{name}"], f"pg_boundary_{name}",
                            restyle=False, live=True)
    if not snap.boundary:
        c_bound.caption(_("Decision boundaries are drawn for the 2D data sets."))
    with c_curves:
        charts.show(figures["pg_curves"], "pg_curves", restyle=False, live=True)
    charts.show(figures["pg_grads"], "pg_grads", restyle=False, live=True)
    st.caption(_("Parameter-gradient norms ‖∂L/∂θ‖ per block. A plain block's output is "
                 "the whole signal, not a small correction to an identity path, so its "
                 "weights often get larger gradients than a residual block's: large bars "
                 "here do not mean a healthy gradient reaching the input (Gradient flow)."))
    with st.expander(_("Skip toggles, block by block (keyboard and screen reader)")):
        st.caption(_("The same switches as the arcs in the diagrams: highlighted = on. They "
                     "change the trained model at once, without retraining."))
        for name in names:  # one above the other: a row of ten pills needs ~440 px
            _pills(run, snap, name)


def _scene(run: live.Live, snap: live.Snapshot, data, specs: dict, labels: dict,
           look: tuple) -> dict:
    """What of the live part changes while training, for `snap`: each model's accuracy line
    (markdown) and the live charts (styled figures, rebuilt as `_slow` allows). Built without
    Streamlit: the page draws it, and the tab's live feed (ui.feed) updates it in place."""
    names = list(specs)
    texts, figures = {}, {}
    for name in names:
        acc = snap.metrics.get(name, {}).get("test_acc")
        texts[f"pg_acc_{name}"] = _("{name}: test accuracy **{acc}**").format(
            name=name, acc="–" if acc is None else f"{acc:.1%}")
        if snap.boundary:
            switched = (tuple(snap.skips[name]), tuple(snap.active.get(name) or ()))
            figures[f"pg_boundary_{name}"] = live.slow_chart(
                run, snap, f"boundary_{name}", (id(data), *switched),
                lambda n=name: figs.boundary_spec(snap.boundary[n], data, "",
                                                  height=ROW_HEIGHT - 30, live=snap.running),
                look, live.CHART_EVERY)
    figures["pg_curves"] = live.slow_chart(
        run, snap, "curves", (tuple(labels.items()),),
        lambda: figs.curves_spec(snap.curves, labels, height=2 * ROW_HEIGHT, stacked=True,
                                 steps=snap.max_steps, loss_range=_kept_range(
                                     run, "curves_range", figs.loss_values(snap.curves))),
        look, live.CHART_EVERY)
    # every block's last gradient norm (None before the first step: drawn as an empty chart)
    last = {k: (snap.last.get(k) or {}).get("grad_norms") or [None] * len(snap.skips[k])
            for k in names}
    skips = {k: tuple(v) for k, v in snap.skips.items()}
    figures["pg_grads"] = live.slow_chart(
        run, snap, "grads", (tuple(skips.items()), tuple(labels.items())),
        lambda: figs.grad_bars_spec(last, labels, snap.skips, height=250, y_range=_kept_range(
            run, "grads_range", [v for g in last.values() for v in g], span=1)),
        look, SLOW_EVERY)
    return {"texts": texts, "charts": figures}


def _kept_range(run: live.Live, key: str, values: list, span: int = figs.LOSS_DECADES
                ) -> list[float] | None:
    """A live chart's log range (figs.log_decades): whole decades that only widen while the
    run lives (a Reset forgets them), so new points move in place (ui.livechart) instead of
    redrawing the chart."""
    rng = figs.log_decades(values, span=span, within=run.extra.get(key))
    run.extra[key] = rng
    return rng


def _diagram(run: live.Live, snap: live.Snapshot, name: str, label: str,
             look: tuple) -> go.Figure:
    """Model `name`'s diagram; redrawn at once when its skips or deletions change."""
    stats = snap.block_stats.get(name, {})
    return live.slow_chart(
        run, snap, f"net_{name}", (tuple(snap.skips[name]), tuple(snap.active.get(name) or ()),
                                   label),
        lambda: netfig.diagram_spec(snap.skips[name], label, color(name), stats.get("grad"),
                                    stats.get("ratio"), snap.active.get(name), height=ROW_HEIGHT),
        look, DIAGRAM_EVERY)


def _pills(run: live.Live, snap: live.Snapshot, name: str) -> None:
    skips = snap.skips[name]
    n = len(skips)
    rows = [list(range(r + 1, min(r + SKIP_ROW, n) + 1)) for r in range(0, n, SKIP_ROW)]
    keys = [f"pg_skips_{name}_{i}" for i in range(len(rows))]
    for key, row in zip(keys, rows):
        st.session_state[key] = [b for b in row if skips[b - 1]]
    st.markdown(_("Skips of {name} (highlighted = on; click to toggle)").format(name=name))
    for key, row in zip(keys, rows):
        st.pills(_("Blocks {a}–{b}").format(a=row[0], b=row[-1]), row, selection_mode="multi",
                 key=key, on_change=_on_pills, args=(run, name, keys, n),
                 label_visibility="collapsed")
    c1, c2 = st.columns(2)
    c1.button(_("All skips on"), key=f"pg_all_on_{name}", on_click=_on_all, args=(run, name, True, n),
              use_container_width=True)
    c2.button(_("All skips off"), key=f"pg_all_off_{name}", on_click=_on_all,
              args=(run, name, False, n), use_container_width=True)


page()
