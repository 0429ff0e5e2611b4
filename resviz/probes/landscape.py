"""Loss landscapes (Li et al. 2018): the loss on a slice theta + a d1 + b d2 of parameter space.

Random directions are filter-normalised: each filter (a conv output channel, or a neuron's
incoming weights) of a direction is rescaled to the norm of the same filter of the weights,
so the plot is not distorted by the scale invariance that BatchNorm gives each filter. Bias
and BatchNorm entries of a direction are zero, so only weight matrices move.

The loss is evaluated in eval mode (BatchNorm running statistics), so the centre of the grid
is exactly the model's own evaluation loss. Two evaluators give the same numbers:
"vmap" batches grid points through torch.func.functional_call (what pays on a GPU) and
"loop" writes each point's weights into one flat buffer and runs the model (the CPU baseline).
This module measures; it never draws and never caches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

Tensors = dict[str, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]
METHODS = ("auto", "vmap", "loop")
STAT_NAMES = ("running_mean", "running_var")
CPU_BUDGET = 2**24  # bytes of activations one vmap chunk may hold on a CPU (cache friendly)
GPU_BUDGET = 2**30


@dataclass(frozen=True)
class LandscapeSpec:
    """Settings of one landscape: grid points per axis, half-width of the grid, direction seed."""

    grid: int = 31
    span: float = 1.0
    seed: int = 0
    line_points: int = 41

    def __post_init__(self) -> None:
        if not 3 <= self.grid <= 101:
            raise ValueError(f"grid must be between 3 and 101 points per axis; got {self.grid}")
        if not 0 < self.span <= 10:
            raise ValueError(f"span must be in (0, 10]; got {self.span}")
        if not 3 <= self.line_points <= 401:
            raise ValueError(f"line_points must be between 3 and 401; got {self.line_points}")

    @property
    def axis(self) -> np.ndarray:
        return np.linspace(-self.span, self.span, self.grid)


@dataclass(frozen=True)
class HessianSpec:
    """Li et al.'s full-Hessian map: a coarse grid (each point costs `iters` Hessian-vector
    products) over the same plane and span as the loss grid, and the Lanczos iterations."""

    grid: int = 9
    iters: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.grid <= 21:
            raise ValueError(f"Hessian grid must be between 1 and 21 points per axis; got {self.grid}")
        if not 2 <= self.iters <= 200:
            raise ValueError(f"Lanczos iterations must be between 2 and 200; got {self.iters}")

    def axis(self, span: float) -> np.ndarray:
        return np.linspace(-span, span, self.grid) if self.grid > 1 else np.zeros(1)


def weights(model: nn.Module) -> Tensors:
    return {k: v.detach() for k, v in model.named_parameters()}


def filter_normalize(direction: Tensors, theta: Tensors) -> Tensors:
    """Rescale each filter (index along dim 0) of `direction` to the norm of theta's filter.

    Entries of tensors with one dimension or fewer (biases, BatchNorm scale and shift) are
    set to zero: Li et al. keep them fixed because they do not scale with their filter.
    """
    out = {}
    for k, d in direction.items():
        w = theta[k]
        if w.dim() <= 1:
            out[k] = torch.zeros_like(w)
            continue
        dn = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        wn = w.flatten(1).norm(dim=1)
        out[k] = d * (wn / dn).view(-1, *([1] * (d.dim() - 1)))
    return out


def random_direction(model: nn.Module, generator: torch.Generator) -> Tensors:
    """One Gaussian direction over every parameter, filter-normalised to the model's weights."""
    theta = weights(model)
    raw = {k: torch.randn(v.shape, generator=generator).to(v) for k, v in theta.items()}
    return filter_normalize(raw, theta)


def directions(model: nn.Module, seed: int) -> tuple[Tensors, Tensors]:
    """Two directions from one seed. Nets with the same parameter shapes (plain and residual
    of one depth and width) get the same raw Gaussian draws, so they are cut the same way."""
    gen = torch.Generator().manual_seed(seed)
    return random_direction(model, gen), random_direction(model, gen)


def _moving(d1: Tensors, d2: Tensors | None) -> list[str]:
    """Names a plane actually moves: entries where a direction is nonzero somewhere."""
    return [k for k, v in d1.items()
            if bool(v.any()) or (d2 is not None and bool(d2[k].any()))]


