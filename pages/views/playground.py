"""Playground: two networks, with and without skips, training live side by side."""

from __future__ import annotations

import streamlit as st

from resviz.data import DATASETS, TOY_SETS
from resviz.figures import training as figs
from resviz.i18n import _
from resviz.spec import ACTIVATIONS, FAMILIES, ORDERINGS, NetworkSpec, SpecError, TrainSpec
from resviz.train import evaluate
from ui import charts, export, layout, live, params, session

MAX_STEPS = 3000

layout.header(_("Playground"), _(
    "Two networks train on the same batches. **A** has skip connections, **B** does not "
    "(change either below). Press **Start**, watch the curves and decision boundaries, then "
    "switch individual skips off in a trained net and see what happens."))

with st.sidebar.expander(_("Data"), expanded=True):
    dataset = params.select("pg_data", _("Data set"), list(DATASETS), "spirals",
                            fmt=lambda d: _(d))
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


def model_controls(name: str, family: str) -> NetworkSpec:
    """One column of model settings; the URL keys are prefixed by the model's name."""
    k = name.lower()
    with st.expander(_("Model {name}").format(name=name), expanded=False):
        fam = params.select(f"{k}_fam", _("Family"), list(FAMILIES), family, fmt=_)
        ordering = params.select(f"{k}_ord", _("Residual unit ordering"), list(ORDERINGS),
                                 "original", fmt=_, disabled=fam not in ("plain", "residual"))
        depth = params.slider(f"{k}_depth", _("Depth (blocks)"), 1, 100, 20)
        width = params.select_slider(f"{k}_width", _("Width"), [4, 8, 16, 32, 64, 128, 256], 32)
        norm = params.toggle(f"{k}_norm", _("Batch normalisation"), True)
        act = params.select(f"{k}_act", _("Activation"), list(ACTIVATIONS), "relu")
        gate_bias = params.slider(f"{k}_gb", _("Gate bias (highway/gated)"), -4.0, 0.0, -2.0,
                                  0.5, disabled=fam not in ("highway", "gated"))
    return NetworkSpec(family=fam, ordering=ordering, depth=depth, width=width, norm=norm,
                       activation=act, gate_bias=gate_bias, seed=seed)


cols = st.columns(2)
with cols[0]:
    spec_a = model_controls("A", "residual")
with cols[1]:
    spec_b = model_controls("B", "plain")

try:
    tspec = TrainSpec(dataset=dataset, n_samples=n_samples, noise=noise, data_seed=data_seed,
                      steps=max_steps, lr=lr, optimizer=optimizer, batch_size=batch, seed=seed)
except SpecError as e:
    st.error(str(e))
    st.stop()

run = session.playground()


def shape_for(spec: NetworkSpec, data) -> NetworkSpec:
    return spec.replace(input_shape=data.input_shape, n_classes=data.n_classes)


def fresh_run() -> session.PlaygroundRun:
    from resviz.data import load

    data = load(dataset, n_samples, noise, data_seed)
    specs = {"A": shape_for(spec_a, data), "B": shape_for(spec_b, data)}
    new = session.new_run(specs, tspec, str(layout.device()))
    for key in [k for k in st.session_state if str(k).startswith("pg_skips_")]:
        del st.session_state[key]
    return new


wanted = {"A": spec_a, "B": spec_b}
if run is None or run.tspec != tspec or any(
        shape_for(wanted[k], run.data) != run.specs[k] for k in wanted):
    if run is not None and run.steps:
        st.toast(_("Settings changed: both models were rebuilt and start again."))
    run = fresh_run()
    session.set_playground(run)

BIG_MODEL = 1_000_000
for name, model in run.models.items():
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > BIG_MODEL:
        st.warning(_("Model {name} has {n:,} parameters: each step will take a while on a laptop. "
                     "Fewer blocks or a smaller width keep training live.").format(name=name, n=n_params))



def reset() -> session.PlaygroundRun:
    new = fresh_run()
    session.set_playground(new)
    return new


run = live.controls(run, "pg", reset)


def label(name: str) -> str:
    s = run.specs[name]
    return _("{name}: {family}, {depth} blocks").format(name=name, family=_(s.family),
                                                         depth=s.depth)


SKIP_ROW = 10  # toggles per row: pills do not wrap, so long nets get several rows


def skip_controls(name: str) -> None:
    """Per-block skip toggles for one model; changes apply to the trained model at once."""
    model = run.models[name]
    n = len(model.blocks)
    rows = [list(range(r + 1, min(r + SKIP_ROW, n) + 1)) for r in range(0, n, SKIP_ROW)]
    keys = [f"pg_skips_{name}_{i}" for i in range(len(rows))]
    for key, row in zip(keys, rows):
        if key not in st.session_state:
            st.session_state[key] = [b for b in row if model.skips[b - 1]]

    def apply() -> None:
        on = {b for key in keys for b in st.session_state[key]}
        model.set_skips([b in on for b in range(1, n + 1)])

    def all_to(value: bool) -> None:
        for key, row in zip(keys, rows):
            st.session_state[key] = list(row) if value else []
        apply()

    st.markdown(_("Skips of {name} (highlighted = on; click to toggle)").format(name=name))
    for key, row in zip(keys, rows):
        st.pills(_("Blocks {a}–{b}").format(a=row[0], b=row[-1]), row, selection_mode="multi",
                 key=key, on_change=apply, label_visibility="collapsed")
    c1, c2 = st.columns(2)
    c1.button(_("All skips on"), key=f"pg_all_on_{name}", on_click=all_to, args=(True,))
    c2.button(_("All skips off"), key=f"pg_all_off_{name}", on_click=all_to, args=(False,))


def draw() -> None:
    names = list(run.specs)
    for name in names:
        div = run.trainer.diverged(name)
        if div is not None:
            st.error(_("Model {name} diverged at step {step}: the learning rate is too high "
                       "for it. Lower it and press Reset.").format(name=name, step=div))
    live.status(run, max_steps)
    labels = {k: label(k) for k in names}
    charts.show(figs.curves({k: run.trainer.history(k) for k in names}, labels), "pg_curves")
    cols = st.columns(2)
    for col, name in zip(cols, names):
        with col:
            model = run.models[name]
            _loss, acc = evaluate(model, run.trainer._xte, run.trainer._yte)
            st.metric(_("Test accuracy of {name} now").format(name=name), f"{acc:.1%}")
            if run.data.is_2d:
                charts.show(figs.boundary(model, run.data, labels[name]), f"pg_boundary_{name}")
            else:
                st.caption(_("Decision boundaries are drawn for the 2D data sets."))
    last = {k: run.trainer.history(k)[-1].grad_norms for k in names if run.trainer.history(k)}
    if last:
        skips = {k: run.models[k].skips for k in last}
        charts.show(figs.grad_bars(last, labels, skips), "pg_grads")


live.fragment(run, max_steps, draw)

st.subheader(_("Skip connections, block by block"))
st.caption(_("Switch skips off in a trained net: the accuracy and the boundary above update "
             "immediately, without retraining."))
scols = st.columns(2)
for col, name in zip(scols, run.specs):
    with col:
        skip_controls(name)

if dataset not in TOY_SETS:
    st.caption(_("Digits and MNIST-1D use small conv / MLP blocks on real data."))

export.playground_section(run)
