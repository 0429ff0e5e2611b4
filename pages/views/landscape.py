"""Loss landscape: the loss around trained weights, with and without skips (Li et al. 2018)."""

from __future__ import annotations

import math

import streamlit as st

from resviz.data import TOY_SETS, load
from resviz.experiments import landscape as exp
from resviz.figures import landscape as figs
from resviz.i18n import _
from resviz.probes.landscape import LandscapeSpec
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from ui import charts, layout, params, session

DEPTHS = [2, 4, 8, 12, 16, 20, 24, 32]

layout.header(_("Loss landscape"), _(
    "Why do skip connections make deep nets trainable? Look at the loss around the trained "
    "weights. We cut parameter space along two random directions and evaluate the loss on a "
    "grid of points **θ + a·d₁ + b·d₂** (Li et al. 2018). Each filter of a direction is "
    "rescaled to the size of the same filter of the weights (filter normalisation), so nets "
    "of different scale are cut comparably; biases and BatchNorm stay put. Without skips a "
    "deep net's landscape breaks up into ridges and pits; with skips it stays one smooth bowl."))

with st.sidebar.expander(_("Landscape"), expanded=True):
    source = params.radio("ls_src", _("Models"), ["pair", "playground"], "pair", fmt=lambda s: {
        "pair": _("Train a plain and a residual net here"),
        "playground": _("The Playground's models A and B")}[s])
    grid = params.select_slider("ls_grid", _("Grid points per axis"), [21, 31, 41, 51], 21)
    span = params.select_slider("ls_span", _("Range of the grid (± along each direction)"),
                                [0.25, 0.5, 1.0, 1.5, 2.0], 1.0)
    dseed = params.slider("ls_dseed", _("Direction seed"), 0, 99, 0,
                          help=_("Both nets are cut along the same two random directions."))

lspec = LandscapeSpec(grid=grid, span=span, seed=dseed)
STAGES = {"train": _("Training the plain and the residual net..."),
          "grid": _("Evaluating the loss on the grid: {name}..."),
          "lines": _("Loss along the 1D lines: {name}...")}


def progress_bar() -> tuple[st.delta_generator.DeltaGenerator, object]:
    bar = st.progress(0.0, text=_("Starting..."))

    def update(frac: float, stage: str, name: str) -> None:
        bar.progress(min(1.0, max(0.0, frac)), text=STAGES[stage].format(name=name))

    return bar, update


def pair_settings() -> tuple[NetworkSpec, TrainSpec]:
    depth = params.select_slider("ls_depth", _("Depth (blocks) of both nets"), DEPTHS, 16)
    with st.sidebar.expander(_("Training of the pair"), expanded=False):
        dataset = params.select("ls_data", _("Data set"), list(TOY_SETS), "spirals", fmt=_)
        width = params.select_slider("ls_width", _("Width"), [8, 16, 32], 16)
        n = params.select_slider("ls_n", _("Points"), [200, 400, 1000], 400)
        steps = params.select_slider("ls_steps", _("Training steps"), [100, 200, 300, 500], 200)
        seed = params.slider("ls_seed", _("Seed"), 0, 99, 0)
    tspec = TrainSpec(dataset=dataset, n_samples=n, steps=steps, seed=seed)
    data = load(dataset, n, tspec.noise, tspec.data_seed)
    spec = NetworkSpec(depth=depth, width=width, seed=seed, input_shape=data.input_shape,
                       n_classes=data.n_classes)
    return spec, tspec


def pair_result(spec: NetworkSpec, tspec: TrainSpec) -> tuple[dict, dict, dict]:
    result = exp.stored_pair(spec, tspec, lspec)
    if result is None:
        bar, update = progress_bar()
        result = exp.pair_landscapes(spec, tspec, lspec, device=layout.device(batched=True),
                                     train_device=layout.device(), progress=update)
        bar.empty()
    labels = {"plain": _("plain (no skips), {d} blocks").format(d=spec.depth),
              "residual": _("residual (skips), {d} blocks").format(d=spec.depth)}
    return result["landscapes"], labels, result["final"]


