"""Degradation: a depth sweep of plain and residual nets (He et al. 2015 Fig. 1 and 4 in miniature),
and the identity test that opens the argument (He et al. 2015 §1)."""

from __future__ import annotations

import streamlit as st

from resviz.data import TOY_SETS
from resviz.experiments import degradation as deg
from resviz.experiments import identity
from resviz.figures import degradation as figs
from resviz.figures import identity as id_figs
from resviz.i18n import _
from resviz.init import INITIALISERS
from resviz.spec import OPTIMIZERS, SpecError
from ui import charts, layout, params

RUNNING = "dg_running"
ID_RUNNING = "dg_id_running"


def look_for(text: str) -> None:
    """The one line beside a figure that says what to look for."""
    st.caption("👁 " + text)


def settings() -> deg.SweepSpec | None:
    """The sweep's settings (all in the URL); None, with a message, when they cannot be built."""
    d = deg.page_sweep()  # the page's defaults live in one place
    c1, c2, c3, c4 = st.columns(4)
    max_depth = params.select_slider("dg_maxdepth", _("Deepest net (blocks)"),
                                     [x for x in deg.DEPTH_CHOICES if x >= 4], max(d.depths), container=c1)
    seeds = params.slider("dg_seeds", _("Seeds per depth"), 1, 5, d.seeds, container=c2)
    steps = params.select_slider("dg_steps", _("Training steps"), [50, 100, 200, 300, 500, 1000],
                                 d.train.steps, container=c3)
    dataset = params.select("dg_data", _("Data set"), list(TOY_SETS) + ["mnist1d"], d.train.dataset,
                            fmt=lambda x: _(x), container=c4)
    c5, c6, c7, c8, c9 = st.columns(5)
    width = params.select_slider("dg_width", _("Width"), [8, 16, 32, 64], d.width, container=c5)
    norm = params.toggle("dg_norm", _("Batch normalisation"), d.norm, container=c6)
    lr = params.select_slider("dg_lr", _("Learning rate"), [1e-3, 3e-3, 0.01, 0.03, 0.05, 0.1], d.train.lr,
                              container=c7)
    opt = params.select("dg_opt", _("Optimiser"), list(OPTIMIZERS), d.train.optimizer, container=c8,
                        fmt=lambda o: {"adam": "Adam", "sgd": _("SGD + momentum 0.9")}.get(o, o))
    init = params.select("dg_init", _("Initialisation"), list(INITIALISERS), d.init, container=c9,
                         fmt=lambda k: _(INITIALISERS[k][2]))
    try:
        return deg.page_sweep(max_depth, seeds, steps, dataset, width, norm, lr, opt, init)
    except SpecError as e:
        st.error(str(e))
        return None


def stop() -> None:
    st.session_state[RUNNING] = None


def run_sweep(sweep: deg.SweepSpec) -> None:
    """Train the depths not yet stored, with a progress bar; a click elsewhere stops it.

    Each depth is one engine job (a job worker per core here, a Ray task on a cluster), so
    depths train side by side and the page stays free to draw."""
    bar = st.progress(0.0)
    depths = sweep.depths
    share: dict[int, float] = {}

    def progress(gi: int, n: int, step: int, total: int) -> None:
        share[gi] = step / total
        bar.progress(min(sum(share.values()) / n, 1.0), text=_(
            "depth {d} ({i} of {n}): step {s} of {t}").format(d=depths[gi], i=gi + 1, n=n, s=step,
                                                              t=total))

    deg.sweep(sweep, str(layout.device(batched=True)), progress=progress, engine=True)
    bar.empty()
    st.session_state[RUNNING] = None


