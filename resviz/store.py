"""The results store: finished experiment results, kept as data, keyed by spec and code version.

Long experiments (sweeps, landscapes, lesion studies) are computed once per setting and reused
by every user and by `python -m resviz precompute`. A new library version never reads a stale
result because the version is part of the key.

Data, never pickles. A stored entry is UTF-8 JSON: {"format": "resviz-store", "version": 1,
"key": ..., "value": ...}. JSON has no arrays, tuples, non-string keys or NaN, so those are
written as tagged objects ({"$ndarray": {"dtype", "shape", "data" (base64)}}, {"$tuple": [...]},
{"$dict": [[k, v], ...]}, {"$float": "nan"}) and come back exactly, numpy dtypes included.
Reading an entry can therefore never run code: a crafted entry is at worst garbage. Garbage,
an entry of another format or version, a key that does not match, and a value that does not
have the shape its namespace declared (`declare`) all count as a miss: the entry is removed,
one warning says so, and the caller recomputes.

Backends (chosen from the environment, read when first used, never at import):
- embedded (default): diskcache (SQLite underneath) in $RESVIZ_STORE (default
  ~/.cache/resviz), bounded to $RESVIZ_STORE_BYTES (default 256 MiB) with least-recently-used
  eviction. It is given bytes only and its Disk refuses to unpickle, so a pickle row planted
  in cache.db is refused, not loaded. A damaged database (truncated, garbled) is detected,
  moved aside to <store>.corrupt with one warning, and a fresh store is started.
- shared: with $RESVIZ_REDIS_URL set (redis://host:port/db), Redis, so several Streamlit
  replicas (or nodes) share one store: a result computed once serves them all. Same entries,
  same checks. Bounded by a time-to-live per entry ($RESVIZ_STORE_TTL seconds, default 30 days)
  and by the server's `maxmemory` with `maxmemory-policy allkeys-lru` (see docs/seeds-and-store.md).

Problems never stop a page or a command: they become notices (`notices()`, shown by the app's
sidebar) and StoreWarnings, and the result is recomputed. $RESVIZ_NO_STORE=1 turns it off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import diskcache
import numpy as np

from resviz import __version__
from resviz.i18n import _
from resviz.spec import spec_key

T = TypeVar("T")
FORMAT, VERSION = "resviz-store", 1
DEFAULT_BYTES = 256 * 2**20
MIN_BYTES, MAX_BYTES = 2**20, 2**40  # 1 MiB .. 1 TiB
DEFAULT_TTL_S = 30 * 24 * 3600
MAX_TTL_S = 10 * 365 * 24 * 3600
REDIS_PREFIX = "resviz:"
# dtypes an array may have in the store: numbers and booleans only (never object arrays)
DTYPES = frozenset("b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8 c8 c16".split())


def N_(text: str) -> str:
    """Mark a message for translation; it is translated when shown (see `notices`)."""
    return text


class StoreWarning(RuntimeWarning):
    """Something was wrong with the store; it was repaired and results will be recomputed."""


class StoreConfigError(ValueError):
    """A store setting in the environment is invalid; the message says which and why."""


class BadEntry(ValueError):
    """A stored entry that is not a valid result (garbage, another format, wrong shape)."""


# --- notices: what the pages show, what the CLI prints ----------------------------------------

NOTICE_AGE_S = 15 * 60
_notices: deque[tuple[float, str, dict[str, Any]]] = deque(maxlen=20)
_notices_lock = threading.Lock()

CORRUPT = N_("The results store at {path} was damaged ({error}). It was moved aside to {aside} and "
             "a new store was started: results will be computed again as they are needed.")
BAD_ENTRY = N_("A stored result ({namespace}) could not be used ({why}). It was removed and will "
               "be computed again.")
CONFIG = N_("{error} The results store is off until this is fixed: results are computed but not kept.")
UNAVAILABLE = N_("The results store could not be used ({error}): this result is computed but not kept.")
REDIS_DOWN = N_("The shared store at {url} could not be reached ({error}); using the local store at "
                "{path} instead.")


def _notice(template: str, **params: Any) -> None:
    """Record a notice for the pages and emit one StoreWarning (repeats within minutes are merged).

    Every parameter tells notices apart, also one the template does not show (a key).
    """
    now = time.time()
    with _notices_lock:
        if any(t == template and p == params and now - w < NOTICE_AGE_S for w, t, p in _notices):
            return
        _notices.append((now, template, params))
    warnings.warn(template.format(**params), StoreWarning, stacklevel=3)


def notices(max_age_s: float = NOTICE_AGE_S) -> list[str]:
    """Store problems of the last minutes, translated, newest last: for the app to show.

    Opens the store first, so a damaged store is found (and repaired) before a page uses it.
    """
    backend()
    now = time.time()
    with _notices_lock:
        recent = [(t, p) for w, t, p in _notices if now - w <= max_age_s]
    return [_(t).format(**p) for t, p in recent]


def clear_notices() -> None:
    with _notices_lock:
        _notices.clear()


# --- entries: values <-> bytes, data only -----------------------------------------------------


_SCALARS = frozenset({type(None), bool, str, int})


def _plain_list(v: list) -> bool:
    """Only JSON scalars (finite floats): the list is written as it is (the common, fast case)."""
    for x in v:
        t = type(x)
        if t not in _SCALARS and not (t is float and x - x == 0):  # x - x == 0: finite
            return False
    return True


def _enc(v: Any) -> Any:
    t = type(v)
    if t in _SCALARS:
        return v
    if t is float:
        return v if v - v == 0 else {"$float": repr(v)}
    if t is list:
        return v if _plain_list(v) else [_enc(x) for x in v]
    if isinstance(v, (np.ndarray, np.generic)):
        a = np.asarray(v)
        code = a.dtype.kind + str(a.dtype.itemsize)
        if code not in DTYPES:
            raise TypeError(f"the store keeps numeric and boolean arrays only, not dtype {a.dtype}")
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        return {"$ndarray": {"dtype": code, "shape": list(a.shape), "scalar": isinstance(v, np.generic),
                             "data": base64.b64encode(data).decode("ascii")}}
    if isinstance(v, (bool, str)) or v is None:  # subclasses of the scalars
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return _enc(float(v))
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_enc(x) for x in v]}
    if isinstance(v, dict):
        if all(type(k) is str and k[:1] != "$" for k in v):
            return {k: _enc(x) for k, x in v.items()}
        return {"$dict": [[_enc(k), _enc(x)] for k, x in v.items()]}
    raise TypeError(f"the store keeps plain data (dicts, lists, numbers, strings, numpy arrays); "
                    f"got {type(v).__name__}: convert it to a dict first")


def _hashable(k: Any) -> Any:
    if isinstance(k, (list, dict, np.ndarray)):
        raise BadEntry("a dict key that cannot be a key")
    return k


def _tagged(tag: str, body: Any) -> Any:
    """The value a tagged object stands for (its contents are decoded already)."""
    if tag == "$ndarray":
        return _array(body)
    if tag == "$tuple" and isinstance(body, list):
        return tuple(body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(p, list) and len(p) == 2 for p in body):
            raise BadEntry("a malformed $dict")
        return {_hashable(k): x for k, x in body}
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    raise BadEntry(f"an unknown tag {tag[:20]!r}")


def _hook(d: dict) -> Any:
    """json's object hook: every JSON object, innermost first, becomes its value."""
    if len(d) == 1:
        (tag, body), = d.items()
        if tag[:1] == "$":
            return _tagged(tag, body)
    for k in d:
        if k[:1] == "$":
            raise BadEntry("an unknown tag")
    return d


