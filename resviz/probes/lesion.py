"""Lesion studies (Veit et al. 2016): delete blocks or shuffle their order, measure accuracy.

A deleted block becomes its skip, y_i = y_{i-1} (`block.active = False`); in a plain net
that is the layer replaced by identity. The views that disagree about residual nets
disagree here: if a ResNet were one deep chain, removing a link would break it; if it
behaves like an ensemble of paths, removing a block only removes half of the paths,
and accuracy degrades gently.

Lesions are evaluated by gating, never by rebuilding: `masked_logits` runs many lesion
masks in one pass, each block applied only to the rows of the masks that keep it
(eval mode, where batch norm is per example, makes the rows independent).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from resviz.models import ResVizNet
from resviz.train import evaluate

CHUNK_ELEMENTS = 2 ** 22  # activations run through a block at once (16 MiB of float32)


@torch.no_grad()
def masked_logits(model: ResVizNet, x: torch.Tensor, masks: torch.Tensor,
                  chunk: int | None = None) -> torch.Tensor:
    """Logits (masks, batch, classes) with block j applied only where masks[:, j] is True.

    Blocks the model already has switched off (active False) stay off in every row.
    """
    was = model.training
    model.eval()
    try:
        h0 = model.stem(x)
        chunk = chunk or max(1, CHUNK_ELEMENTS // h0.numel())
        masks = masks.to(h0.device)
        out = [_run_chunk(model, h0, masks[i:i + chunk]) for i in range(0, len(masks), chunk)]
    finally:
        model.train(was)
    return torch.cat(out)


def _run_chunk(model: ResVizNet, h0: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    m, b = masks.shape[0], h0.shape[0]
    v = h0.unsqueeze(0).expand(m, *h0.shape).clone()
    for j, block in enumerate(model.blocks):
        keep = masks[:, j]
        if bool(keep.all()):
            v = block(v.flatten(0, 1)).view(v.shape)
        elif bool(keep.any()):
            idx = keep.nonzero().squeeze(1)
            sub = v.index_select(0, idx)
            v.index_copy_(0, idx, block(sub.flatten(0, 1)).view(sub.shape))
    return model.head(v.flatten(0, 1)).view(m, b, -1)


def accuracies(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """Test accuracy of the model under each lesion mask (True = block kept)."""
    logits = masked_logits(model, x, masks)
    return (logits.argmax(-1) == y.unsqueeze(0)).float().mean(1).cpu().numpy()


def delete_each(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Accuracy with block i deleted, for every i (one batched pass)."""
    n = len(model.blocks)
    return accuracies(model, x, y, ~torch.eye(n, dtype=torch.bool)).tolist()


def delete_each_naive(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The baseline: rebuild the net without block i and evaluate it, for every i."""
    out = []
    for i in range(len(model.blocks)):
        net = copy.deepcopy(model)
        del net.blocks[i]
        out.append(evaluate(net, x, y)[1])
    return out


DRAWS = 30  # random draws per k: enough for a mean and a 10-90% band that do not jump between seeds
BAND = (10, 90)  # percentiles of the band drawn around the mean


def random_deletions(n: int, k: int, draws: int, gen: torch.Generator, spare: int = 0) -> torch.Tensor:
    """`draws` masks that each delete k distinct random blocks (True = kept).

    The first `spare` blocks are never drawn (Veit et al. leave the downsampling blocks out
    of random deletions; here the first block plays that part: it remaps the stem's features).
    """
    if not 0 <= k <= n - spare:
        raise ValueError(f"cannot delete {k} of {n - spare} deletable blocks")
    order = torch.rand(draws, n - spare, generator=gen).argsort(1) + spare
    keep = torch.ones(draws, n, dtype=torch.bool)
    keep.scatter_(1, order[:, :k], False)
    return keep


def delete_k(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, ks: Sequence[int],
             draws: int = DRAWS, seed: int = 0, spare: int = 0) -> dict[int, list[float]]:
    """Accuracy after deleting k random blocks (never one of the first `spare`), `draws` draws per k."""
    n = len(model.blocks)
    gen = torch.Generator().manual_seed(seed)
    masks = torch.cat([random_deletions(n, k, draws, gen, spare) for k in ks])
    acc = accuracies(model, x, y, masks).reshape(len(ks), draws)
    return {int(k): acc[i].tolist() for i, k in enumerate(ks)}


def band(values: Sequence[float], percentiles: tuple[float, float] = BAND) -> dict[str, float]:
    """Mean and a percentile band of one k's draws: {'mean', 'lo', 'hi'}."""
    v = np.asarray(values, dtype=float)
    lo, hi = np.percentile(v, percentiles)
    return {"mean": float(v.mean()), "lo": float(lo), "hi": float(hi)}


def deletion_cost(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Accuracy lost when block i alone is deleted (intact accuracy − accuracy without block i).

    The behavioural definition of a block the net uses: what it costs to take it away.
    """
    n = len(model.blocks)
    masks = torch.cat([torch.ones(1, n, dtype=torch.bool), ~torch.eye(n, dtype=torch.bool)])
    acc = accuracies(model, x, y, masks)
    return (acc[0] - acc[1:]).tolist()


def kendall_tau(perm: Sequence[int]) -> float:
    """Kendall's rank correlation of an order with 0..n-1 (1 = unchanged, -1 = reversed)."""
    p = np.asarray(perm)
    n = len(p)
    if n < 2:
        return 1.0
    i, j = np.triu_indices(n, 1)
    s = np.sign(p[j] - p[i])
    return float(s.sum() / len(s))


def swap_pairs(n: int, k: int, gen: torch.Generator) -> list[int]:
    """The order 0..n-1 after swapping k random pairs of positions (none when n < 2)."""
    perm = list(range(n))
    for _ in range(k if n >= 2 else 0):
        a, b = torch.randperm(n, generator=gen)[:2].tolist()
        perm[a], perm[b] = perm[b], perm[a]
    return perm


@torch.no_grad()
def permuted_accuracy(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, perm: Sequence[int]) -> float:
    """Accuracy with the blocks run in the order `perm` (same weights, no rebuilding)."""
    was = model.training
    model.eval()
    try:
        h = model.stem(x)
        for i in perm:
            h = model.blocks[i](h)
        acc = (model.head(h).argmax(1) == y).float().mean().item()
    finally:
        model.train(was)
    return acc


@dataclass
class ReorderPoint:
    swaps: int
    tau: float
    accuracy: float
    perm: list[int]


def reorder(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, swaps: Sequence[int],
            draws: int = 5, seed: int = 0, spare: int = 0) -> list[dict]:
    """Accuracy after swapping k random pairs of blocks, against Kendall's tau of the order.

    The first `spare` blocks keep their place (as in `random_deletions`).
    """
    n = len(model.blocks)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k in swaps:
        for _ in range(draws):
            perm = list(range(spare)) + [spare + i for i in swap_pairs(n - spare, k, gen)]
            out.append(asdict(ReorderPoint(int(k), kendall_tau(perm),
                                           permuted_accuracy(model, x, y, perm), perm)))
    return out
