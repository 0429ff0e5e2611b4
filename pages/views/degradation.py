"""Degradation: a depth sweep of plain and residual nets, the miniature of He et al. 2015 Fig. 1."""

from __future__ import annotations

import streamlit as st

from resviz import store
from resviz.data import TOY_SETS
from resviz.experiments import degradation as deg
from resviz.figures import degradation as figs
from resviz.i18n import _
from resviz.spec import SpecError, TrainSpec
from ui import charts, layout, params

RUNNING = "dg_running"

layout.header(_("Degradation"), _(
    "Make a plain network deeper and it gets **worse at fitting its own training data** — not "
    "overfitting, just harder to optimise. He et al. (2015) saw it on CIFAR-10 and ImageNet; "
    "residual networks of the same depth do not degrade. Here the experiment runs in miniature: "
    "plain and residual nets at several depths, several seeds each, same data, same batches, "
    "same number of steps."))

c1, c2, c3, c4 = st.columns(4)
max_depth = params.select_slider("dg_maxdepth", _("Deepest net (blocks)"), [4, 8, 16, 32, 64], 32,
                                 container=c1)
seeds = params.slider("dg_seeds", _("Seeds per depth"), 1, 5, 2, container=c2)
steps = params.select_slider("dg_steps", _("Training steps"), [50, 100, 200, 300, 500, 1000], 300,
                             container=c3)
dataset = params.select("dg_data", _("Data set"), list(TOY_SETS) + ["mnist1d"], "spirals",
                        fmt=lambda d: _(d), container=c4)
c5, c6, c7 = st.columns(3)
width = params.select_slider("dg_width", _("Width"), [8, 16, 32, 64], 32, container=c5)
norm = params.toggle("dg_norm", _("Batch normalisation"), True, container=c6)
lr = params.select_slider("dg_lr", _("Learning rate"), [1e-3, 3e-3, 0.01, 0.03], 0.01,
                          container=c7)

depths = tuple(d for d in (2, 4, 8, 16, 32, 64) if d <= max_depth)
try:
    sweep = deg.SweepSpec(depths=depths, seeds=seeds, width=width, norm=norm, train=TrainSpec(
        dataset=dataset, n_samples=1000, steps=steps, lr=lr, eval_every=max(1, steps // 30)))
except SpecError as e:
    st.error(str(e))
    st.stop()

n_models = 2 * seeds * len(depths)
st.caption(_("{n} networks: depths {depths}, plain and residual, {s} seeds each. The networks of "
             "one depth train together as one stacked model.").format(
    n=n_models, depths=", ".join(map(str, depths)), s=seeds))


run_key = store.key("degradation-sweep", sweep)


def stop() -> None:
    st.session_state[RUNNING] = None


def run_sweep() -> None:
    """Train the depths not yet stored, with a progress bar; a click elsewhere stops it."""
    bar = st.progress(0.0)
    every = max(1, steps // 20)

    def progress(gi: int, n: int, step: int, total: int) -> None:
        if step % every and step != total:
            return
        frac = (gi + step / total) / n
        bar.progress(min(frac, 1.0), text=_("depth {d} ({i} of {n}): step {s} of {t}").format(
            d=depths[gi], i=gi + 1, n=n, s=step, t=total))

    deg.sweep(sweep, str(layout.device(batched=True)), progress=progress)
    bar.empty()
    st.session_state[RUNNING] = None


groups = {d: deg.cached_group(sweep, d) for d in depths}
missing = [d for d in depths if groups[d] is None]
b1, b2 = st.columns([1, 3])
if missing:
    if b1.button(_("▶ Run the sweep"), key="dg_run", type="primary"):
        st.session_state[RUNNING] = run_key
    if st.session_state.get(RUNNING) == run_key:
        b2.button(_("⏹ Stop"), key="dg_stop", on_click=stop)
        run_sweep()
        groups = {d: deg.cached_group(sweep, d) for d in depths}
        missing = [d for d in depths if groups[d] is None]
    elif len(missing) < len(depths):
        b2.caption(_("Stopped: the finished depths are kept; Run continues with the rest."))

done = {d: g for d, g in groups.items() if g is not None}
if not done:
    st.info(_("Press **Run the sweep**. Each depth's results are stored once finished, so a "
              "revisit with the same settings is instant."))
    st.stop()

shown = deg.SweepSpec(depths=tuple(done), seeds=seeds, width=width, norm=norm, train=sweep.train)
result = deg.assemble(shown, done, sum(g["seconds"] for g in done.values()))
if missing:
    st.warning(_("Showing {k} of {n} depths; depths {m} are not trained yet.").format(
        k=len(done), n=len(depths), m=", ".join(map(str, missing))))

left, right = st.columns([3, 2])
with left:
    charts.show(figs.versus_depth(result["rows"], result["summary"]), key="dg_depth")
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
    lo, hi = min(done), max(done)
    st.markdown(_("**This miniature** (mean final training loss): plain {lo} blocks {pl:.3f} → "
                  "{hi} blocks {ph:.3f}; residual {lo} blocks {rl:.3f} → {hi} blocks {rh:.3f}.")
                .format(lo=lo, hi=hi, pl=s[("plain", lo)]["train_loss_mean"],
                        ph=s[("plain", hi)]["train_loss_mean"],
                        rl=s[("residual", lo)]["train_loss_mean"],
                        rh=s[("residual", hi)]["train_loss_mean"]))

deepest = max(done)
charts.show(figs.deepest_curves(done[deepest]["curves"], deepest), key="dg_curves")
st.caption(_("Bold: error on the training set; thin: error on the test set. The deep plain net "
             "is worse on both, as in the paper's Fig. 1 — so it is not overfitting."))

stacked = all(g.get("batched") for g in done.values())
st.caption(_("Training took {s:.1f} s in all ({how}).").format(
    s=result["seconds"], how=_("each depth's models stacked and trained as one") if stacked
    else _("one model after another")))
with st.expander(_("All runs")):
    st.dataframe(result["rows"], hide_index=True)
d1, d2 = st.columns(2)
d1.download_button(_("Download CSV"), deg.to_csv(result["rows"]), file_name="degradation.csv",
                   mime="text/csv", key="dg_csv")
d2.download_button(_("Download JSON"), deg.to_json(result),
                   file_name="degradation.json", mime="application/json", key="dg_json")