def playground_result() -> tuple[dict, dict, dict]:
    run = session.require_trained("landscape")
    if run is None:
        st.stop()
    if run.running:
        st.info(_("The Playground is training: this landscape is of the weights right now. "
                  "Pause it there for a landscape that stays put."))
    bar, update = progress_bar()
    lands = exp.models_landscapes(run.models, run.specs, run.tspec, lspec,
                                  device=layout.device(batched=True), progress=update)
    bar.empty()
    labels = {k: _("{name}: {family}, {depth} blocks").format(
        name=k, family=_(s.family), depth=s.depth) for k, s in run.specs.items()}
    final = {k: {"train_loss": lands[k]["centre_loss"]} for k in lands}
    return lands, labels, final


def depth_table(spec: NetworkSpec, tspec: TrainSpec) -> dict[str, dict[int, dict]]:
    """Roughness of every depth already computed with these settings (read from the store)."""
    table: dict[str, dict[int, dict]] = {"plain": {}, "residual": {}}
    for d in DEPTHS:
        hit = exp.stored_pair(spec.replace(depth=d), tspec, lspec)
        if hit is not None:
            for name in table:
                table[name][d] = hit["landscapes"][name]["roughness"]
    return table


try:
    if source == "pair":
        spec, tspec = pair_settings()
        lands, labels, final = pair_result(spec, tspec)
    else:
        spec = tspec = None
        lands, labels, final = playground_result()
except (SpecError, ValueError) as e:
    st.error(str(e))
    st.stop()

for name, f in final.items():
    if f.get("diverged_at") is not None or not math.isfinite(f.get("train_loss") or math.nan):
        st.warning(_("{label} diverged in training: its landscape is of broken weights.").format(
            label=labels[name]))

cols = st.columns(len(lands))
for col, (name, r) in zip(cols, lands.items()):
    rough = r["roughness"]
    with col:
        st.markdown(f"**{labels[name]}**")
        c1, c2, c3 = st.columns(3)
        c1.metric(_("loss at θ"), f"{r['centre_loss']:.2g}",
                  help=_("The trained net's own training loss: the centre of the grid."))
        c2.metric(_("non-convex"), f"{rough['nonconvex_share']:.0%}")
        c3.metric(_("drains away"), f"{rough['basin_share']:.0%}")

tab1, tab2 = st.tabs([_("3D surface"), _("Contour map")])
with tab1:
    charts.show(figs.surfaces(lands, labels), key="ls_surface")
with tab2:
    charts.show(figs.contours(lands, labels), key="ls_contour")
st.caption(_("Height and colour are log10 of the training loss, on one scale for both nets; "
             "the centre (0, 0) is the trained weights. Drag the 3D view to turn it."))

st.subheader(_("Two 1D cuts"))
st.markdown(_(
    "Left: the loss on the straight line from the initial weights (t = 0) to the trained ones "
    "(t = 1). Right: the loss along one filter-normalised random direction through the trained "
    "weights. A smooth, single dip means an easy valley; bumps mean the optimiser had to cross "
    "ridges."))
charts.show(figs.lines(lands, labels), key="ls_lines")

st.subheader(_("Measured, not only seen"))
st.markdown(_(
    "**Non-convex**: the share of grid points where the surface curves down in some "
    "direction (the smaller principal curvature of the grid's Hessian is negative, by more than "
    "a tenth of the larger one). The second number is the share of the grid from which walking "
    "downhill does not end where the walk from the trained weights ends (**drains away**): 0% is a "
    "single bowl."))
charts.show(figs.roughness_bars(lands, labels), key="ls_rough")
if spec is not None and tspec is not None:
    table = depth_table(spec, tspec)
    if sum(len(v) for v in table.values()) >= 4:
        charts.show(figs.roughness_by_depth(table, labels={
            "plain": _("plain (no skips)"), "residual": _("residual (skips)")},
            metric="basin_share"), key="ls_depths")
    else:
        st.caption(_("Move the depth slider: every depth computed is added to a roughness-"
                     "against-depth figure here."))
with st.expander(_("Where does each surface bend down? (non-convexity map)")):
    charts.show(figs.ratio_maps(lands, labels), key="ls_ratio")
