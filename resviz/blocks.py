"""The blocks: residual in the five unit orderings of He et al. 2016, highway, gated.

Every block carries switches that the probes and pages flip on a built (even trained)
model without rebuilding it:

- `skip`      1.0 = shortcut on, 0.0 = removed (the block becomes a plain block).
- `active`    False = the block is deleted: y = x (Veit et al.'s lesion).
- `route`     None | "branch" | "skip": Veit's masked backward. Forward values are
              unchanged; the gradient flows only through the residual branch
              (x.detach() + f(x)) or only through the shortcut (x + f(x).detach()).
- `survival`  stochastic-depth survival probability (Huang et al. 2016); 1.0 = off.
              The keep/drop coins come from `coins`, a generator the trainer seeds from
              the run's seed (`install_stochastic_depth`), never from the global one.
- `record`    when True, the block stores what it added: ||f(x)|| / ||x|| and output std.

Every block also describes itself, so probes never look inside it: `branch_output` is the
module whose output is the residual branch (what the block adds, before any gate),
`gate_module` the layer whose sigmoid is the learned gate on the branch (None: no learned
gate), `openable` whether it has the highway `openness` knob, and `describe()` says all of
that (and its kind and variant) as plain data.

Plain nets are residual blocks with `skip = 0`, so "skip off" is exactly the plain block.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from resviz import seeds
from resviz.registry import ACTIVATIONS


def activation(name: str) -> nn.Module:
    """A fresh activation module from the one registry (resviz.registry.ACTIVATIONS)."""
    return ACTIVATIONS[name].module()


def layer(width: int, conv: bool) -> nn.Module:
    """The weight layer of a block: Linear for points, 3x3 same-size conv for images."""
    if conv:
        return nn.Conv2d(width, width, 3, padding=1, bias=False)
    return nn.Linear(width, width)


def norm(width: int, conv: bool, on: bool) -> nn.Module:
    if not on:
        return nn.Identity()
    return nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width)


class Block(nn.Module):
    """Shared switches and the combine step; subclasses define the branch and gates."""

    kind = "block"
    openable = False  # True: the block has the highway `openness` knob

    @property
    def variant(self) -> str | None:
        """Which version of its kind (a residual ordering, a shortcut variant); None = one."""
        return None

    @property
    def branch_output(self) -> nn.Module:
        """The module whose output is the residual branch f(x): attribute and probe it there."""
        raise NotImplementedError(f"{type(self).__name__} does not say where its branch ends")

    @property
    def gate_module(self) -> nn.Module | None:
        """The layer whose sigmoid gates the branch (its bias is b_T); None = no learned gate."""
        return None

    @property
    def label(self) -> str:
        return f"{self.kind} · {self.variant}" if self.variant else self.kind

    def describe(self) -> dict[str, object]:
        """The block as plain data: kind, variant, where its branch ends and its gate is."""
        names = {id(m): n for n, m in self.named_modules()}
        gate = self.gate_module
        return {"kind": self.kind, "variant": self.variant, "label": self.label,
                "branch_output": names.get(id(self.branch_output)),
                "gate": None if gate is None else names.get(id(gate)),
                "openable": self.openable, "skip_on": self.skip_on, "active": self.active}

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("skip", torch.tensor(1.0))
        self.active = True
        self.route: str | None = None
        self.survival = 1.0
        self.coins: torch.Generator | None = None  # stochastic-depth coins (see _drop)
        self.record = False
        self.stats: dict[str, float] = {}

    @property
    def skip_on(self) -> bool:
        return bool(self.skip.item() > 0.5)

    def set_skip(self, on: bool | float) -> None:
        self.skip.fill_(float(on))

    def reset_buffers(self) -> None:
        """Give the block's own buffers their starting values (after `to_empty`)."""
        self.skip.fill_(1.0)

    def _routed(self, x: torch.Tensor, fx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.route == "branch":
            return x.detach(), fx
        if self.route == "skip":
            return x, fx.detach()
        return x, fx

    def _drop(self, fx: torch.Tensor) -> torch.Tensor:
        """Stochastic depth: drop the whole branch in training, scale by p at test.

        The coin is drawn on the CPU from the block's own generator, so a run is the same in
        any thread and on any device (and a CUDA run needs no device-side generator).
        """
        if self.survival >= 1.0:
            return fx
        if self.training:
            if self.coins is None:  # set without install_stochastic_depth: still no global RNG
                self.coins = seeds.generator(0, "stochastic depth")
            keep = float(torch.rand((), generator=self.coins)) < self.survival
            return fx if keep else fx * 0.0
        return fx * self.survival

    def _note(self, x: torch.Tensor, fx: torch.Tensor, y: torch.Tensor) -> None:
        if self.record:
            with torch.no_grad():
                self.stats = {
                    "branch_ratio": float(fx.norm() / x.norm().clamp_min(1e-12)),
                    "out_std": float(y.std()),
                }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return x
        return self.block_forward(x)

    def block_forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def survival_schedule(depth: int, p_last: float) -> list[float]:
    """Huang et al. 2016 linear decay: p_l = 1 - (l / L)(1 - p_L), l = 1..L."""
    return [1 - (i + 1) / depth * (1 - p_last) for i in range(depth)]


def install_stochastic_depth(blocks: Iterable[Block], p_last: float | None, seed: int) -> None:
    """Give the blocks Huang et al.'s survival schedule and one coin generator seeded by `seed`.

    The blocks of one model share one generator and draw in forward order, so a run is fixed
    by (model, seed) alone: the same in one thread or many. `p_last=None` turns it off.
    """
    blocks = list(blocks)
    if p_last is None:
        for b in blocks:
            b.survival, b.coins = 1.0, None
        return
    coins = seeds.generator(seed, "stochastic depth")
    for b, p in zip(blocks, survival_schedule(len(blocks), p_last)):
        b.survival, b.coins = p, coins


class ResidualBlock(Block):
    """Two weight layers and a shortcut, in one of He et al. 2016's five orderings.

    original         y = relu(x + BN(W2 relu(BN(W1 x))))
    bn_after_add     y = relu(BN(x + W2 relu(BN(W1 x))))
    relu_before_add  y = x + relu(BN(W2 relu(BN(W1 x))))
    relu_preact      y = x + BN(W2 relu(BN(W1 relu(x))))
    full_preact      y = x + W2 relu(BN(W1 relu(BN(x))))
    """

    kind = "residual"
    # The last module of `branch()` in each ordering: where the branch's value comes out.
    BRANCH_END = {"original": "n2", "relu_before_add": "act2", "bn_after_add": "w2",
                  "relu_preact": "n2", "full_preact": "w2"}

    @property
    def variant(self) -> str:
        return self.ordering

    @property
    def branch_output(self) -> nn.Module:
        return getattr(self, self.BRANCH_END[self.ordering])

    def __init__(self, width: int, ordering: str = "original", conv: bool = False,
                 use_norm: bool = True, activation: str = "relu") -> None:
        super().__init__()
        self.ordering = ordering
        act = ACTIVATIONS[activation].module
        self.w1, self.w2 = layer(width, conv), layer(width, conv)
        self.n1, self.n2 = norm(width, conv, use_norm), norm(width, conv, use_norm)
        self.act1, self.act2 = act(), act()

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        o = self.ordering
        if o in ("original", "relu_before_add"):
            h = self.n2(self.w2(self.act1(self.n1(self.w1(x)))))
            return self.act2(h) if o == "relu_before_add" else h
        if o == "bn_after_add":
            return self.w2(self.act1(self.n1(self.w1(x))))
        if o == "relu_preact":
            return self.n2(self.w2(self.act2(self.n1(self.w1(self.act1(x))))))
        return self.w2(self.act2(self.n2(self.w1(self.act1(self.n1(x))))))  # full_preact

    def block_forward(self, x: torch.Tensor) -> torch.Tensor:
        fx = self._drop(self.branch(x))
        xs, fb = self._routed(x, fx)
        y = xs * self.skip + fb
        if self.ordering == "original":
            y = self.act2(y)
        elif self.ordering == "bn_after_add":
            y = self.act2(self.n2(y))
        self._note(x, fx, y)
        return y


class HighwayBlock(Block):
    """Srivastava et al. 2015: y = H(x) T(x) + x (1 - T(x)), T = sigmoid(W_T x + b_T).

    `gate` fixes T to a constant (0 = identity, 1 = the plain block H) when not None.
    `openness` in [0, 1] moves both gates toward fully open: at 1, y = H(x) + x,
    the residual block — a residual block is a highway block with both gates held open.
    """

    kind = "highway"
    openable = True

    @property
    def branch_output(self) -> nn.Module:
        return self.h

    @property
    def gate_module(self) -> nn.Module:
        return self.t

    def __init__(self, width: int, conv: bool = False, use_norm: bool = True,
                 activation: str = "relu", gate_bias: float = -2.0) -> None:
        super().__init__()
        act = ACTIVATIONS[activation].module
        self.h = nn.Sequential(layer(width, conv), norm(width, conv, use_norm), act())
        self.t = nn.Conv2d(width, width, 1) if conv else nn.Linear(width, width)
        self.gate_bias = gate_bias
        self.reset_special()
        self.gate: float | None = None
        self.openness = 0.0
        self.last_gate: torch.Tensor | None = None

    def reset_special(self) -> None:
        """b_T starts negative so the net starts close to the identity (Srivastava et al.)."""
        with torch.no_grad():
            self.t.bias.fill_(self.gate_bias)

    def transform_gate(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            return torch.full_like(x, float(self.gate))
        return torch.sigmoid(self.t(x))

    def block_forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.transform_gate(x)
        if self.record:
            self.last_gate = t.detach()
        a = self.openness
        t_eff, c_eff = (1 - a) * t + a, (1 - a) * (1 - t) + a
        fx = self._drop(self.h(x) * t_eff)
        xs, fb = self._routed(x * c_eff, fx)
        y = xs * self.skip + fb
        self._note(x, fx, y)
        return y


class GatedBlock(Block):
    """LSTM-style: learned carry gate on the shortcut and input gate on the branch.

    y = c(x) * x + i(x) * H(x); c = sigmoid(W_c x + b_c), i = sigmoid(W_i x + b_i).
    Like the cell state c_t = f_t c_{t-1} + i_t g_t. With `gate` held at 1 (both open)
    it is the pre-activation residual block y = x + H(x).
    """

    kind = "gated"

    @property
    def branch_output(self) -> nn.Module:
        return self.h

    @property
    def gate_module(self) -> nn.Module:
        return self.inp

    def __init__(self, width: int, conv: bool = False, use_norm: bool = True,
                 activation: str = "relu", gate_bias: float = 2.0) -> None:
        super().__init__()
        act = ACTIVATIONS[activation].module
        self.h = nn.Sequential(norm(width, conv, use_norm), act(), layer(width, conv),
                               norm(width, conv, use_norm), act(), layer(width, conv))
        gate = (lambda: nn.Conv2d(width, width, 1)) if conv else (lambda: nn.Linear(width, width))
        self.carry, self.inp = gate(), gate()
        self.gate_bias = gate_bias
        self.reset_special()
        self.gate: float | None = None
        self.last_gate: torch.Tensor | None = None

    def reset_special(self) -> None:
        """Carry gate starts open, input gate nearly shut: the block starts near the identity."""
        with torch.no_grad():
            self.carry.bias.fill_(abs(self.gate_bias))
            self.inp.bias.fill_(-abs(self.gate_bias))

    def block_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            c = i = torch.full_like(x, float(self.gate))
        else:
            c, i = torch.sigmoid(self.carry(x)), torch.sigmoid(self.inp(x))
        if self.record:
            self.last_gate = i.detach()
        fx = self._drop(i * self.h(x))
        xs, fb = self._routed(c * x, fx)
        y = xs * self.skip + fb
        self._note(x, fx, y)
        return y
