"""Loss landscape: the loss around trained weights, with and without skips (Li et al. 2018).

Nothing heavy runs on entry: the landscapes and Li et al.'s full-Hessian map come from the
store (filled by `python -m resviz precompute` or an earlier click) or from a button with
a progress bar. Every section is a function that returns.
"""

from __future__ import annotations

import math

import streamlit as st

from resviz.data import TOY_SETS, load
from resviz.engine import jobs
from resviz.experiments import landscape as exp
from resviz.figures import landscape as figs
from resviz.i18n import _
from resviz.probes.landscape import HessianSpec, LandscapeSpec
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from ui import charts, layout, params, session

DEPTHS = [2, 4, 8, 12, 16, 20, 24, 32]
SIMILAR_LOSS = 2.0  # final training losses within this factor (or both < 0.05) count as similar

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
    hgrid = params.select_slider("ls_hgrid", _("Full-Hessian map: points per axis"),
                                 [5, 7, 9, 11], HessianSpec.grid,
                                 help=_("Each point costs a Lanczos run of Hessian-vector "
                                        "products over all parameters."))

lspec = LandscapeSpec(grid=grid, span=span, seed=dseed)
hspec = HessianSpec(grid=hgrid)
STAGES = {"train": _("Training the plain and the residual net..."),
          "grid": _("Evaluating the loss on the grid: {name}..."),
          "lines": _("Loss along the 1D lines: {name}..."),
          "hessian": _("Lanczos on the full Hessian at every grid point: {name}...")}


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


def pair_labels(spec: NetworkSpec) -> dict[str, str]:
    return {"plain": _("plain (no skips), {d} blocks").format(d=spec.depth),
            "residual": _("residual (skips), {d} blocks").format(d=spec.depth)}


def pair_result(spec: NetworkSpec, tspec: TrainSpec) -> tuple[dict, dict] | None:
    """(landscapes, final metrics) from the store, or after a click; None until then."""
    result = exp.stored_pair(spec, tspec, lspec)
    if result is None:
        st.info(_("These landscapes have not been computed yet for these settings (a class "
                  "computer prepares them with `python -m resviz precompute`)."))
        if not st.button(_("Train both nets and compute their landscapes"), key="ls_go",
                         type="primary"):
            return None
        bar, update = progress_bar()
        result = jobs.run(exp.pair_landscapes, spec, tspec, lspec,
                          device=layout.device(batched=True), train_device=layout.device(),
                          progress=update)
        bar.empty()
    return result["landscapes"], result["final"]


def playground_result() -> tuple[dict, dict, dict] | None:
    run = session.require_trained("landscape")
    if run is None:
        return None
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


def similar(losses: list[float]) -> bool:
    if not all(math.isfinite(v) for v in losses):
        return False
    lo, hi = min(losses), max(losses)
    return hi < 0.05 or hi <= SIMILAR_LOSS * max(lo, 1e-12)


def losses_section(lands: dict, labels: dict, final: dict) -> None:
    """Both training losses, and a plain word when the nets did not end at similar losses."""
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
            c2.metric(_("slice bends down"), f"{rough['nonconvex_share']:.0%}")
            c3.metric(_("drains away"), f"{rough['basin_share']:.0%}")
    centre = [float(r["centre_loss"]) for r in lands.values() if r["centre_loss"] is not None]
    if len(centre) > 1 and not similar(centre):
        st.warning(_("These nets did **not** train to similar losses ({losses}). Part of the "
                     "difference between the surfaces is where each net ended, not only the "
                     "skips: compare the shapes, and read the heights with that in mind.").format(
            losses=", ".join(f"{labels[k]} {v:.3g}" for k, v in
                             zip(lands, centre))))


def surfaces_section(lands: dict, labels: dict) -> None:
    tab1, tab2 = st.tabs([_("3D surface"), _("Contour map")])
    with tab1:
        charts.show(figs.surfaces(lands, labels), key="ls_surface")
    with tab2:
        charts.show(figs.contours(lands, labels), key="ls_contour")
    st.caption(_("Look for: one smooth bowl around the residual net's weights, ridges and pits "
                 "around the plain net's. Height and colour are log10 of the training loss, on "
                 "one scale for both nets; the centre (0, 0) is the trained weights. Drag the "
                 "3D view to turn it."))


def lines_section(lands: dict, labels: dict) -> None:
    st.subheader(_("Two 1D cuts"))
    st.markdown(_(
        "Left: the loss on the straight line from the initial weights (t = 0) to the trained "
        "ones (t = 1). Right: the loss along one filter-normalised random direction through the "
        "trained weights."))
    charts.show(figs.lines(lands, labels), key="ls_lines")
    st.caption(_("Look for: a smooth, single dip means an easy valley; bumps mean the optimiser "
                 "had to cross ridges."))


