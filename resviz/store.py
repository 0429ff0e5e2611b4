"""A bounded disk store for finished experiment results, keyed by spec and code version.

Long experiments (sweeps, landscapes, lesion studies) are computed once per setting and
reused by every user and by `python -m resviz precompute`. diskcache (SQLite underneath)
bounds the size with least-recently-used eviction; a new library version never reads a
stale result because the version is part of the key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import diskcache

from resviz import __version__
from resviz.spec import spec_key

T = TypeVar("T")
SIZE_LIMIT = int(os.environ.get("RESVIZ_STORE_BYTES", 256 * 2**20))


def store_dir() -> Path:
    return Path(os.environ.get("RESVIZ_STORE", Path.home() / ".cache" / "resviz"))


@cache
def _cache(path: str) -> diskcache.Cache:
    return diskcache.Cache(path, size_limit=SIZE_LIMIT, eviction_policy="least-recently-used")


def key(namespace: str, *parts: Any) -> str:
    """A short, stable key: namespace, library version, and a hash of the specs."""
    digest = hashlib.sha256(spec_key(*parts).encode()).hexdigest()[:24]
    return f"{namespace}:{__version__}:{digest}"


def get(namespace: str, *parts: Any) -> Any | None:
    if os.environ.get("RESVIZ_NO_STORE"):
        return None
    return _cache(str(store_dir())).get(key(namespace, *parts))


def put(value: Any, namespace: str, *parts: Any) -> None:
    if not os.environ.get("RESVIZ_NO_STORE"):
        _cache(str(store_dir())).set(key(namespace, *parts), value)


def get_or_compute(namespace: str, parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Return the stored result for (namespace, parts), computing and storing it if absent.

    Store only plain data (dicts, lists, numbers, numpy arrays): never models.
    """
    hit = get(namespace, *parts)
    if hit is not None:
        return hit
    value = compute()
    put(value, namespace, *parts)
    return value
