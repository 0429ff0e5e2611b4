"""The identity test: can a deep stack of layers learn y = x? (He et al. 2015 §1; the seed article.)

The argument that opens the residual story: a deeper net could always copy a shallower one by
making its extra layers identity maps, so it should never train worse. Yet a stack of
nonlinear layers finds even the identity hard to learn, while a residual block only has to
push its branch R(x) to zero. This experiment asks the question directly: plain and residual
stacks of resviz's own blocks (by default the full pre-activation unit BN-ReLU-Linear-BN-ReLU-
Linear; the plain block is the same unit without its shortcut) between an input projection
2 -> width and an output width -> 2, He init, trained by mean squared error with Adam to
reproduce their input, uniform points of [-1, 1]^2. (Measured: with the "original" unit, whose
ReLU after the addition keeps the residual stream non-negative, the 32-block residual stack
ends at about 0.03 instead of 0.01; the plain stacks fail either way.)

The regression head is resviz's classifier head read as two real outputs (its n_classes = 2
logits), trained with MSE instead of cross-entropy. All models of one depth (plain and
residual, every seed) share a shape and train together as one stacked model
(resviz.batched.StackedNet), on the same batches. Each depth is stored once finished.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from resviz import store
from resviz.batched import StackedNet
from resviz.cli_args import BATCH_SIZE, LR, STEPS, WIDTH, count, depth_list
from resviz.experiments.degradation import check_sweep, parse_depths  # noqa: F401 (parse_depths re-exported)
from resviz.spec import MAX_WIDTH, ORDERINGS, NetworkSpec, SpecError

COMMAND = "identity"
FAMILIES = ("plain", "residual")
INPUT_VARIANCE = 1 / 3  # per coordinate, uniform on [-1, 1]: the MSE of always answering 0
GRID_LINES = 9  # per direction, through [-1, 1]
GRID_POINTS = 21  # points along each line


@dataclass(frozen=True)
class IdentitySpec:
    """One identity test: which depths, how many seeds, the blocks and the training."""

    depths: tuple[int, ...] = (2, 8, 16, 32)
    seeds: int = 3
    width: int = 32
    ordering: str = "full_preact"
    steps: int = 300
    lr: float = 3e-3
    cosine: bool = False  # decay the learning rate to 0 along a cosine (measured: no better here)
    batch_size: int = 128
    n_train: int = 1024
    n_test: int = 1024
    data_seed: int = 0

    def __post_init__(self) -> None:
        check_sweep(self.depths, self.seeds)
        if self.ordering not in ORDERINGS:
            raise SpecError(f"ordering must be one of {', '.join(ORDERINGS)}; got {self.ordering!r}")
        if not 2 <= self.width <= MAX_WIDTH:
            raise SpecError(f"width must be between 2 and {MAX_WIDTH}; got {self.width}")
        if not 1 <= self.steps <= 100_000:
            raise SpecError(f"steps must be between 1 and 100000; got {self.steps}")
        if not 0 < self.lr <= 1:
            raise SpecError(f"learning rate must be in (0, 1]; got {self.lr}")
        if not 2 <= self.batch_size <= self.n_train:
            raise SpecError("batch size must be between 2 and the number of training points")

    def group(self, depth: int) -> dict[str, NetworkSpec]:
        """The networks of one depth, named family-seed; He init, BN, the original unit."""
        base = NetworkSpec(depth=depth, width=self.width, norm=True, ordering=self.ordering,
                           input_shape=(2,), n_classes=2)
        return {f"{f}-{s}": base.replace(family=f, seed=s) for f in FAMILIES
                for s in range(self.seeds)}


def points(n: int, seed: int) -> torch.Tensor:
    """n points uniform on [-1, 1]^2, from their own generator (never the global one)."""
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def grid_lines(n_lines: int = GRID_LINES, n_points: int = GRID_POINTS) -> torch.Tensor:
    """A square grid as lines: (2 n_lines, n_points, 2); first the horizontals, then verticals."""
    t = torch.linspace(-1, 1, n_points)
    levels = torch.linspace(-1, 1, n_lines)
    horiz = torch.stack([t.expand(n_lines, -1), levels[:, None].expand(-1, n_points)], -1)
    vert = torch.stack([levels[:, None].expand(-1, n_points), t.expand(n_lines, -1)], -1)
    return torch.cat([horiz, vert])


def _mse(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-model mean squared error of outputs (M, 2, B) against targets x (B, 2)."""
    return (out - x.t().unsqueeze(0)).pow(2).mean((1, 2))


Progress = Callable[[int, int, int, int], None]  # (depth index, depths, step, steps)