def roughness_section(lands: dict, labels: dict, spec: NetworkSpec | None,
                      tspec: TrainSpec | None) -> None:
    st.subheader(_("Measured, not only seen"))
    st.markdown(_(
        "**Slice bends down**: the share of grid points where the plotted 2-D slice curves down "
        "in some direction (the smaller eigenvalue of the slice's 2x2 Hessian is negative, by "
        "more than a tenth of the larger one). **Drains away**: the share of the grid from which "
        "walking downhill does not end where the walk from the trained weights ends: 0% is a "
        "single bowl."))
    charts.show(figs.roughness_bars(lands, labels), key="ls_rough")
    st.caption(_("Look for: the plain net's bars well above the residual net's."))
    if spec is None or tspec is None:
        return
    table = depth_table(spec, tspec)
    if sum(len(v) for v in table.values()) >= 4:
        charts.show(figs.roughness_by_depth(table, labels={
            "plain": _("plain (no skips)"), "residual": _("residual (skips)")},
            metric="basin_share"), key="ls_depths")
        st.caption(_("Look for: the plain net's roughness growing with depth, the residual "
                     "net's staying low."))
    else:
        st.caption(_("Compute another depth: every depth computed is added to a roughness-"
                     "against-depth figure here."))


def slice_section(lands: dict, labels: dict) -> None:
    with st.expander(_("Slice curvature (2-D): where does the plotted slice bend down?")):
        charts.show(figs.slice_curvature_maps(lands, labels), key="ls_ratio")
        st.caption(_("Look for: dark where the slice bends down. This is the curvature of the "
                     "2-D slice only, not Li et al.'s map: a slice can look convex where the "
                     "full surface is not (see the full-Hessian map below)."))


def hessian_maps(spec: NetworkSpec | None, tspec: TrainSpec | None) -> dict | None:
    """Li's map of the pair (store or button) or of the Playground's models (button)."""
    if spec is not None and tspec is not None:
        hit = exp.stored_pair_hessian(spec, tspec, lspec, hspec)
        if hit is not None:
            return hit["maps"]
    if not st.button(_("Compute Li et al.'s full-Hessian map ({n}×{n} points; minutes on a "
                       "laptop CPU)").format(n=hspec.grid), key="ls_hessian_go"):
        return None
    bar, update = progress_bar()
    if spec is not None and tspec is not None:
        maps = jobs.run(exp.pair_hessian, spec, tspec, lspec, hspec,
                        device=layout.device(batched=True), train_device=layout.device(),
                        progress=update)["maps"]
    else:
        run = session.playground()
        if run is None:
            bar.empty()
            return None
        x, y = run.data.x_train, run.data.y_train
        maps = {}
        for i, (k, m) in enumerate(run.models.items()):
            def sub(f: float, stage: str, i: int = i, k: str = k) -> None:
                update((i + f) / len(run.models), stage, k)
            maps[k] = exp.cached_hessian_map(m, x, y, lspec, hspec, progress=sub)
    bar.empty()
    return maps


def hessian_section(labels: dict, spec: NetworkSpec | None, tspec: TrainSpec | None) -> None:
    st.subheader(_("Li et al.'s map: the full Hessian"))
    st.markdown(_(
        "Li et al. (2018, Fig. 7) map **|λmin/λmax|** of the Hessian of the loss over *all* "
        "parameters at each point of the plane: near 0, the surface is locally convex in every "
        "direction; large, it curves down strongly somewhere. We get the extreme eigenvalues from "
        "Hessian-vector products (Lanczos, {iters} products per point), on a coarse "
        "{n}×{n} grid over the same plane.").format(iters=hspec.iters, n=hspec.grid))
    maps = hessian_maps(spec, tspec)
    if maps is None:
        return
    charts.show(figs.hessian_maps(maps, labels), key="ls_hessian")
    cols = st.columns(len(maps))
    for col, (name, m) in zip(cols, maps.items()):
        col.metric(_("{label}: non-convex points").format(label=labels.get(name, name)),
                   f"{m['nonconvex_share']:.0%}",
                   help=_("Share of grid points with |λmin/λmax| above {t}.").format(
                       t=exp.NONCONVEX_RATIO))
    summary = _("; ").join(
        _("{label}: {c} at the trained weights, {m} on average").format(
            label=labels.get(k, k), m=f"{m['mean_ratio']:.2f}",
            c="–" if m.get("centre_ratio") is None else f"{m['centre_ratio']:.3g}")
        for k, m in maps.items())
    st.caption(_("Look for: pale cells (locally convex in every direction) and dark ones (strong "
                 "negative curvature somewhere), and compare them with the slice-curvature map "
                 "above: the slice can look like a bowl where the full Hessian is not convex. Li "
                 "et al. found a deep plain net's map dark and a ResNet's pale near its minimum; "
                 "read here whether these small nets agree. Measured |λmin/λmax|: {summary}. "
                 "Hover a cell for both eigenvalues.").format(summary=summary))


def main() -> None:
    try:
        if source == "pair":
            spec, tspec = pair_settings()
            got = pair_result(spec, tspec)
            if got is None:
                return
            lands, final = got
            labels = pair_labels(spec)
        else:
            spec = tspec = None
            got3 = playground_result()
            if got3 is None:
                return
            lands, labels, final = got3
    except (SpecError, ValueError) as e:
        st.error(str(e))
        return
    losses_section(lands, labels, final)
    surfaces_section(lands, labels)
    lines_section(lands, labels)
    roughness_section(lands, labels, spec, tspec)
    slice_section(lands, labels)
    hessian_section(labels, spec, tspec)


main()
