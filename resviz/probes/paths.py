"""The ensemble view (Veit, Wilber, Belongie 2016): a residual net as 2^n paths.

n blocks unroll into 2^n paths; a path of length k goes through the residual branch of
k blocks and through the skip of the other n - k, so lengths are Binomial(n, 1/2).
The gradient carried by paths of length k is measured with Veit's masked backward:
one forward pass, then a backward pass in which k random blocks let the gradient through
their branch only and the others through their skip only; the norm at the input of the
first block, averaged over the examples, is one sample.

Two implementations give the same numbers:
- `masked_grad_naive`: one full forward + backward per sample (block.route switches).
- `path_gradients`: one forward for all samples; walking back block by block, every
  sample's cotangent goes through that block's branch-only or skip-only VJP, all samples
  of a kind together (torch.func.vjp + vmap). A skip-only VJP is cheap, so a sample
  costs real work only at its k chosen blocks.

The net is measured in eval mode: batch norm is then a fixed per-example map, so each
example's gradient is its own (in train mode BN would mix the batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.func import vjp, vmap

from resviz.blocks import Block
from resviz.models import ResVizNet, block_attrs

Progress = Callable[[float], None] | None


def path_counts(n: int) -> list[int]:
    """Number of paths of each length k = 0..n: C(n, k); they sum to 2^n."""
    return [math.comb(n, k) for k in range(n + 1)]


def path_subsets(n: int) -> list[tuple[int, ...]]:
    """Every path of an n-block net as the blocks whose branch it takes, shortest first."""
    subsets = [tuple(i for i in range(n) if m >> i & 1) for m in range(2 ** n)]
    return sorted(subsets, key=lambda s: (len(s), s))


def sample_masks(n: int, k: int, samples: int, gen: torch.Generator) -> torch.Tensor:
    """`samples` random choices of k of the n blocks, as a (samples, n) bool mask."""
    order = torch.rand(samples, n, generator=gen).argsort(1)
    mask = torch.zeros(samples, n, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask


def _loss(model: ResVizNet, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Summed (not averaged) loss, so each example's gradient does not shrink with the batch."""
    return nn.functional.cross_entropy(model.head(h), y, reduction="sum")


def _per_example_norm(g: torch.Tensor, example_dims: int) -> torch.Tensor:
    """Each example's gradient norm (its last `example_dims` dims), averaged over examples."""
    return g.flatten(-example_dims).norm(dim=-1).mean(-1)


def masked_grad_naive(model: ResVizNet, x: torch.Tensor, y: torch.Tensor,
                      mask: Sequence[bool]) -> float:
    """One sample the plain way: set the routes, forward, backward, norm at block 1's input."""
    was = model.training
    model.eval()
    routes = ["branch" if m else "skip" for m in mask]
    try:
        with block_attrs(model, "route", routes):
            h0 = model.stem(x).detach().requires_grad_(True)
            h = h0
            for block in model.blocks:
                h = block(h)
            (g,) = torch.autograd.grad(_loss(model, h, y), h0)
    finally:
        model.train(was)
    return float(_per_example_norm(g, g.dim() - 1))


