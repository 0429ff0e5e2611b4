"""The LSTM analogy: a vanilla RNN, an LSTM and a residual RNN on a memory task, trained live;
the gradient across time beside the gradient across depth; the LSTM's gates and memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from resviz import sequence as seq
from resviz.experiments.sequence import PROBE_BATCH, train_spec
from resviz.figures import sequence as sfigs
from resviz.i18n import _
from resviz.spec import SpecError
from resviz.train import Trainer, evaluate
from ui import charts, layout, live, params

KEY = "sq_run"

layout.header(_("The LSTM analogy: depth is time"), _(
    "An RNN unrolled over T steps is a T-layer deep net that shares its weights. The task: "
    "remember the first of T symbols until the end (chance = 1 in 4). A **vanilla RNN** "
    "multiplies the gradient by a Jacobian at every step, so what reaches the first steps "
    "vanishes — exactly like a deep plain net. An **LSTM** carries its cell state "
    "c_t = f_t·c_{t−1} + i_t·g_t, and a **residual RNN** h_t = h_{t−1} + f(x_t, h_{t−1}) "
    "carries h: the identity shortcut, across time instead of depth."))

with st.sidebar.expander(_("Task and nets"), expanded=True):
    length = params.slider("sq_T", _("Sequence length T"), 2, 100, seq.DEFAULTS.length)
    hidden = params.select_slider("sq_hidden", _("Hidden units"), [8, 16, 32, 64],
                                  seq.DEFAULTS.hidden)
    forget_bias = params.slider("sq_fb", _("LSTM forget-gate bias at init"), 0.0, 4.0,
                                seq.DEFAULTS.forget_bias, 0.5,
                                help=_("sigmoid(b) is the forget gate's starting value: 2 "
                                       "gives 0.88, so the memory starts mostly kept."))
with st.sidebar.expander(_("Training"), expanded=True):
    lr = params.select_slider("sq_lr", _("Learning rate"), [1e-3, 3e-3, 0.01, 0.03],
                              seq.DEFAULTS.lr)
    max_steps = params.slider("sq_steps", _("Stop after steps"), 50, 2000, seq.DEFAULTS.steps, 50)
    seed = params.slider("sq_seed", _("Seed"), 0, 99, 0)


@dataclass
class SeqRun:
    """The three recurrent nets, their lockstep trainer, and cached measurements."""

    specs: dict[str, seq.SeqSpec]
    trainer: Trainer
    running: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return self.trainer.step_count


try:
    specs = seq.trio(length, hidden, forget_bias=forget_bias, seed=seed)
    tspec = train_spec(max_steps, lr, seed=seed).replace(eval_every=10)
except SpecError as e:
    st.error(str(e))
    st.stop()


@st.cache_data(max_entries=32, show_spinner=False)
def depth_profile(depth: int, width: int, seed: int) -> dict[str, list[float]]:
    return seq.depth_profile(depth, width, seed)


def probe(trainer: Trainer):
    return trainer._xte[:PROBE_BATCH], trainer._yte[:PROBE_BATCH]


def fresh_run() -> SeqRun:
    trainer = seq.make_trainer(specs, tspec, str(layout.device()))
    x, y = probe(trainer)
    init = {k: seq.state_grad_norms(m, x, y) for k, m in trainer.models.items()}
    return SeqRun(specs, trainer, extra={"init": init})


run: SeqRun | None = st.session_state.get(KEY)
if run is None or run.specs != specs or run.trainer.spec != tspec:
    run = fresh_run()
    st.session_state[KEY] = run

LABELS = {"rnn": _("vanilla RNN"), "lstm": _("LSTM"), "residual": _("residual RNN")}
DEPTH_LABELS = {"plain": _("plain deep net"), "residual": _("residual deep net")}



def reset() -> SeqRun:
    new = fresh_run()
    st.session_state[KEY] = new
    return new


run = live.controls(run, "sq", reset)

example = params.slider("sq_ex", _("Sequence shown in the LSTM maps (test sequence)"), 0, 99, 0)


def draw() -> None:
    tr = run.trainer
    for name in run.specs:
        if tr.diverged(name) is not None:
            st.error(_("The {name} diverged at step {step}: lower the learning rate and press "
                       "Reset.").format(name=LABELS[name], step=tr.diverged(name)))
    live.status(run, max_steps)
    cols = st.columns(3)
    for col, name in zip(cols, run.specs):
        _loss, acc = evaluate(tr.models[name], tr._xte, tr._yte)
        col.metric(_("Test accuracy, {name}").format(name=LABELS[name]), f"{acc:.1%}")
    x, y = probe(tr)
    now = {k: seq.state_grad_norms(m, x, y) for k, m in tr.models.items()
           if tr.diverged(k) is None}
    depth = depth_profile(seq.matching_depth(length), hidden, seed)
    charts.show(sfigs.time_and_depth(now, depth, LABELS, DEPTH_LABELS, run.extra["init"]),
                "sq_grads")
    st.caption(_("Left: the gradient of the loss with respect to the hidden state h_t, on a "
                 "batch of test sequences (solid: now, dotted: at initialisation). Right: the "
                 "gradient with respect to each block's output in an untrained plain and "
                 "residual net with as many weight layers as the RNN has steps (T/2 blocks of "
                 "two layers; tanh, no normalisation): the same picture. The residual RNN's "
                 "gradient does not vanish; at initialisation it even grows toward the first "
                 "steps, because the same weights amplify it at every step. The LSTM's forget "
                 "gate (below 1) keeps its carried memory in check."))
    charts.show(sfigs.curves({k: tr.history(k) for k in run.specs}, LABELS), "sq_curves")
    if tr.diverged("lstm") is None:
        xs = tr._xte[min(example, len(tr._xte) - 1)][None]
        mem = seq.lstm_memory(tr.models["lstm"], xs)
        mem["forget_mean"] = seq.lstm_memory(tr.models["lstm"], x)["forget_mean"]
        first = int(xs[0, 0, :-1].argmax())
        st.markdown(_("The sequence shown starts with symbol **{s}**; the nets must name it "
                      "after {n} more steps.").format(s=first, n=length - 1))
        charts.show(sfigs.forget_gates(mem), "sq_forget")
        charts.show(sfigs.cell_state(mem), "sq_cell")


live.fragment(run, max_steps, draw)
