"""build(spec) -> a network whose blocks are addressable and switchable after training."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from resviz.blocks import Block, GatedBlock, HighwayBlock, ResidualBlock, activation
from resviz.init import materialise
from resviz.spec import NetworkSpec


class ResVizNet(nn.Module):
    """stem -> blocks[0..depth-1] -> head. `blocks[i]` is the unit every probe addresses."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.spec = spec
        w, conv = spec.width, spec.conv
        if conv:
            self.stem: nn.Module = nn.Conv2d(spec.input_shape[0], w, 3, padding=1)
            pool: nn.Module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        else:
            self.stem = nn.Linear(spec.input_shape[0], w)
            pool = nn.Identity()
        self.blocks = nn.ModuleList(_make_block(spec) for _ in range(spec.depth))
        self.head = nn.Sequential(activation(spec.activation), pool, nn.Linear(w, spec.n_classes))
        for block, on in zip(self.blocks, spec.skip_mask):
            block.set_skip(on)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stem output and every block's output, in order (length depth + 1)."""
        hs = [self.stem(x)]
        for block in self.blocks:
            hs.append(block(hs[-1]))
        return hs

    @property
    def skips(self) -> list[bool]:
        return [b.skip_on for b in self.blocks]

    def set_skips(self, mask: Sequence[bool] | bool) -> None:
        if isinstance(mask, bool):
            mask = [mask] * len(self.blocks)
        for block, on in zip(self.blocks, mask):
            block.set_skip(on)

    def set_active(self, mask: Sequence[bool]) -> None:
        for block, on in zip(self.blocks, mask):
            block.active = bool(on)


def _make_block(spec: NetworkSpec) -> Block:
    common = dict(conv=spec.conv, use_norm=spec.norm, activation=spec.activation)
    if spec.family == "highway":
        return HighwayBlock(spec.width, gate_bias=spec.gate_bias, **common)
    if spec.family == "gated":
        return GatedBlock(spec.width, gate_bias=spec.gate_bias, **common)
    return ResidualBlock(spec.width, ordering=spec.ordering, **common)


def build(spec: NetworkSpec) -> ResVizNet:
    """Build deterministically from spec.seed and spec.init without touching the global RNG.

    The modules are made on the meta device (no draws at all), given real storage, and then
    every weight is drawn from a generator seeded by the spec: two threads building at once
    get exactly the weights each would get alone.
    """
    net = materialise(lambda: ResVizNet(spec), spec.init, torch.Generator().manual_seed(spec.seed))
    net.set_skips(list(spec.skip_mask))
    return net


@contextmanager
def block_attrs(model: ResVizNet, name: str, values: Sequence[object]) -> Iterator[ResVizNet]:
    """Set one switch on every block for the duration of a probe, then restore it."""
    old = [getattr(b, name) for b in model.blocks]
    try:
        for b, v in zip(model.blocks, values):
            setattr(b, name, v)
        yield model
    finally:
        for b, v in zip(model.blocks, old):
            setattr(b, name, v)


@contextmanager
def recording(model: ResVizNet) -> Iterator[ResVizNet]:
    with block_attrs(model, "record", [True] * len(model.blocks)):
        yield model


def block_parameters(model: ResVizNet) -> list[list[nn.Parameter]]:
    return [list(b.parameters()) for b in model.blocks]