def _array(body: Any) -> np.ndarray | np.generic:
    if not (isinstance(body, dict) and body.get("dtype") in DTYPES and isinstance(body.get("data"), str)
            and isinstance(body.get("shape"), list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in body["shape"])):
        raise BadEntry("a malformed array")
    dtype = np.dtype("<" + body["dtype"] if body["dtype"][0] != "b" else "?")
    try:
        raw = base64.b64decode(body["data"], validate=True)
    except ValueError as e:
        raise BadEntry("an array whose data is not base64") from e
    if len(raw) != math.prod(body["shape"]) * dtype.itemsize:
        raise BadEntry("an array whose data does not fill its shape")
    a = np.frombuffer(raw, dtype=dtype).reshape(body["shape"]).astype(dtype.newbyteorder("="))
    return a[()] if body.get("scalar") is True and a.ndim == 0 else a


def encode(value: Any, key: str) -> bytes:
    """One store entry: the value as tagged JSON, with format, version and key."""
    doc = {"format": FORMAT, "version": VERSION, "key": key, "value": _enc(value)}
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def decode(data: Any, key: str) -> Any:
    """The value of an entry written by `encode` for `key`; BadEntry for anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BadEntry(f"a {type(data).__name__} where bytes were expected")
    try:
        doc = json.loads(bytes(data), object_hook=_hook)
    except BadEntry:
        raise
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise BadEntry("not a JSON entry") from e
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT):
        raise BadEntry("not a ResViz store entry")
    if doc.get("version") != VERSION:
        raise BadEntry(f"store format version {doc.get('version')!r}, expected {VERSION}")
    if doc.get("key") != key or "value" not in doc:
        raise BadEntry("an entry filed under another key")
    return doc["value"]


# --- shapes: what a namespace's values look like ---------------------------------------------


@dataclass(frozen=True)
class Maybe:
    """None, or a value of `shape`."""

    shape: Any


@dataclass(frozen=True)
class DictOf:
    """A dict whose keys are all `key` and whose values all have shape `value`."""

    key: Any
    value: Any


Shape = Any  # a type, a tuple of types, {key: shape} (keys required), [shape], Maybe, DictOf
_shapes: dict[str, Shape] = {}


def declare(namespace: str, shape: Shape) -> None:
    """Say what a namespace's values look like; a stored value that differs is a miss."""
    _shapes[namespace] = shape