def interpolation(init: nn.Module, trained: nn.Module) -> tuple[Tensors, Tensors]:
    """(origin, delta) of the straight line from the initial to the trained weights.

    BatchNorm running statistics move along the line too, so both ends are the two models'
    own eval-mode losses; other buffers (the skip switches) are taken from the trained model.
    """
    a, b = init.state_dict(), trained.state_dict()
    names = [k for k, _ in trained.named_parameters()]
    names += [k for k, v in trained.named_buffers() if k.split(".")[-1] in STAT_NAMES]
    origin = {k: a[k].detach().to(b[k]) for k in names}
    return origin, {k: b[k].detach() - origin[k] for k in names}


def _activation_floats(model: nn.Module, x1: torch.Tensor) -> int:
    """The largest activation one sample creates, to size vmap chunks to memory."""
    sizes: list[int] = []

    def hook(_m: nn.Module, _i: object, out: object) -> None:
        if isinstance(out, torch.Tensor):
            sizes.append(out.numel())

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        model(x1)
    finally:
        for h in hooks:
            h.remove()
    return max(sizes + [int(x1.numel())])


def auto_chunk(model: nn.Module, x: torch.Tensor) -> int:
    """Grid points per vmap call: as many as fit a budget of activations (a few live at once)."""
    budget = GPU_BUDGET if x.device.type == "cuda" else CPU_BUDGET
    per_point = 4 * 4 * len(x) * _activation_floats(model, x[:1])
    return int(min(1024, max(1, budget // per_point)))


def resolve_method(method: str, device: torch.device) -> str:
    """'auto': vmap on a GPU; on a CPU the plain loop, which measured faster there
    (batched activations leave the cache; see benchmarks/bench_landscape.py)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if method == "auto":
        return "vmap" if device.type == "cuda" else "loop"
    return method


def _points(origin: Tensors, d1: Tensors, d2: Tensors | None, names: Sequence[str],
            coords: torch.Tensor) -> Tensors:
    """Stacked weights origin + a d1 + b d2 for a chunk of (a, b) coordinates."""
    out = {}
    for k in names:
        shape = (-1,) + (1,) * origin[k].dim()
        a, b = coords[:, 0].view(shape), coords[:, 1].view(shape)
        v = origin[k].unsqueeze(0) + a * d1[k].unsqueeze(0)
        out[k] = v + b * d2[k].unsqueeze(0) if d2 is not None else v
    return out


def _vmap_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, origin: Tensors,
                 d1: Tensors, d2: Tensors | None, names: list[str], coords: torch.Tensor,
                 loss_fn: LossFn, chunk: int, progress: Progress | None) -> list[float]:
    fixed = {k: v for k, v in model.state_dict(keep_vars=False).items() if k not in names}

    def one(p: Tensors) -> torch.Tensor:
        return loss_fn(functional_call(model, (p, fixed), (x,)), y)

    batched = vmap(one)
    out: list[float] = []
    for i in range(0, len(coords), chunk):
        out += batched(_points(origin, d1, d2, names, coords[i:i + chunk])).tolist()
        if progress is not None:
            progress(len(out), len(coords))
    return out


def _loop_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, origin: Tensors,
                 d1: Tensors, d2: Tensors | None, names: list[str], coords: torch.Tensor,
                 loss_fn: LossFn, progress: Progress | None) -> list[float]:
    """One forward per point; the moving tensors are views into one flat buffer, so
    setting a point's weights is two vector operations."""
    state = dict(model.named_parameters()) | dict(model.named_buffers())
    flat = torch.cat([origin[k].reshape(-1) for k in names])
    f1 = torch.cat([d1[k].reshape(-1) for k in names])
    f2 = torch.cat([d2[k].reshape(-1) for k in names]) if d2 is not None else None
    buf, i = torch.empty_like(flat), 0
    for k in names:
        n = state[k].numel()
        state[k].data = buf[i:i + n].view_as(state[k])
        i += n
    out: list[float] = []
    every = max(1, len(coords) // 50)
    for j, (a, b) in enumerate(coords.tolist()):
        torch.add(flat, f1, alpha=a, out=buf)
        if f2 is not None:
            buf.add_(f2, alpha=b)
        out.append(float(loss_fn(model(x), y)))
        if progress is not None and ((j + 1) % every == 0 or j + 1 == len(coords)):
            progress(j + 1, len(coords))
    return out


@torch.no_grad()
def plane_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, origin: Tensors,
                 d1: Tensors, d2: Tensors | None, coords: np.ndarray | torch.Tensor, *,
                 loss_fn: LossFn = nn.functional.cross_entropy, method: str = "auto",
                 chunk: int | None = None, device: str | torch.device | None = None,
                 progress: Progress | None = None) -> np.ndarray:
    """Loss at origin + a d1 + b d2 for every row (a, b) of `coords` (b ignored if d2 is None).

    `origin` maps parameter (and optionally BatchNorm-statistics) names to values; names not
    in it keep the model's own values. The model itself is never changed: a copy is used.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    meth = resolve_method(method, dev)
    work = copy.deepcopy(model).to(dev).eval()
    x, y = x.to(dev), y.to(dev)
    names = [k for k in _moving(d1, d2) if k in origin]
    origin = {k: v.to(dev) for k, v in origin.items()}
    d1 = {k: v.to(dev) for k, v in d1.items()}
    d2 = {k: v.to(dev) for k, v in d2.items()} if d2 is not None else None
    pts = torch.as_tensor(np.asarray(coords, dtype=np.float32)).reshape(-1, 2).to(dev)
    if meth == "vmap":
        size = chunk or auto_chunk(work, x)
        vals = _vmap_losses(work, x, y, origin, d1, d2, names, pts, loss_fn, size, progress)
    else:
        vals = _loop_losses(work, x, y, origin, d1, d2, names, pts, loss_fn, progress)
    return np.asarray(vals, dtype=np.float64)


def grid_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, d1: Tensors, d2: Tensors,
                axis: np.ndarray, **kw: object) -> np.ndarray:
    """Loss on the square grid axis x axis around the model's weights: z[i, j] = L(a_j, b_i)
    (rows follow the second direction, the way plotly draws z)."""
    aa, bb = np.meshgrid(axis, axis)
    coords = np.stack([aa.ravel(), bb.ravel()], 1)
    z = plane_losses(model, x, y, weights(model), d1, d2, coords, **kw)  # type: ignore[arg-type]
    return z.reshape(len(axis), len(axis))


def line_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, origin: Tensors,
                delta: Tensors, ts: np.ndarray, **kw: object) -> np.ndarray:
    """Loss along origin + t * delta for every t."""
    coords = np.stack([ts, np.zeros_like(ts)], 1)
    return plane_losses(model, x, y, origin, delta, None, coords, **kw)  # type: ignore[arg-type]


def curvatures(z: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal curvatures (min, max eigenvalue of the 2x2 Hessian) at every grid point.

    Second differences with second-order edges: exact for a quadratic surface, so a
    quadratic toy checks them against the analytic Hessian.
    """
    za = np.gradient(z, axis, axis=1, edge_order=2)
    zb = np.gradient(z, axis, axis=0, edge_order=2)
    zaa = np.gradient(za, axis, axis=1, edge_order=2)
    zbb = np.gradient(zb, axis, axis=0, edge_order=2)
    zab = np.gradient(za, axis, axis=0, edge_order=2)
    mean, rad = (zaa + zbb) / 2, np.sqrt(((zaa - zbb) / 2) ** 2 + zab**2)
    return mean - rad, mean + rad


def slice_curvature_map(z: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Slice curvature (2-D): how much the *plotted slice* bends down at every grid point.

    -lambda_min / max(|lambda_min|, |lambda_max|) of the 2x2 Hessian of the slice where
    lambda_min < 0, else 0; in [0, 1], 0 = the slice is locally convex, 1 = as curved down
    as up (or concave). This is NOT Li et al.'s Fig. 7 quantity: the slice sees only two of
    the net's directions and can look convex where the full surface is not; for Li's map use
    `hessian_ratio_grid`, from the eigenvalues of the full Hessian."""
    lo, hi = curvatures(np.asarray(z, dtype=np.float64), np.asarray(axis, dtype=np.float64))
    scale = np.maximum(np.abs(lo), np.abs(hi))
    return np.where((lo < 0) & (scale > 0), -lo / np.where(scale > 0, scale, 1.0), 0.0)


def descent_sinks(z: np.ndarray) -> np.ndarray:
    """For every grid point, the grid point where steepest descent over the 8 neighbours ends.

    A smooth bowl drains everywhere into one sink; a chaotic surface breaks into many basins.
    Only the order of the values matters, so it is immune to the loss's scale.
    """
    z = np.where(np.isfinite(z), z, np.inf)
    rows, cols = z.shape
    idx = np.arange(z.size).reshape(z.shape)
    pad = np.pad(z, 1, constant_values=np.inf)
    best, nxt = z.copy(), idx.copy()
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                nb = pad[1 + di:1 + di + rows, 1 + dj:1 + dj + cols]
                lower = nb < best
                best = np.where(lower, nb, best)
                nxt = np.where(lower, np.roll(idx, (-di, -dj), (0, 1)), nxt)
    f = nxt.ravel()
    while True:  # pointer doubling: at most log2(size) rounds
        f2 = f[f]
        if np.array_equal(f2, f):
            return f.reshape(z.shape)
        f = f2


def roughness(z: np.ndarray, axis: np.ndarray, tol: float = 0.1) -> dict[str, float]:
    """How far the surface is from one convex bowl, as numbers in [0, 1] (and a count).

    nonconvex_share  share of grid points whose `slice_curvature_map` exceeds `tol`
    mean_ratio       the mean of `slice_curvature_map`
    basin_share      share of the grid from which walking downhill does not end where the
                     walk from the centre (the trained weights) ends
    minima           number of local minima on the grid (edges included)
    The surface is the loss itself, not its log: a log would bend a convex bowl into a
    non-convex one.
    """
    r = slice_curvature_map(z, axis)
    r = r[np.isfinite(r)]
    sinks = descent_sinks(np.asarray(z, dtype=np.float64))
    c = sinks[sinks.shape[0] // 2, sinks.shape[1] // 2]
    return {"nonconvex_share": float(np.mean(r > tol)) if r.size else math.nan,
            "mean_ratio": float(np.mean(r)) if r.size else math.nan,
            "basin_share": float(np.mean(sinks != c)),
            "minima": int(len(np.unique(sinks)))}


# --- Li et al. 2018 Fig. 7: |lambda_min / lambda_max| of the full Hessian -------------------------
#
# The full Hessian of the loss over all P parameters is never formed (P x P); its extreme
# eigenvalues come from Hessian-vector products H v (double backward: differentiate g . v where
# g = dL/dtheta was built with create_graph) fed to Lanczos with full reorthogonalisation.
# Lanczos' Ritz values converge to both ends of the spectrum first, so one run gives
# lambda_max and lambda_min; with as many iterations as parameters they are exact.

LANCZOS_ITERS = 20


def hvp_operator(model: nn.Module, x: torch.Tensor, y: torch.Tensor, params: Tensors,
                 loss_fn: LossFn = nn.functional.cross_entropy
                 ) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """v -> H v at the weights `params` (every parameter of `model`, flattened in
    named_parameters order), for the loss of `model` in eval mode on (x, y); and P.

    The gradient graph is built once; each product is one more backward through it.
    """
    names = [k for k, _ in model.named_parameters()]
    leaves = [params[k].detach().clone().requires_grad_(True) for k in names]
    fixed = {k: v for k, v in model.state_dict().items() if k not in names}
    with torch.enable_grad():
        loss = loss_fn(functional_call(model, {**dict(zip(names, leaves)), **fixed}, (x,)), y)
        grads = torch.autograd.grad(loss, leaves, create_graph=True)
    flat_g = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            hv = torch.autograd.grad(flat_g, leaves, grad_outputs=v.to(flat_g), retain_graph=True,
                                     allow_unused=True)
        return torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1)
                          for h, p in zip(hv, leaves)]).detach()

    return hvp, int(flat_g.numel())


def lanczos_extremes(matvec: Callable[[torch.Tensor], torch.Tensor], n: int,
                     iters: int = LANCZOS_ITERS, seed: int = 0,
                     dtype: torch.dtype = torch.float64) -> tuple[float, float]:
    """(lambda_min, lambda_max) of a symmetric n x n operator given only v -> A v.

    Lanczos with full reorthogonalisation (twice, "twice is enough"); k = min(iters, n)
    steps; the extreme eigenvalues of the k x k tridiagonal T approximate A's from inside
    and are exact when k = n (or when the Krylov space closes early).
    """
    k = max(1, min(iters, n))
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, generator=gen, dtype=dtype)
    basis = torch.zeros(k, n, dtype=dtype)
    basis[0] = q / q.norm()
    alpha: list[float] = []
    beta: list[float] = []
    for j in range(k):
        w = matvec(basis[j]).to(dtype)
        alpha.append(float(w @ basis[j]))
        for _ in range(2):
            w = w - basis[:j + 1].T @ (basis[:j + 1] @ w)
        if j + 1 == k:
            break
        b = float(w.norm())
        if b < 1e-10 * max(1.0, max(abs(a) for a in alpha)):
            break  # the Krylov space is invariant: its Ritz values are exact eigenvalues
        beta.append(b)
        basis[j + 1] = w / b
    m = len(alpha)
    t = torch.diag(torch.tensor(alpha, dtype=torch.float64))
    if m > 1:
        off = torch.tensor(beta[:m - 1], dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    ev = torch.linalg.eigvalsh(t)
    return float(ev[0]), float(ev[-1])


def hessian_extremes(model: nn.Module, x: torch.Tensor, y: torch.Tensor, params: Tensors, *,
                     iters: int = LANCZOS_ITERS, seed: int = 0,
                     loss_fn: LossFn = nn.functional.cross_entropy) -> tuple[float, float]:
    """(lambda_min, lambda_max) of the full Hessian of the loss at the weights `params`."""
    hvp, n = hvp_operator(model, x, y, params, loss_fn)
    return lanczos_extremes(hvp, n, iters, seed)


def li_ratio(lam_min: np.ndarray | float, lam_max: np.ndarray | float) -> np.ndarray:
    """Li et al.'s |lambda_min / lambda_max|: near 0 = locally convex (no negative curvature
    worth the name), large = strongly non-convex. Undefined (NaN) where lambda_max <= 0."""
    lo, hi = np.asarray(lam_min, dtype=float), np.asarray(lam_max, dtype=float)
    return np.where(hi > 0, np.abs(lo) / np.where(hi > 0, hi, 1.0), np.nan)


def hessian_ratio_grid(model: nn.Module, x: torch.Tensor, y: torch.Tensor, d1: Tensors,
                       d2: Tensors, axis: np.ndarray, *, iters: int = LANCZOS_ITERS,
                       seed: int = 0, loss_fn: LossFn = nn.functional.cross_entropy,
                       device: str | torch.device | None = None,
                       progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Li et al. 2018 Fig. 7: the full Hessian's extreme eigenvalues at every point
    theta + a d1 + b d2 of the grid axis x axis (rows = second direction, as `grid_losses`).

    The loss is the eval-mode loss of `grid_losses`, so the map sits on the same plane as
    the plotted surface. Returns lambda_min, lambda_max and ratio = |lambda_min/lambda_max|.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    work = copy.deepcopy(model).to(dev).eval()
    x, y = x.to(dev), y.to(dev)
    theta = {k: v.to(dev) for k, v in weights(model).items()}
    d1 = {k: v.to(dev) for k, v in d1.items()}
    d2 = {k: v.to(dev) for k, v in d2.items()}
    g = len(axis)
    lo, hi = np.zeros((g, g)), np.zeros((g, g))
    for i, b in enumerate(axis):
        for j, a in enumerate(axis):
            p = {k: theta[k] + float(a) * d1[k] + float(b) * d2[k] for k in theta}
            lo[i, j], hi[i, j] = hessian_extremes(work, x, y, p, iters=iters, seed=seed,
                                                  loss_fn=loss_fn)
            if progress is not None:
                progress(i * g + j + 1, g * g)
    return {"axis": np.asarray(axis, dtype=float), "lambda_min": lo, "lambda_max": hi,
            "ratio": li_ratio(lo, hi)}