def sweep_groups(sweep: deg.SweepSpec) -> dict[int, dict]:
    """The stored depths of this sweep, after running the rest if asked to."""
    groups = {d: deg.cached_group(sweep, d) for d in sweep.depths}
    missing = [d for d in sweep.depths if groups[d] is None]
    if not missing:
        return groups
    run_key = repr(sweep)
    b1, b2 = st.columns([1, 3])
    if b1.button(_("▶ Run the sweep"), key="dg_run", type="primary"):
        st.session_state[RUNNING] = run_key
    if st.session_state.get(RUNNING) == run_key:
        b2.button(_("⏹ Stop"), key="dg_stop", on_click=stop)
        run_sweep(sweep)
        groups = {d: deg.cached_group(sweep, d) for d in sweep.depths}
    elif len(missing) < len(sweep.depths):
        b2.caption(_("Stopped: the finished depths are kept; Run continues with the rest."))
    return groups


def sweep_section(sweep: deg.SweepSpec) -> None:
    n_models = 2 * sweep.seeds * len(sweep.depths)
    st.caption(_("{n} networks: depths {depths}, plain and residual, {s} seeds each. The networks "
                 "of one depth train together as one stacked model.").format(
        n=n_models, depths=", ".join(map(str, sweep.depths)), s=sweep.seeds))
    groups = sweep_groups(sweep)
    done = {d: g for d, g in groups.items() if g is not None}
    if not done:
        st.info(_("Press **Run the sweep**. Each depth's results are stored once finished, so a "
                  "revisit with the same settings is instant."))
        return
    result = deg.assemble(sweep, done, sum(g["seconds"] for g in done.values()))
    missing = [d for d in sweep.depths if d not in done]
    if missing:
        st.warning(_("Showing {k} of {n} depths; depths {m} are not trained yet.").format(
            k=len(done), n=len(sweep.depths), m=", ".join(map(str, missing))))
    t1, t2, t3 = st.tabs([_("Error against depth"), _("Error during training"), _("All runs")])
    with t1:
        depth_tab(result, sorted(done))
    with t2:
        curves_tab(result, sorted(done))
    with t3:
        runs_tab(result, done)


def depth_tab(result: dict, depths: list[int]) -> None:
    left, right = st.columns([3, 2])
    with left:
        charts.show(figs.versus_depth(result["rows"], result["summary"]), key="dg_depth")
        look_for(_("Look for the red line climbing with depth while the blue one stays at the "
                   "bottom: the deeper plain nets fit their own training data worse."))
    with right:
        st.markdown(_("**He et al. 2015, for comparison**"))
        st.markdown(_(
            "- CIFAR-10, Fig. 1: the **56-layer** plain net has *higher training error and higher "
            "test error* than the **20-layer** plain net, throughout training.\n"
            "- ImageNet, Table 2 (top-1 error, 10-crop): plain-18 **27.94%**, plain-34 **28.54%** "
            "(deeper is worse); ResNet-18 **27.88%**, ResNet-34 **25.03%** (deeper is better).\n"
            "- CIFAR-10 ResNets, Table 6 (test error): ResNet-20 **8.75%**, ResNet-56 **6.97%**, "
            "ResNet-110 **6.43%**."))
        s = {(r["family"], r["depth"]): r for r in result["summary"]}
        lo, hi = min(depths), max(depths)

        def spread(f: str, d: int) -> str:
            r = s[(f, d)]
            return _("{m:.1f}% ({a:.1f}–{b:.1f})").format(m=r["train_error_median"],
                                                         a=r["train_error_min"], b=r["train_error_max"])

        st.markdown(_("**This miniature** (final training error, median over seeds and range): "
                      "plain {lo} blocks {pl} → {hi} blocks {ph}; residual {lo} blocks {rl} → "
                      "{hi} blocks {rh}.").format(lo=lo, hi=hi, pl=spread("plain", lo),
                                                 ph=spread("plain", hi), rl=spread("residual", lo),
                                                 rh=spread("residual", hi)))


def curves_tab(result: dict, depths: list[int]) -> None:
    default = [d for d in depths if d in (min(depths), 16, 24, max(depths))] or depths
    shown = st.multiselect(_("Depths shown"), depths, default, key="dg_curve_depths")
    show_test = st.toggle(_("Also the test error (dashed)"), False, key="dg_curve_test")
    if not shown:
        st.info(_("Pick at least one depth."))
        return
    charts.show(figs.error_curves(result["curves"], sorted(shown), show_test), key="dg_curves")
    look_for(_("Look at the left panel: the darker (deeper) plain curves settle higher, as in He "
               "et al.'s Fig. 1 and Fig. 4; on the right the residual curves of every depth reach "
               "the bottom. The deep plain net is worse on the training set itself, so it is not "
               "overfitting."))


