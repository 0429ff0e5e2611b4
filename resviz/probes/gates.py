"""Gate probes for highway (and gated) nets, after Srivastava et al. 2015, Figure 2.

What the paper plotted, measured on our own nets: the transform-gate biases per block
and unit, the mean gate activity per block over a data set, the gate pattern of one
example (block x unit), and the block outputs; and a lesion that forces chosen blocks'
gates shut (T = 0, carry only: the block becomes the identity) to find idle blocks.
`openness` moves highway blocks toward the residual block (both gates held open).
Every probe restores the model's switches; none draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch

from resviz.blocks import Block
from resviz.models import ResVizNet, block_attrs, recording
from resviz.train import evaluate

IDLE_DROP = 0.01  # a block whose lesion costs at most this much accuracy counts as idle


def gated_blocks(model: ResVizNet) -> list[Block]:
    """The blocks that say they have a learned gate (Block.gate_module)."""
    return [b for b in model.blocks if b.gate_module is not None]


def _openable(blocks: Iterable[Block]) -> bool:
    return all(b.openable for b in blocks)


def _require_gates(model: ResVizNet) -> list[Block]:
    blocks = gated_blocks(model)
    if len(blocks) != len(model.blocks):
        raise ValueError("gate probes need a highway or gated net (every block gated)")
    return blocks


def _per_unit(t: torch.Tensor) -> torch.Tensor:
    """[N, C] gates: conv gates [N, C, H, W] are averaged over space."""
    return t.flatten(2).mean(2) if t.dim() > 2 else t


def transform_biases(model: ResVizNet) -> list[list[float]]:
    """b_T per block and unit (for gated blocks: the input gate's bias)."""
    out = []
    for b in _require_gates(model):
        out.append(b.gate_module.bias.detach().cpu().tolist())
    return out


def _openness(model: ResVizNet, value: float) -> AbstractContextManager:
    """Hold every highway block at openness `value` (gated blocks have no such knob)."""
    if not _openable(model.blocks):
        if value:
            raise ValueError("gate openness applies to highway nets only")
        return nullcontext()
    return block_attrs(model, "openness", [float(value)] * len(model.blocks))


@torch.no_grad()
def gate_maps(model: ResVizNet, x: torch.Tensor, example: int = 0,
              openness: float | None = None) -> dict[str, list]:
    """The four maps of Srivastava et al.'s Figure 2, plus per-block means.

    Gate values are the effective transform gate t_eff = (1 - a) T(x) + a at openness a
    (at a = 0 the learned gate itself); `openness` None keeps each block's own setting.
    Returns JSON-friendly lists: biases / mean_gate / example_gate / example_output:
    [block][unit]; mean_per_block: [block]; example: the example's index.
    """
    blocks = _require_gates(model)
    was = model.training
    model.eval()
    example = int(min(max(example, 0), len(x) - 1))
    with recording(model), nullcontext() if openness is None else _openness(model, openness):
        hs = model.features(x)
        gates = []
        for b in blocks:
            a = float(getattr(b, "openness", 0.0))
            gates.append((1 - a) * _per_unit(b.last_gate) + a)
    model.train(was)
    g = torch.stack(gates)  # [depth, N, units]
    outs = torch.stack([_per_unit(h) for h in hs[1:]])
    return {"biases": transform_biases(model), "mean_gate": g.mean(1).cpu().tolist(),
            "mean_per_block": g.mean((1, 2)).cpu().tolist(),
            "example_gate": g[:, example].cpu().tolist(),
            "example_output": outs[:, example].cpu().tolist(), "example": example}


def mean_gate_per_block(model: ResVizNet, x: torch.Tensor,
                        openness: float | None = None) -> list[float]:
    """Mean (effective) transform-gate activity per block over the examples in x."""
    return gate_maps(model, x, openness=openness)["mean_per_block"]


def lesion_accuracy(model: ResVizNet, x: torch.Tensor, y: torch.Tensor,
                    shut: Iterable[int] = ()) -> float:
    """Accuracy with the gates of the blocks in `shut` (0-based) forced shut: T = 0 and no
    openness, so those blocks only carry their input (y = x). Other blocks are untouched."""
    blocks = _require_gates(model)
    shut = set(shut)
    with block_attrs(model, "gate", [0.0 if i in shut else b.gate for i, b in enumerate(blocks)]):
        if not _openable(blocks):
            return evaluate(model, x, y)[1]
        opens = [0.0 if i in shut else b.openness for i, b in enumerate(blocks)]
        with block_attrs(model, "openness", opens):
            return evaluate(model, x, y)[1]


def lesion_each(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> dict[str, object]:
    """Shut one block's gates at a time: accuracy per block, the intact accuracy, and
    which blocks are idle (the lesion costs at most IDLE_DROP)."""
    base = lesion_accuracy(model, x, y)
    accs = [lesion_accuracy(model, x, y, [i]) for i in range(len(model.blocks))]
    idle = [i for i, a in enumerate(accs) if base - a <= IDLE_DROP]
    return {"intact": base, "per_block": accs, "idle": idle}


def openness_sweep(model: ResVizNet, x: torch.Tensor, y: torch.Tensor,
                   values: Sequence[float]) -> list[float]:
    """Accuracy of a highway net as its gates are pushed open toward a residual net."""
    _require_gates(model)
    out = []
    for a in values:
        with _openness(model, a):
            out.append(evaluate(model, x, y)[1])
    return out
