"""The shortcut variants of He et al. 2016 (Identity Mappings, Fig. 2 / Table 1) as real modules.

Each is the original residual unit y = ReLU(s(x) + F(x)) with something put on the
shortcut s. They exist so the gallery draws them from modules that run (the paper's lesson,
'keep the shortcut a clean identity', is then visible in the diagram: every extra node sits
on the path the gradient was meant to travel untouched). Built like the core blocks, so the
`skip` switch and the diagram's shortcut edge work the same way.

Paper, CIFAR-10 ResNet-110 error %: constant scaling 0.5/0.5 12.35, exclusive gating
(b_g = −6) 8.70, shortcut-only gating (b_g = −6) 6.91, 1×1 conv shortcut 12.22,
dropout shortcut (0.5) fails to train well.
"""

from __future__ import annotations

import torch
from torch import nn

from resviz.blocks import Block, layer, norm

VARIANTS: tuple[str, ...] = ("constant_scaling", "exclusive_gating", "shortcut_gating",
                             "conv_shortcut", "dropout_shortcut")


def _one_by_one(width: int, conv: bool) -> nn.Module:
    return nn.Conv2d(width, width, 1) if conv else nn.Linear(width, width)


class ShortcutVariantBlock(Block):
    """The original unit y = ReLU(s(x) + F(x)), F = BN(W2 ReLU(BN(W1 x))), with a variant shortcut.

    constant_scaling   s = λx and F scaled by 1 − λ (λ = 0.5)
    exclusive_gating   s = (1 − g(x)) x, F scaled by g(x); g = σ(W_g x + b_g)
    shortcut_gating    s = (1 − g(x)) x, F unscaled
    conv_shortcut      s = W_s x (a 1×1 convolution)
    dropout_shortcut   s = dropout(x, p)
    """

    kind = "shortcut"

    def __init__(self, width: int, variant: str = "constant_scaling", conv: bool = False,
                 use_norm: bool = True, scale: float = 0.5, gate_bias: float = -6.0,
                 p: float = 0.5) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        self._variant = variant
        self.scale = scale
        self.w1, self.w2 = layer(width, conv), layer(width, conv)
        self.n1, self.n2 = norm(width, conv, use_norm), norm(width, conv, use_norm)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()
        self.gate_bias = gate_bias
        if variant in ("exclusive_gating", "shortcut_gating"):
            self.g = _one_by_one(width, conv)
        elif variant == "conv_shortcut":
            self.proj = _one_by_one(width, conv)
        elif variant == "dropout_shortcut":
            self.drop = nn.Dropout(p)
        self.reset_special()

    def reset_special(self) -> None:
        """The gate bias b_g (the paper's −6: g starts near 0, so the shortcut (1 − g) x starts open)."""
        if hasattr(self, "g"):
            with torch.no_grad():
                self.g.bias.fill_(self.gate_bias)

    @property
    def variant(self) -> str:
        return self._variant

    @property
    def branch_output(self) -> nn.Module:
        return self.n2

    @property
    def gate_module(self) -> nn.Module | None:
        return getattr(self, "g", None) if self._variant == "exclusive_gating" else None

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.n2(self.w2(self.act1(self.n1(self.w1(x)))))

    def shortcut_and_branch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fx, v = self.branch(x), self.variant
        if v == "constant_scaling":
            return self.scale * x, (1 - self.scale) * fx
        if v in ("exclusive_gating", "shortcut_gating"):
            g = torch.sigmoid(self.g(x))
            return (1 - g) * x, (g * fx if v == "exclusive_gating" else fx)
        if v == "conv_shortcut":
            return self.proj(x), fx
        return self.drop(x), fx

    def block_forward(self, x: torch.Tensor) -> torch.Tensor:
        s, fx = self.shortcut_and_branch(x)
        fx = self._drop(fx)
        xs, fb = self._routed(s, fx)
        y = self.act2(xs * self.skip + fb)
        self._note(x, fx, y)
        return y