def run_depth(ispec: IdentitySpec, depth: int, on_step: Callable[[int], None] | None = None) -> dict:
    """Train one depth's plain and residual stacks to reproduce their input; plain data out.

    rows:   family, depth, seed, test MSE (eval mode), MSE of the last training batch (batch stats)
    curves: training MSE per step, per model (for the seed bands)
    grid:   each model's image of the square grid (lines x points x 2)
    """
    specs = ispec.group(depth)
    names = list(specs)
    net = StackedNet([specs[k] for k in names])
    opt = torch.optim.Adam(net.parameters(), lr=ispec.lr, foreach=True)
    x_train = points(ispec.n_train, ispec.data_seed)
    x_test = points(ispec.n_test, ispec.data_seed + 1)
    gen = torch.Generator().manual_seed(ispec.data_seed)
    curves: list[list[float]] = []
    t0 = time.perf_counter()
    for step in range(ispec.steps):
        if ispec.cosine:
            for g in opt.param_groups:
                g["lr"] = ispec.lr * 0.5 * (1 + math.cos(math.pi * step / ispec.steps))
        xb = x_train[torch.randint(0, ispec.n_train, (ispec.batch_size,), generator=gen)]
        opt.zero_grad(set_to_none=True)
        losses = _mse(net(xb), xb)
        losses.sum().backward()
        opt.step()
        curves.append(losses.tolist())
        if on_step is not None:
            on_step(step + 1)
    net.train(False)
    with torch.no_grad():
        test = _mse(net(x_test), x_test).tolist()
        lines = grid_lines()
        flat = lines.reshape(-1, 2)
        mapped = net(flat).transpose(1, 2).reshape(len(names), *lines.shape)  # (M, lines, pts, 2)
    rows = [{"family": specs[k].family, "depth": depth, "seed": specs[k].seed,
             "test_mse": test[i], "train_mse": curves[-1][i] if curves else math.nan}
            for i, k in enumerate(names)]
    by_model = list(zip(*curves)) if curves else [[] for _ in names]
    return {"rows": rows, "curves": {k: list(by_model[i]) for i, k in enumerate(names)},
            "grid": {k: mapped[i].tolist() for i, k in enumerate(names)},
            "seconds": time.perf_counter() - t0}


def cached_depth(ispec: IdentitySpec, depth: int) -> dict | None:
    return store.get("identity-depth", ispec, depth)


def run(ispec: IdentitySpec, progress: Progress | None = None, cache: bool = True) -> dict:
    """Every depth in order; finished depths come from (and go to) the store."""
    groups = {}
    for di, depth in enumerate(ispec.depths):
        hit = cached_depth(ispec, depth) if cache else None
        if hit is None:
            def step(i: int, di: int = di) -> None:
                if progress is not None:
                    progress(di, len(ispec.depths), i, ispec.steps)
            hit = run_depth(ispec, depth, step)
            if cache:
                store.put(hit, "identity-depth", ispec, depth)
        groups[depth] = hit
        if progress is not None:
            progress(di, len(ispec.depths), ispec.steps, ispec.steps)
    return assemble(ispec, groups)


def is_stored(ispec: IdentitySpec) -> bool:
    return all(cached_depth(ispec, d) is not None for d in ispec.depths)


def assemble(ispec: IdentitySpec, groups: dict[int, dict]) -> dict:
    """Rows, per-(family, depth) spread, and the grids of seed 0 (plain data, JSON-safe)."""
    depths = [d for d in ispec.depths if d in groups]
    rows = [r for d in depths for r in groups[d]["rows"]]
    return {"spec": {**asdict(ispec), "depths": list(ispec.depths)}, "rows": rows,
            "summary": summary(rows), "input_variance": INPUT_VARIANCE,
            "grid_in": grid_lines().tolist(),
            "grids": {d: {f: groups[d]["grid"][f"{f}-0"] for f in FAMILIES} for d in depths},
            "curves": {d: groups[d]["curves"] for d in depths},
            "seconds": sum(groups[d]["seconds"] for d in depths)}


def summary(rows: list[dict]) -> list[dict]:
    """Median, min and max test MSE over seeds per (family, depth)."""
    out = []
    for f in FAMILIES:
        for d in sorted({r["depth"] for r in rows}):
            v = sorted(r["test_mse"] for r in rows if r["family"] == f and r["depth"] == d
                       and math.isfinite(r["test_mse"]))
            if not v:
                continue
            mid = len(v) // 2
            med = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
            out.append({"family": f, "depth": d, "seeds": len(v), "test_mse_median": med,
                        "test_mse_min": v[0], "test_mse_max": v[-1]})
    return out


def grid_rms(grid_in: list, grid_out: list) -> float:
    """Root-mean-square distance between the grid's points and their images: 0 = the identity."""
    a = torch.as_tensor(grid_in, dtype=torch.float64)
    b = torch.as_tensor(grid_out, dtype=torch.float64)
    return float((a - b).norm(dim=-1).pow(2).mean().sqrt())


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = IdentitySpec()
    p.add_argument("--depths", type=depth_list, default=",".join(map(str, d.depths)),
                   help="comma-separated block counts (each 1..100, at most 20)")
    p.add_argument("--seeds", type=count(1, 10), default=d.seeds,
                   help="init seeds per family and depth (1..10)")
    p.add_argument("--width", type=WIDTH, default=d.width)
    p.add_argument("--ordering", choices=ORDERINGS, default=d.ordering,
                   help="residual unit ordering (He et al. 2016); plain = the same unit, no skip")
    p.add_argument("--steps", type=STEPS, default=d.steps)
    p.add_argument("--lr", type=LR, default=d.lr, help="Adam learning rate")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=d.batch_size)
    p.add_argument("--cosine", action="store_true", help="decay the learning rate to 0 (a cosine)")
    p.add_argument("--grids", action="store_true", help="include each seed-0 net's image of the grid")


def main(args: argparse.Namespace) -> dict:
    ispec = IdentitySpec(depths=parse_depths(args.depths), seeds=args.seeds, width=args.width,
                         ordering=args.ordering, steps=args.steps, lr=args.lr,
                         cosine=args.cosine, batch_size=args.batch_size)
    r = run(ispec, cache=False)
    r["grid_rms"] = {d: {f: grid_rms(r["grid_in"], g[f]) for f in FAMILIES} for d, g in r["grids"].items()}
    r.pop("curves")
    if not args.grids:
        r.pop("grids")
        r.pop("grid_in")
    return r
