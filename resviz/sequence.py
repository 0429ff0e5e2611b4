"""The LSTM analogy: a memory task over T steps and three recurrent nets that face it.

Depth and time are the same problem. A vanilla RNN multiplies the gradient by a Jacobian
at every step, so the gradient reaching early steps vanishes like a plain deep net's
reaching early blocks. An LSTM carries its cell state c_t = f_t c_{t-1} + i_t g_t along
an (almost) identity path, and a residual RNN h_t = h_{t-1} + f(x_t, h_{t-1}) carries
h exactly as a residual block carries x. The task and the nets live here; the lockstep
training is resviz.train.Trainer's (these nets are plain nn.Modules mapping a batch of
sequences to class logits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resviz.data import Dataset, load
from resviz.models import ResVizNet, build
from resviz.spec import MAX_DEPTH, NetworkSpec, SpecError, TrainSpec
from resviz.train import Trainer

KINDS = ("rnn", "lstm", "residual")
KIND_LABELS = {"rnn": "vanilla RNN", "lstm": "LSTM", "residual": "residual RNN"}
MAX_LENGTH = 200
TASK = "first_symbol"


@dataclass(frozen=True)
class TaskDefaults:
    """The memory task's default settings, in one place for the LSTM page and the CLI.

    Chosen by measurement (docs/lessons-landscape.md; tests/test_sequence.py asserts it on seeds
    0-2, slow): at T = 100 the vanilla RNN stays at chance while the LSTM and the residual RNN
    learn. With Adam, a vanilla RNN *does* learn this task at T <= 80 given enough steps (Adam
    rescales even a vanished gradient), so shorter defaults teach the opposite lesson. The LSTM
    needs the standard recurrent-net recipe: a learning rate of 1e-3 and gradient-norm clipping
    at 1 (Pascanu et al. 2013). At 3e-3, or unclipped, it learned on some seeds, then lost it
    (an exploding step). A forget bias of 4 keeps sigmoid(b)^T = 0.982^100 = 0.16 of the memory
    at init.
    """

    length: int = 100
    hidden: int = 32
    n_symbols: int = 4
    forget_bias: float = 4.0
    steps: int = 800
    lr: float = 0.001
    clip_norm: float = 1.0
    batch_size: int = 64
    n_samples: int = 2000


DEFAULTS = TaskDefaults()


@dataclass(frozen=True)
class SeqSpec:
    """A recurrent net for the memory task. `forget_bias` is the LSTM's forget-gate bias
    at init: positive starts it remembering, the mirror of a highway net's negative
    transform-gate bias (Gers et al. 2000; Jozefowicz et al. 2015 recommend 1)."""

    kind: str = "lstm"
    length: int = DEFAULTS.length
    hidden: int = DEFAULTS.hidden
    n_symbols: int = DEFAULTS.n_symbols
    forget_bias: float = DEFAULTS.forget_bias
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if not 2 <= self.length <= MAX_LENGTH:
            raise SpecError(f"sequence length must be between 2 and {MAX_LENGTH}; got {self.length}")
        if not 1 <= self.hidden <= 512:
            raise SpecError(f"hidden size must be between 1 and 512; got {self.hidden}")
        if not 2 <= self.n_symbols <= 64:
            raise SpecError(f"number of symbols must be between 2 and 64; got {self.n_symbols}")

    @property
    def step_cost(self) -> float:
        """A rough relative cost of one training step per example (time steps x hidden^2),
        comparable with NetworkSpec.step_cost."""
        return float(self.length * self.hidden * self.hidden)

    @property
    def n_inputs(self) -> int:
        return self.n_symbols + 1  # one channel per symbol, plus the "first step" marker


def make_task(length: int, n_symbols: int = 4, n_samples: int = 2000, seed: int = 0) -> Dataset:
    """Remember the first symbol: T one-hot symbols, the first one flagged; the label is
    the first symbol, to be recalled after T - 1 random distractors. Chance = 1/n_symbols.
    """
    if not 2 <= length <= MAX_LENGTH:
        raise SpecError(f"sequence length must be between 2 and {MAX_LENGTH}; got {length}")
    g = torch.Generator().manual_seed(seed)
    symbols = torch.randint(0, n_symbols, (n_samples, length), generator=g)
    x = F.one_hot(symbols, n_symbols + 1).float()
    x[:, 0, n_symbols] = 1.0
    y = symbols[:, 0].clone()
    cut = int(n_samples * 0.7)
    return Dataset(TASK, x[:cut], y[:cut], x[cut:], y[cut:], n_symbols)


class SeqNet(nn.Module):
    """Unrolls a cell over time and reads the class from the last hidden state.

    `unroll` keeps every h_t as the very tensor the next step consumes, so
    autograd.grad(loss, hs) is the total gradient of the loss w.r.t. each hidden state.
    """

    kind = "seq"

    def __init__(self, n_in: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.readout = nn.Linear(hidden, n_classes)

    def init_state(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (x.new_zeros(x.shape[0], self.hidden_size),)

    def cell(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...],
             extra: dict[str, list[torch.Tensor]] | None) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def unroll(self, x: torch.Tensor, keep: bool = False
               ) -> tuple[torch.Tensor, list[torch.Tensor], dict[str, list[torch.Tensor]]]:
        """(logits, [h_1..h_T], extras); extras (gates, cells) only when keep=True."""
        state = self.init_state(x)
        hs: list[torch.Tensor] = []
        extra: dict[str, list[torch.Tensor]] | None = {} if keep else None
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state, extra)
            hs.append(state[0])
        return self.readout(hs[-1]), hs, extra or {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unroll(x)[0]


class VanillaRNN(SeqNet):
    """h_t = tanh(W x_t + U h_{t-1} + b): one Jacobian multiplication per step."""

    kind = "rnn"

    def __init__(self, n_in: int, hidden: int, n_classes: int) -> None:
        super().__init__(n_in, hidden, n_classes)
        self.rnn = nn.RNNCell(n_in, hidden, nonlinearity="tanh")

    def cell(self, x_t, state, extra):
        return (self.rnn(x_t, state[0]),)


class ResidualRNN(SeqNet):
    """h_t = h_{t-1} + tanh(W x_t + U h_{t-1} + b): the identity shortcut across time."""

    kind = "residual"

    def __init__(self, n_in: int, hidden: int, n_classes: int) -> None:
        super().__init__(n_in, hidden, n_classes)
        self.f = nn.RNNCell(n_in, hidden, nonlinearity="tanh")

    def cell(self, x_t, state, extra):
        return (state[0] + self.f(x_t, state[0]),)


class LSTM(SeqNet):
    """c_t = f_t c_{t-1} + i_t g_t, h_t = o_t tanh(c_t), written out so the gates can be read.

    Uses nn.LSTMCell's parameters (gate order i, f, g, o) with the forget bias set at init.
    """

    kind = "lstm"

    def __init__(self, n_in: int, hidden: int, n_classes: int, forget_bias: float = 2.0) -> None:
        super().__init__(n_in, hidden, n_classes)
        self.lstm = nn.LSTMCell(n_in, hidden)
        self.forget_bias = forget_bias
        self.reset_special()

    def reset_special(self) -> None:
        """The forget-gate bias at init (the rest of the LSTM's init is PyTorch's own)."""
        h = self.hidden_size
        with torch.no_grad():
            self.lstm.bias_ih[h:2 * h] = self.forget_bias
            self.lstm.bias_hh[h:2 * h] = 0.0

    def init_state(self, x):
        z = x.new_zeros(x.shape[0], self.hidden_size)
        return z, z

    def cell(self, x_t, state, extra):
        h, c = state
        m = self.lstm
        z = F.linear(x_t, m.weight_ih, m.bias_ih) + F.linear(h, m.weight_hh, m.bias_hh)
        zi, zf, zg, zo = z.chunk(4, 1)
        f = torch.sigmoid(zf)
        c = f * c + torch.sigmoid(zi) * torch.tanh(zg)
        h = torch.sigmoid(zo) * torch.tanh(c)
        if extra is not None:
            extra.setdefault("forget", []).append(f.detach())
            extra.setdefault("cell", []).append(c.detach())
        return h, c


def _pytorch_init(net: SeqNet, gen: torch.Generator) -> None:
    """PyTorch's own init of every layer, drawn from `gen` in construction order.

    Linear: kaiming_uniform(a=sqrt 5) weight, U(+-1/sqrt(fan_in)) bias; RNN/LSTM cells:
    every parameter U(+-1/sqrt(hidden)). The same numbers torch.manual_seed(seed) and a
    plain construction give, without touching the global generator.
    """
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                bound = 1 / math.sqrt(m.in_features)
                m.bias.uniform_(-bound, bound, generator=gen)
            elif isinstance(m, nn.RNNCellBase):
                stdv = 1 / math.sqrt(m.hidden_size)
                for p in m.parameters():
                    p.uniform_(-stdv, stdv, generator=gen)
        special = getattr(net, "reset_special", None)
        if callable(special):
            special()


def build_seq(spec: SeqSpec) -> SeqNet:
    """Build deterministically from spec.seed without touching the global RNG.

    Made on the meta device (no draws), then every weight is drawn from a generator seeded
    by the spec, so building in several threads at once gives the single-thread weights.
    """
    n_in, hid, k = spec.n_inputs, spec.hidden, spec.n_symbols
    with torch.device("meta"):
        if spec.kind == "rnn":
            net: SeqNet = VanillaRNN(n_in, hid, k)
        elif spec.kind == "residual":
            net = ResidualRNN(n_in, hid, k)
        else:
            net = LSTM(n_in, hid, k, spec.forget_bias)
    net = net.to_empty(device="cpu")
    _pytorch_init(net, torch.Generator().manual_seed(spec.seed))
    return net


def trio(length: int = DEFAULTS.length, hidden: int = DEFAULTS.hidden,
         n_symbols: int = DEFAULTS.n_symbols, forget_bias: float = DEFAULTS.forget_bias,
         seed: int = 0) -> dict[str, SeqSpec]:
    """The three nets compared side by side, same size and seed."""
    return {k: SeqSpec(k, length, hidden, n_symbols, forget_bias, seed) for k in KINDS}


def make_trainer(specs: Mapping[str, SeqSpec], tspec: TrainSpec,
                 device: str | torch.device = "cpu") -> Trainer:
    """A lockstep Trainer over the task the specs share (TrainSpec gives size and seeds)."""
    first = next(iter(specs.values()))
    data = make_task(first.length, first.n_symbols, tspec.n_samples, tspec.data_seed)
    return Trainer({k: build_seq(s) for k, s in specs.items()}, data, tspec, device)


def state_grad_norms(model: SeqNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """||dL/dh_t|| for t = 1..T on one batch: how much of the loss's gradient reaches
    the hidden state t steps in. Leaves parameter .grad untouched."""
    was = model.training
    model.eval()
    with torch.enable_grad():
        logits, hs, _ = model.unroll(x)
        grads = torch.autograd.grad(F.cross_entropy(logits, y), hs)
    model.train(was)
    return [float(g.norm()) for g in grads]


@torch.no_grad()
def lstm_memory(model: LSTM, x: torch.Tensor) -> dict[str, list]:
    """Forget-gate activity and cell state over time: mean over the batch and units
    (per step), and the [T, hidden] maps of the first example."""
    was = model.training
    model.eval()
    _, _, extra = model.unroll(x, keep=True)
    model.train(was)
    f, c = torch.stack(extra["forget"], 1), torch.stack(extra["cell"], 1)  # [B, T, H]
    return {"forget_mean": f.mean((0, 2)).tolist(), "forget_example": f[0].tolist(),
            "cell_example": c[0].tolist(), "cell_abs_mean": c.abs().mean((0, 2)).tolist()}


def deep_pair(depth: int, width: int = 32, seed: int = 0) -> dict[str, NetworkSpec]:
    """A plain and a residual deep net built like the RNN unrolled: tanh, no batch norm,
    pre-activation blocks (y = x + W2 tanh(W1 tanh x)), so depth plays the role of T.
    PyTorch's default init, as the RNN cells have it (He init's larger weights would make the
    plain tanh stack explode rather than vanish, and the comparison with time would be lost)."""
    base = NetworkSpec(family="residual", ordering="full_preact", depth=depth, width=width,
                       norm=False, activation="tanh", seed=seed, init="pytorch")
    return {"plain": base.replace(family="plain"), "residual": base}


def matching_depth(length: int) -> int:
    """Blocks of a deep net with as many weight layers as a T-step RNN has steps: each
    block holds two layers, each RNN step one (capped at the largest buildable depth)."""
    return max(1, min(MAX_DEPTH, (length + 1) // 2))


def depth_grad_norms(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """||dL/dh_l|| for the output of every block l = 1..L: the same measurement as
    state_grad_norms, across depth instead of time."""
    was = model.training
    model.eval()
    with torch.enable_grad():
        hs = model.features(x)
        grads = torch.autograd.grad(F.cross_entropy(model.head(hs[-1]), y), hs[1:])
    model.train(was)
    return [float(g.norm()) for g in grads]


def depth_profile(depth: int, width: int = 32, seed: int = 0, n: int = 400) -> dict[str, list[float]]:
    """Per-block hidden-state gradient norms of the untrained plain and residual deep nets,
    on two-spirals, computed in float64 so that tiny values are measured, not rounded to 0."""
    data = load("spirals", n, 0.1, seed)
    x = data.x_train.double()  # float64: a deep plain net's gradient underflows float32
    return {k: depth_grad_norms(build(s).double(), x, data.y_train)
            for k, s in deep_pair(depth, width, seed).items()}