_EXACT = {float: frozenset({float, int}), int: frozenset({int}), str: frozenset({str}),
          bool: frozenset({bool})}


def _exact(shape: Shape) -> frozenset | None:
    """The exact types that satisfy a simple item shape (float, int, str, bool, or Maybe of one)."""
    if isinstance(shape, Maybe):
        inner = _exact(shape.shape)
        return None if inner is None else inner | {type(None)}
    return _EXACT.get(shape) if isinstance(shape, type) else None


def declared() -> dict[str, Shape]:
    """Every namespace with a declared shape (a copy)."""
    return dict(_shapes)


def mismatch(value: Any, shape: Shape, where: str = "value") -> str | None:
    """Why `value` does not have `shape`, or None when it does.

    float accepts int (JSON writes 2.0 and 2 alike in other tools) but no bool; int no bool.
    """
    if shape is Any or shape is object:
        return None
    if isinstance(shape, Maybe):
        return None if value is None else mismatch(value, shape.shape, where)
    if isinstance(shape, DictOf):
        if not isinstance(value, dict):
            return f"{where} is a {type(value).__name__}, not a dict"
        for k, v in value.items():
            why = mismatch(k, shape.key, f"a key of {where}") or mismatch(v, shape.value, f"{where}[{k!r}]")
            if why:
                return why
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} is a {type(value).__name__}, not a dict"
        for k, sub in shape.items():
            if k not in value:
                return f"{where} has no {k!r}"
            why = mismatch(value[k], sub, f"{where}[{k!r}]")
            if why:
                return why
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is a {type(value).__name__}, not a list"
        exact = _exact(shape[0])
        if exact is not None and all(type(v) in exact for v in value):
            return None  # the common case, checked fast: a list of plain numbers
        for i, v in enumerate(value):
            why = mismatch(v, shape[0], f"{where}[{i}]")
            if why:
                return why
        return None
    types = shape if isinstance(shape, tuple) else (shape,)
    if float in types:
        types = (*types, int)
    if isinstance(value, bool) and bool not in types:
        return f"{where} is a bool"
    if not isinstance(value, types):
        return f"{where} is a {type(value).__name__}"
    return None


