"""Data sets that need no download: 2D toys made in code, sklearn's 8x8 digits, MNIST-1D.

Every set is seeded and split once into fixed train/test halves, so two models (or two
users) asked for the same spec see exactly the same points.
"""

from __future__ import annotations

import functools
import math
import random
import threading
from dataclasses import dataclass

import numpy as np
import torch

TOY_SETS = ("spirals", "circles", "moons", "xor", "blobs")
REAL_SETS = ("digits", "mnist1d")
DATASETS = TOY_SETS + REAL_SETS
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def is_2d(self) -> bool:
        return self.input_shape == (2,)


def _spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    t = np.sqrt(rng.uniform(0, 1, half)) * 3 * math.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * math.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise * 0.1, (2 * half, 2))
    return x, np.repeat([0, 1], half)


def _circles(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    a = rng.uniform(0, 2 * math.pi, 2 * half)
    r = np.concatenate([rng.uniform(0, 0.45, half), rng.uniform(0.6, 1.0, half)])
    x = np.stack([r * np.cos(a), r * np.sin(a)], 1) + rng.normal(0, noise * 0.1, (2 * half, 2))
    return x, np.repeat([0, 1], half)


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    a = rng.uniform(0, math.pi, half)
    upper = np.stack([np.cos(a), np.sin(a)], 1)
    lower = np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1)
    x = (np.concatenate([upper, lower]) - [0.5, 0.25]) / 1.5
    return x + rng.normal(0, noise * 0.15, x.shape), np.repeat([0, 1], half)


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 4x4 checkerboard: XOR at a finer grain, hard for shallow nets."""
    per = n // 2
    xs, ys = [], []
    while sum(len(a) for a in xs) < 2 * per:
        p = rng.uniform(-1, 1, (4 * n, 2))
        cls = ((np.floor((p[:, 0] + 1) * 2) + np.floor((p[:, 1] + 1) * 2)) % 2).astype(int)
        xs.append(p)
        ys.append(cls)
    p, c = np.concatenate(xs), np.concatenate(ys)
    idx = np.concatenate([np.flatnonzero(c == k)[:per] for k in (0, 1)])
    return p[idx] + rng.normal(0, noise * 0.05, (2 * per, 2)), c[idx]


def _blobs(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    per = n // 4
    centres = np.array([[-0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.5, -0.5]])
    x = np.concatenate([c + rng.normal(0, 0.1 + noise * 0.3, (per, 2)) for c in centres])
    return x, np.repeat(np.arange(4), per)


_TOYS = {"spirals": _spirals, "circles": _circles, "moons": _moons, "xor": _xor, "blobs": _blobs}


def _split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified fixed split, so every class is in both halves."""
    rng = np.random.default_rng(seed + 1)
    tr, te = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        cut = max(1, int(round(len(idx) * TEST_FRACTION)))
        te.append(idx[:cut])
        tr.append(idx[cut:] if len(idx) > 1 else idx)
    tr_i, te_i = np.concatenate(tr), np.concatenate(te)
    return x[tr_i], y[tr_i], x[te_i], y[te_i]


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[:, None], d.target


_GLOBAL_RNG_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _mnist1d() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D built locally from templates (no download).

    mnist1d seeds and draws from numpy's and Python's *global* generators; under a lock, with
    both states saved and restored, two threads cannot interleave its draws and nobody
    else's global stream is moved.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    with _GLOBAL_RNG_LOCK:
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            d = make_dataset(get_dataset_args())
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    return x, np.concatenate([d["y"], d["y_test"]])


@functools.lru_cache(maxsize=32)
def load(name: str, n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A data set by name. Toys honour n_samples/noise/seed; real sets use n_samples as a cap."""
    if name in _TOYS:
        x, y = _TOYS[name](n_samples, noise, np.random.default_rng(seed))
    elif name == "digits":
        x, y = _digits()
    elif name == "mnist1d":
        x, y = _mnist1d()
    else:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    if name in REAL_SETS and n_samples < len(y):
        keep = np.random.default_rng(seed).permutation(len(y))[:n_samples]
        x, y = x[keep], y[keep]
    xtr, ytr, xte, yte = _split(np.asarray(x, np.float32), np.asarray(y), seed)
    as_t = torch.as_tensor
    return Dataset(name, as_t(xtr), as_t(ytr).long(), as_t(xte), as_t(yte).long(),
                   int(np.max(y)) + 1)


def grid(n: int = 60, lim: float = 1.2) -> tuple[np.ndarray, torch.Tensor]:
    """Points of an n x n grid over the toy plane, for decision-boundary heatmaps."""
    ax = np.linspace(-lim, lim, n, dtype=np.float32)
    xx, yy = np.meshgrid(ax, ax)
    return ax, torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1))