def _routed_vjp(block: Block, h: torch.Tensor, route: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The VJP of one block at input h with the gradient let through `route` only."""
    old = block.route
    block.route = route
    try:
        _out, fn = vjp(block, h)
    finally:
        block.route = old
    return lambda v: fn(v)[0]


@dataclass
class _Op:
    """One block's routed VJP over many samples at once.

    Flat features: v is (batch, samples, width) and each example's Jacobian (built once
    from `width` VJPs) is applied to all samples as one bmm; a diagonal Jacobian (a skip
    with an elementwise activation) is kept as its diagonal. Images: v is (samples, batch,
    ...) and the VJP is vmapped over samples.
    """

    fn: Callable[[torch.Tensor], torch.Tensor]
    jac: torch.Tensor | None = None
    diag: torch.Tensor | None = None

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if self.diag is not None:
            return v.mul_(self.diag)  # v is the caller's scratch tensor
        if self.jac is not None:
            return torch.bmm(v, self.jac)
        return vmap(self.fn)(v)


def _as_op(fn: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor) -> _Op:
    if h.dim() != 2:
        return _Op(fn)
    w = h.shape[1]
    basis = torch.eye(w, dtype=h.dtype, device=h.device).unsqueeze(1).expand(w, *h.shape)
    jac = vmap(fn)(basis).permute(1, 0, 2).contiguous()  # (batch, out, in)
    diag = torch.diagonal(jac, dim1=1, dim2=2)
    if torch.equal(jac, torch.diag_embed(diag)):
        return _Op(fn, diag=diag.unsqueeze(1).contiguous())
    return _Op(fn, jac=jac)


@torch.no_grad()
def _states(model: ResVizNet, x: torch.Tensor) -> list[torch.Tensor]:
    return [h.detach() for h in model.features(x)]


CHUNK_ELEMENTS = 2 ** 22  # cotangent elements walked back at once (16 MiB of float32)


def masked_grads(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, masks: torch.Tensor,
                 chunk: int | None = None, progress: Progress = None) -> torch.Tensor:
    """The masked-backward norm of every row of `masks` (samples, n), from one forward pass."""
    was = model.training
    model.eval()
    try:
        hs = _states(model, x)
        hn = hs[-1].clone().requires_grad_(True)
        (g_out,) = torch.autograd.grad(_loss(model, hn, y), hn)
        with torch.no_grad():
            ops = [(_as_op(_routed_vjp(b, h, "branch"), h), _as_op(_routed_vjp(b, h, "skip"), h))
                   for b, h in zip(model.blocks, hs[:-1])]
        chunk = chunk or max(1, CHUNK_ELEMENTS // g_out.numel())
        out: list[torch.Tensor] = []
        for i in range(0, len(masks), chunk):
            out.append(_backward_chunk(ops, g_out.detach(), masks[i:i + chunk].to(g_out.device)).cpu())
            if progress is not None:
                progress(min(1.0, (i + chunk) / len(masks)))
    finally:
        model.train(was)
    return torch.cat(out) if out else torch.zeros(0)


RESCALE_EVERY = 6  # blocks between rescalings: keeps float32 away from denormals at large k


@torch.no_grad()
def _backward_chunk(ops: list[tuple[_Op, _Op]], g_out: torch.Tensor,
                    masks: torch.Tensor) -> torch.Tensor:
    """Walk every sample's cotangent back from the output; returns float64 norms.

    Magnitudes fall like c^k, below float32's range for long paths, so each sample is
    rescaled now and then and its log-scale kept aside (the backward is linear in v).
    """
    flat = g_out.dim() == 2
    sd = 1 if flat else 0  # the samples' dimension of v
    s = len(masks)
    v = (g_out.unsqueeze(1).expand(-1, s, -1) if flat else g_out.expand(s, *g_out.shape)).clone()
    log_scale = torch.zeros(s, dtype=torch.float64, device=v.device)
    for j in range(len(ops) - 1, -1, -1):
        branch, skip = ops[j]
        sel = masks[:, j]
        n_sel = int(sel.sum())
        if n_sel == s:
            v = branch(v)
        elif n_sel == 0:
            v = skip(v)
        else:
            idx = sel.nonzero().squeeze(1)
            through = branch(v.index_select(sd, idx))
            v = skip(v)
            v.index_copy_(sd, idx, through)
        if j % RESCALE_EVERY == 0:
            per = v.abs().amax(dim=[d for d in range(v.dim()) if d != sd]).clamp_min(1e-30)
            v = v / (per.unsqueeze(0).unsqueeze(-1) if flat else per.view(-1, *[1] * (v.dim() - 1)))
            log_scale += per.double().log()
    if flat:
        v = v.transpose(0, 1)
    norms = v.flatten(2).double().norm(dim=-1).mean(-1)
    return norms * log_scale.exp()


@dataclass
class PathGradients:
    """Gradient magnitude per path length, its spread, and each length's total share."""

    depth: int
    ks: list[int]
    counts: list[int]
    mean: list[float]
    std: list[float]
    p10: list[float]
    p90: list[float]
    contribution: list[float]
    samples: int

    def to_dict(self) -> dict:
        return asdict(self)


def path_gradients(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, samples: int = 100,
                   seed: int = 0, ks: Sequence[int] | None = None,
                   progress: Progress = None) -> PathGradients:
    """Veit's measurement for every k: `samples` random masks per k, fast masked backward."""
    n = len(model.blocks)
    ks = list(range(n + 1)) if ks is None else list(ks)
    gen = torch.Generator().manual_seed(seed)
    counts = path_counts(n)
    masks = torch.cat([sample_masks(n, k, samples, gen) for k in ks])
    rows = masked_grads(model, x, y, masks, progress=progress).reshape(len(ks), samples).numpy()
    mean = [float(r.mean()) for r in rows]
    return PathGradients(
        depth=n, ks=ks, counts=[counts[k] for k in ks], mean=mean,
        std=[float(r.std()) for r in rows],
        p10=[float(np.percentile(r, 10)) for r in rows],
        p90=[float(np.percentile(r, 90)) for r in rows],
        contribution=[counts[k] * m for k, m in zip(ks, mean)], samples=samples)


def path_gradients_naive(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, samples: int = 100,
                         seed: int = 0, ks: Sequence[int] | None = None) -> list[list[float]]:
    """The same samples as `path_gradients` (same seed), one full backward each: a baseline."""
    n = len(model.blocks)
    ks = list(range(n + 1)) if ks is None else list(ks)
    gen = torch.Generator().manual_seed(seed)
    return [[masked_grad_naive(model, x, y, m.tolist()) for m in sample_masks(n, k, samples, gen)]
            for k in ks]


@dataclass
class Band:
    """The shortest run of path lengths [lo, hi] holding `share` of the total contribution."""

    lo: int
    hi: int
    share: float
    path_fraction: float  # fraction of all 2^n paths whose length is in the band


def effective_band(ks: Sequence[int], contribution: Sequence[float], share: float = 0.9) -> Band:
    c = np.maximum(np.asarray(contribution, dtype=float), 0.0)
    total = c.sum()
    n = max(ks)
    if not total > 0:
        return Band(ks[0], ks[-1], 0.0, 1.0)
    csum = np.concatenate([[0.0], np.cumsum(c)])
    best = (0, len(c) - 1)
    for a in range(len(c)):
        b = int(np.searchsorted(csum, csum[a] + share * total - 1e-12 * total))
        if b <= len(c) and b - 1 - a < best[1] - best[0]:
            best = (a, max(a, b - 1))
    a, b = best
    counts = path_counts(n)
    frac = sum(counts[k] for k in ks[a:b + 1]) / 2 ** n
    return Band(ks[a], ks[b], float(c[a:b + 1].sum() / total), frac)