# --- configuration (read when first used, so a bad value never breaks --help) -----------------


@dataclass(frozen=True)
class Config:
    kind: str  # "disk" | "redis"
    path: str
    size_limit: int
    url: str = ""
    ttl_s: int = DEFAULT_TTL_S


def _int_env(name: str, default: int, lo: int, hi: int, unit: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise StoreConfigError(f"{name} must be a whole number of {unit}; got {raw!r}.") from None
    if not lo <= value <= hi:
        raise StoreConfigError(f"{name} must be between {lo} and {hi} {unit}; got {value}.")
    return value


def store_dir() -> Path:
    """$RESVIZ_STORE, else ~/.cache/resviz (the embedded store's folder)."""
    raw = os.environ.get("RESVIZ_STORE", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "resviz"


def size_limit() -> int:
    """$RESVIZ_STORE_BYTES, checked: a whole number between 1 MiB and 1 TiB (default 256 MiB)."""
    return _int_env("RESVIZ_STORE_BYTES", DEFAULT_BYTES, MIN_BYTES, MAX_BYTES, "bytes")


def config() -> Config:
    """The store settings from the environment; StoreConfigError says what is wrong."""
    path = store_dir()
    if path.exists() and not path.is_dir():
        raise StoreConfigError(f"RESVIZ_STORE must be a folder; {str(path)!r} is a file.")
    limit = size_limit()
    url = os.environ.get("RESVIZ_REDIS_URL", "").strip()
    if not url:
        return Config("disk", str(path), limit)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise StoreConfigError(f"RESVIZ_REDIS_URL must start with redis://, rediss:// or unix://; "
                               f"got {url!r}.")
    ttl = _int_env("RESVIZ_STORE_TTL", DEFAULT_TTL_S, 60, MAX_TTL_S, "seconds")
    return Config("redis", str(path), limit, url, ttl)


# --- backends ---------------------------------------------------------------------------------


class Backend(Protocol):
    size_limit: int

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...


class SafeDisk(diskcache.Disk):
    """diskcache's Disk for bytes only: it writes no pickle and reads none.

    A row whose mode says pickle (planted, or from an old ResViz) is refused with BadEntry,
    and so is a pickled key; writing anything but bytes is a programming error.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        if not isinstance(key, str):
            raise TypeError("store keys are strings")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise BadEntry("a pickled key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> tuple:
        if type(value) is not bytes or read:
            raise TypeError("the store writes bytes only")
        return super().store(value, read, key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY) or read:
            raise BadEntry("an entry that is not plain bytes (a pickle?)")
        return super().fetch(mode, filename, value, read)


def _quick_check(db: Path) -> None:
    """SQLite's quick integrity check of an existing database file (milliseconds for ours)."""
    if not db.exists():
        return
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        bad = [r[0] for r in con.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
    finally:
        con.close()
    if bad:
        raise sqlite3.DatabaseError(f"SQLite's integrity check found {len(bad)} problem(s)")


def _is_corruption(e: BaseException) -> bool:
    """SQLite says the file is damaged or not a database (not: busy, locked, read-only)."""
    name = getattr(e, "sqlite_errorname", "")
    return type(e) is sqlite3.DatabaseError or name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


class DiskBackend:
    """The embedded store: one diskcache folder, bounded, bytes only, repaired when damaged."""

    def __init__(self, path: str, size_limit: int) -> None:
        self.path, self.size_limit = Path(path), size_limit
        self._lock = threading.RLock()
        self._cache = self._open()

    def _settings(self) -> dict[str, Any]:
        """Every setting given explicitly, so values kept in the database itself are not used."""
        return {**diskcache.DEFAULT_SETTINGS, "size_limit": self.size_limit,
                "eviction_policy": "least-recently-used", "disk_pickle_protocol": 5}

    def _open(self) -> diskcache.Cache:
        try:
            _quick_check(self.path / diskcache.core.DBNAME)
            return diskcache.Cache(str(self.path), disk=SafeDisk, **self._settings())
        except sqlite3.DatabaseError as e:
            if not _is_corruption(e):
                raise  # busy, locked, read-only, no permission: not damage, nothing to move
            return self._recover(e)

    def _recover(self, error: BaseException) -> diskcache.Cache:
        """Move the damaged folder aside (one earlier copy is kept), start a fresh store, warn."""
        with self._lock:
            aside = self.path.with_name(self.path.name + ".corrupt")
            try:
                if aside.exists():
                    shutil.rmtree(aside, ignore_errors=True)
                os.replace(self.path, aside)
            except OSError:  # cannot rename (a mount point?): empty it in place instead
                aside = self.path
                for p in self.path.iterdir():
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            _notice(CORRUPT, path=str(self.path), error=str(error) or type(error).__name__,
                    aside=str(aside))
            self._cache = diskcache.Cache(str(self.path), disk=SafeDisk, **self._settings())
            return self._cache

    def _run(self, op: Callable[[diskcache.Cache], T]) -> T:
        cache = self._cache
        try:
            return op(cache)
        except sqlite3.DatabaseError as e:
            if not _is_corruption(e):
                raise
            with self._lock:
                if self._cache is cache:  # another thread may have repaired it already
                    try:
                        cache.close()
                    except sqlite3.Error:
                        pass
                    self._recover(e)
            return op(self._cache)

    def get(self, key: str) -> bytes | None:
        return self._run(lambda c: c.get(key, default=None, retry=True))

    def set(self, key: str, data: bytes) -> None:
        self._run(lambda c: c.set(key, data, retry=True))

    def delete(self, key: str) -> None:
        self._run(lambda c: c.delete(key, retry=True))

    def volume(self) -> int:
        return self._run(lambda c: c.volume())

    def close(self) -> None:
        self._cache.close()

    def describe(self) -> str:
        return str(self.path)


class RedisBackend:
    """The shared store for several replicas: Redis, entries with a time-to-live."""

    def __init__(self, url: str, ttl_s: int, size_limit: int) -> None:
        import redis  # only needed when RESVIZ_REDIS_URL is set

        self.url, self.ttl_s, self.size_limit = url, ttl_s, size_limit
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self.client.ping()

    def get(self, key: str) -> bytes | None:
        return self.client.get(REDIS_PREFIX + key)

    def set(self, key: str, data: bytes) -> None:
        self.client.set(REDIS_PREFIX + key, data, ex=self.ttl_s)

    def delete(self, key: str) -> None:
        self.client.delete(REDIS_PREFIX + key)

    def close(self) -> None:
        self.client.close()

    def describe(self) -> str:
        return _redacted(self.url)


def _redacted(url: str) -> str:
    """The URL without a password, for messages."""
    head, sep, tail = url.partition("@")
    return (head.split("://")[0] + "://***@" + tail) if sep else url


def _open_backend(cfg: Config) -> Backend:
    if cfg.kind == "redis":
        try:
            return RedisBackend(cfg.url, cfg.ttl_s, cfg.size_limit)
        except Exception as e:  # package missing, server down, bad auth: fall back, say so
            _notice(REDIS_DOWN, url=_redacted(cfg.url), error=f"{type(e).__name__}: {e}", path=cfg.path)
    return DiskBackend(cfg.path, cfg.size_limit)


_backend_lock = threading.Lock()
_opened: dict[Config, Backend] = {}  # at most MAX_OPEN, oldest closed first
MAX_OPEN = 4


def backend() -> Backend | None:
    """The store the environment asks for (opened and checked on first use); None when off."""
    if os.environ.get("RESVIZ_NO_STORE"):
        return None
    try:
        cfg = config()
        with _backend_lock:
            if cfg not in _opened:
                while len(_opened) >= MAX_OPEN:
                    _opened.pop(next(iter(_opened))).close()
                _opened[cfg] = _open_backend(cfg)
            return _opened[cfg]
    except StoreConfigError as e:
        _notice(CONFIG, error=str(e))
    except (OSError, sqlite3.Error) as e:
        _notice(UNAVAILABLE, error=f"{type(e).__name__}: {e}")
    return None


def reset() -> None:
    """Close the opened stores; the next use opens (and checks) them again."""
    with _backend_lock:
        while _opened:
            _opened.popitem()[1].close()


def describe() -> dict[str, Any]:
    """Where results go, for precompute's report; StoreConfigError if the settings are bad."""
    cfg = config()
    be = backend()
    return {"store": None if be is None else be.describe(), "kind": cfg.kind,
            "size_limit_bytes": cfg.size_limit}


# --- the interface ------------------------------------------------------------------------------


def key(namespace: str, *parts: Any) -> str:
    """A short, stable key: namespace, library version, and a hash of the specs."""
    digest = hashlib.sha256(spec_key(*parts).encode()).hexdigest()[:24]
    return f"{namespace}:{__version__}:{digest}"


def _io_error(be: Backend) -> tuple[type[BaseException], ...]:
    return (OSError, sqlite3.Error, *getattr(be, "errors", ()))


def get(namespace: str, *parts: Any) -> Any | None:
    """The stored value, or None: missing, unreadable, or not of the namespace's shape."""
    be = backend()
    if be is None:
        return None
    k = key(namespace, *parts)
    try:
        data = be.get(k)
        if data is None:
            return None
        value = decode(data, k)
        why = mismatch(value, _shapes.get(namespace, Any))
        if why:
            raise BadEntry(f"its shape is wrong: {why}")
        return value
    except BadEntry as e:
        _notice(BAD_ENTRY, namespace=namespace, why=str(e), key=k)  # key: one notice per entry
        _forget(be, k)
    except _io_error(be) as e:
        _notice(UNAVAILABLE, error=f"{type(e).__name__}: {e}")
    return None


def _forget(be: Backend, k: str) -> None:
    try:
        be.delete(k)
    except (*_io_error(be), BadEntry):
        pass


def put(value: Any, namespace: str, *parts: Any) -> None:
    """Store plain data (TypeError for anything else, e.g. a model or a dataclass).

    A value larger than the whole size bound is not kept (it would evict everything else).
    """
    k = key(namespace, *parts)
    why = mismatch(value, _shapes.get(namespace, Any))
    if why:  # a declaration out of step with its compute: say so, but let the page go on
        warnings.warn(f"{namespace}: not stored, the value does not have the declared shape: {why}",
                      StoreWarning, stacklevel=2)
        return
    data = encode(value, k)
    be = backend()
    if be is None or len(data) > be.size_limit:
        return
    try:
        be.set(k, data)
    except _io_error(be) as e:
        _notice(UNAVAILABLE, error=f"{type(e).__name__}: {e}")


def get_or_compute(namespace: str, parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Return the stored result for (namespace, parts), computing and storing it if absent.

    Store only plain data (dicts, lists, tuples, numbers, strings, numpy arrays): never models.
    """
    hit = get(namespace, *parts)
    if hit is not None:
        return hit
    value = compute()
    put(value, namespace, *parts)
    return value


__all__ = ["BadEntry", "DictOf", "Maybe", "StoreConfigError", "StoreWarning", "backend", "clear_notices",
           "config", "declare", "declared", "decode", "describe", "encode", "get", "get_or_compute", "key",
           "mismatch", "notices", "put", "reset", "size_limit", "store_dir"]