def runs_tab(result: dict, done: dict[int, dict]) -> None:
    stacked = all(g.get("batched") for g in done.values())
    st.caption(_("Training took {s:.1f} s in all ({how}).").format(
        s=result["seconds"], how=_("each depth's models stacked and trained as one") if stacked
        else _("one model after another")))
    st.dataframe(result["summary"], hide_index=True)
    st.dataframe(result["rows"], hide_index=True)
    d1, d2 = st.columns(2)
    d1.download_button(_("Download CSV"), deg.to_csv(result["rows"]), file_name="degradation.csv",
                       mime="text/csv", key="dg_csv")
    d2.download_button(_("Download JSON"), deg.to_json(result), file_name="degradation.json",
                       mime="application/json", key="dg_json")


def identity_section() -> None:
    """He et al. 2015 §1: can a deep stack even learn y = x? Stored, or run on a click."""
    st.markdown(_(
        "A deeper net could always copy a shallower one by making its extra layers identity maps "
        "— so why does it train worse? Because a stack of nonlinear layers finds even the "
        "identity hard to learn, while a residual block only has to push its branch R(x) to "
        "zero. Here plain and residual stacks of width 32 are trained to output their own input, "
        "y = x, for points of the square [−1, 1]²."))
    ispec = identity.IdentitySpec()
    if not identity.is_stored(ispec):
        st.info(_("The identity test trains {n} small nets (depths {d}, {s} seeds, {t} steps; "
                  "about a minute on a laptop, `python -m resviz precompute` prepares it).").format(
            n=2 * ispec.seeds * len(ispec.depths), d=", ".join(map(str, ispec.depths)),
            s=ispec.seeds, t=ispec.steps))
        if not st.button(_("▶ Run the identity test"), key="dg_id_run"):
            return
        bar = st.progress(0.0)

        def progress(di: int, n: int, step: int, total: int) -> None:
            if step % 25 == 0 or step == total:
                bar.progress(min((di + step / total) / n, 1.0), text=_(
                    "depth {d} ({i} of {n}): step {s} of {t}").format(
                    d=ispec.depths[di], i=di + 1, n=n, s=step, t=total))

        identity.run(ispec, progress=progress)
        bar.empty()
    r = identity.run(ispec)
    left, right = st.columns(2)
    with left:
        charts.show(id_figs.error_vs_depth(r["summary"], r["rows"], r["input_variance"]),
                    key="dg_id_error")
        look_for(_("Look at the deepest plain nets: their error climbs to the dotted line, the "
                   "error of answering the mean; the residual nets stay far below it."))
    with right:
        depth = st.select_slider(_("Depth of the nets drawn"), list(ispec.depths), max(ispec.depths),
                                 key="dg_id_depth")
        charts.show(id_figs.grids(r["grid_in"], r["grids"][depth], depth), key="dg_id_grid")
        look_for(_("Look at the lines: the deep plain net crushes the whole square toward one "
                   "point (it answers the mean) and crumples it; through the residual net every "
                   "line lands near its grey original — wobbly, but the square keeps its shape."))


layout.header(_("Degradation"), _(
    "Make a plain network deeper and it gets **worse at fitting its own training data** — not "
    "overfitting, just harder to optimise. He et al. (2015) saw it on CIFAR-10 and ImageNet; "
    "residual networks of the same depth do not degrade. Here the experiment runs in miniature: "
    "plain and residual nets at several depths, several seeds each, same data, same batches, "
    "same number of steps, He initialisation."))

sweep_tab, identity_tab = st.tabs([_("Depth sweep"), _("The identity test")])
with sweep_tab:
    spec = settings()
    if spec is not None:
        sweep_section(spec)
with identity_tab:
    identity_section()
