"""The results store keeps data, never pickles, and recovers from damage by recomputing.

Each test gets its own store folder. Damage is made the way it happens (a truncated or
garbled cache.db, garbage in a .val file, a value of another type, a planted pickle), and
the store must warn once, count it as a miss, recompute, and keep working.
"""

from __future__ import annotations

import math
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from resviz import store
from resviz.store import StoreWarning

ROOT = Path(__file__).resolve().parents[1]
NS = "store-test"
store.declare(NS, {"x": np.ndarray, "n": int})


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("RESVIZ_NO_STORE", "RESVIZ_STORE_BYTES", "RESVIZ_REDIS_URL", "RESVIZ_STORE_TTL"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "store"
    monkeypatch.setenv("RESVIZ_STORE", str(path))
    store.clear_notices()
    yield path
    store.reset()
    store.clear_notices()


def same(a: object, b: object) -> bool:
    """Equal values of exactly the same types (NaN equals NaN; arrays by dtype, shape, bytes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


VALUE = {"floats": [0.1, -0.0, 1e-310, float("nan"), float("inf"), -float("inf"), 2.0],
         "ints": [0, -3, 2**62], "bools": [True, False], "none": None, "text": "残差块 $x",
         "tuple": (1, "a", (2.5,)), "int keys": {1: "a", 2: [1]}, "float keys": {0.5: 1, -2.0: 2},
         "$dollar": {"$ndarray": "not an array"},
         "f32": np.linspace(0, 1, 7, dtype=np.float32).reshape(7, 1),
         "f64": np.array([[np.nan, 1.5], [np.inf, -0.0]]), "i64": np.arange(5),
         "u8": np.arange(3, dtype=np.uint8),
         "bool": np.array([True, False]), "empty": np.zeros((0, 3)), "scalar": np.float32(0.25),
         "i scalar": np.int64(7), "0d": np.array(3.0), "big": np.random.default_rng(0).normal(size=20_000)}


def test_every_kind_of_plain_data_round_trips_exactly() -> None:
    store.put(VALUE, "any", 1)
    back = store.get("any", 1)
    assert same(back, VALUE)
    assert same(store.decode(store.encode(VALUE, "k"), "k"), VALUE)


def test_objects_that_are_not_data_are_refused() -> None:
    with pytest.raises(TypeError, match="plain data"):
        store.put({"model": torch.nn.Linear(2, 2)}, "any", 2)
    with pytest.raises(TypeError, match="plain data"):
        store.put({"t": torch.zeros(2)}, "any", 3)
    with pytest.raises(TypeError, match="numeric"):
        store.put(np.array([object()]), "any", 4)


def test_entries_are_json_text_never_pickles(fresh_store: Path) -> None:
    store.put({"x": np.arange(3.0), "n": 1}, NS, "json")
    con = sqlite3.connect(fresh_store / "cache.db")
    modes, values = zip(*con.execute("SELECT mode, value FROM Cache").fetchall())
    con.close()
    assert set(modes) == {1}  # diskcache's MODE_RAW: the bytes we gave it, stored as they are
    doc = __import__("json").loads(values[0])
    assert doc["format"] == "resviz-store" and doc["version"] == 1
    assert doc["value"]["x"]["$ndarray"]["dtype"] == "f8"


class Boom:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(db: Path, key: str, mode: int, value: bytes | None, filename: str | None = None) -> None:
    con = sqlite3.connect(db)
    con.execute("DELETE FROM Cache WHERE key = ?", (key,))
    con.execute("INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count, tag,"
                " size, mode, filename, value) VALUES (?, 1, 0, NULL, 0, 0, NULL, 0, ?, ?, ?)",
                (key, mode, filename, value))
    con.commit()
    con.close()


def test_a_crafted_pickle_in_the_store_executes_nothing(fresh_store: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Boom(marker))
    pickle.loads(payload)  # the payload works: it does create the file
    assert marker.exists()
    marker.unlink()

    store.put({"x": np.zeros(2), "n": 0}, NS, "seed")  # creates the database
    k = [store.key(NS, "p", i) for i in range(4)]
    db = fresh_store / "cache.db"
    _plant(db, k[0], 4, payload)  # a pickle row, as diskcache itself would write one
    (fresh_store / "ab").mkdir()
    for name in ("evil.val", "evil2.val"):
        (fresh_store / "ab" / name).write_bytes(payload)
    _plant(db, k[1], 4, None, "ab/evil.val")  # a pickle file
    _plant(db, k[2], 1, payload)  # pickle bytes where an entry should be
    _plant(db, k[3], 2, None, "ab/evil2.val")  # the same as a bytes file

    calls = []
    for i in range(4):
        with pytest.warns(StoreWarning, match="could not be used"):
            value = store.get_or_compute(NS, ("p", i), lambda: calls.append(1) or {"x": np.ones(1), "n": 1})
        assert value["n"] == 1
    assert not marker.exists(), "unpickling ran code"
    assert len(calls) == 4  # each one recomputed
    assert all(store.get(NS, "p", i)["n"] == 1 for i in range(4))  # and stored again, as data


def _fill(n: int = 150) -> None:
    for i in range(n):
        store.put({"x": np.full(40, float(i)), "n": i}, NS, i)


def _recovers(fresh_store: Path) -> None:
    """After damage: one warning, a miss, a recompute, a working store, the damage kept aside."""
    store.reset()
    with pytest.warns(StoreWarning, match="was damaged") as ws:
        got = store.get_or_compute(NS, (3,), lambda: {"x": np.zeros(1), "n": -1})
        assert got["n"] == -1  # recomputed: the damaged store's value is not trusted
        assert store.get(NS, 3)["n"] == -1
        store.get(NS, 5)
    assert len([w for w in ws if issubclass(w.category, StoreWarning)]) == 1
    assert any("was damaged" in n for n in store.notices())
    assert (fresh_store.parent / (fresh_store.name + ".corrupt")).is_dir()


def test_a_truncated_database_is_moved_aside_and_rebuilt(fresh_store: Path) -> None:
    _fill()
    store.reset()
    db = fresh_store / "cache.db"
    with db.open("r+b") as f:
        f.truncate(db.stat().st_size // 2)
    _recovers(fresh_store)


def test_a_garbled_database_is_moved_aside_and_rebuilt(fresh_store: Path) -> None:
    _fill()
    store.reset()
    db = fresh_store / "cache.db"
    with db.open("r+b") as f:
        f.write(np.random.default_rng(0).bytes(4096))  # the header and first page
    _recovers(fresh_store)


def test_damage_found_while_running_is_repaired_too(fresh_store: Path) -> None:
    _fill()
    store.get(NS, 1)  # opened and checked: healthy
    store.backend().close()  # this thread's connection reconnects on next use (SQLite caches pages)
    db = fresh_store / "cache.db"
    with db.open("r+b") as f:
        f.write(np.random.default_rng(1).bytes(4096))
    with pytest.warns(StoreWarning, match="was damaged"):
        assert store.get_or_compute(NS, (2,), lambda: {"x": np.zeros(1), "n": -2})["n"] == -2
    assert store.get(NS, 2)["n"] == -2


def test_garbage_value_files_are_misses(fresh_store: Path) -> None:
    big = {"x": np.arange(20_000, dtype=np.float64), "n": 7}  # large: kept in a .val file
    store.put(big, NS, "big")
    files = list(fresh_store.rglob("*.val"))
    assert len(files) == 1
    files[0].write_bytes(b"\x00\xffgarbage" * 100)
    with pytest.warns(StoreWarning, match="could not be used"):
        assert store.get_or_compute(NS, ("big",), lambda: {"x": np.zeros(1), "n": 8})["n"] == 8
    assert store.get(NS, "big")["n"] == 8


@pytest.mark.parametrize("bad", [42, {"x": [1, 2], "n": 1}, {"x": np.zeros(2)}, {"x": np.zeros(2), "n": "1"},
                                 {"x": np.zeros(2), "n": True}],
                         ids=["int", "list for array", "missing key", "str for int", "bool for int"])
def test_a_value_of_the_wrong_type_is_a_miss(bad) -> None:
    k = store.key(NS, "typed")
    store.backend().set(k, store.encode(bad, k))  # written by someone else, valid JSON
    with pytest.warns(StoreWarning, match="shape is wrong"):
        assert store.get_or_compute(NS, ("typed",), lambda: {"x": np.zeros(2), "n": 3})["n"] == 3
    assert store.get(NS, "typed")["n"] == 3


@pytest.mark.parametrize("doc", [
    b'{"format": "resviz-store", "version": 0, "key": "%s", "value": 1}',
    b'{"format": "resviz-store", "version": 1, "key": "another", "value": {"x": [], "n": 1}}',
    b'{"format": "other", "version": 1, "key": "%s", "value": 1}',
    b'{"format": "resviz-store", "version": 1, "key": "%s", "value": {"x": {"$ndarray": {"dtype": "O", '
    b'"shape": [1], "data": "AA=="}}, "n": 1}}',
    b'{"format": "resviz-store", "version": 1, "key": "%s", "value": {"x": {"$ndarray": {"dtype": "f8", '
    b'"shape": [1000000000], "data": "AA=="}}, "n": 1}}',
    b"[" * 100_000,
    b"\xff\xfe",
], ids=["old version", "other key", "other format", "object dtype", "short data", "deep", "not utf8"])
def test_entries_from_elsewhere_are_misses(doc: bytes) -> None:
    k = store.key(NS, "doc")
    store.backend().set(k, doc.replace(b"%s", k.encode()) if b"%s" in doc else doc)
    with pytest.warns(StoreWarning, match="could not be used"):
        assert store.get(NS, "doc") is None


def test_a_value_larger_than_the_bound_is_not_kept(monkeypatch) -> None:
    monkeypatch.setenv("RESVIZ_STORE_BYTES", str(2**20))
    store.put({"x": np.zeros(2**18), "n": 1}, NS, "huge")  # 2 MiB of float64 > 1 MiB bound
    assert store.get(NS, "huge") is None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resviz", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


@pytest.mark.parametrize("var, value, says", [
    ("RESVIZ_STORE_BYTES", "abc", "RESVIZ_STORE_BYTES must be a whole number of bytes; got 'abc'"),
    ("RESVIZ_STORE_BYTES", "10", "RESVIZ_STORE_BYTES must be between 1048576 and"),
    ("RESVIZ_STORE_TTL", "-5", "RESVIZ_STORE_TTL must be between 60 and"),
    ("RESVIZ_REDIS_URL", "http://x", "RESVIZ_REDIS_URL must start with redis://"),
])
def test_bad_settings_get_a_clear_message_and_the_store_is_off(monkeypatch, var, value, says) -> None:
    if var == "RESVIZ_STORE_TTL":
        monkeypatch.setenv("RESVIZ_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv(var, value)
    with pytest.warns(StoreWarning, match="results store is off"):
        assert store.get_or_compute(NS, ("cfg",), lambda: {"x": np.zeros(1), "n": 1})["n"] == 1
    assert any(says in n for n in store.notices())


def test_a_file_as_the_store_folder_gets_a_message(monkeypatch, tmp_path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("RESVIZ_STORE", str(f))
    with pytest.warns(StoreWarning, match="RESVIZ_STORE must be a folder"):
        assert store.get(NS, 1) is None


@pytest.mark.slow
def test_a_bad_store_setting_does_not_break_help_and_stops_precompute() -> None:
    ok = _cli("--help", env={"RESVIZ_STORE_BYTES": "abc"})
    assert ok.returncode == 0 and "usage" in ok.stdout
    bad = _cli("precompute", "--no-home", "--only", "he2015", env={"RESVIZ_STORE_BYTES": "abc"})
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: RESVIZ_STORE_BYTES must be a whole number of bytes; "
                                  "got 'abc'.")


def test_precompute_exits_nonzero_when_a_job_fails(monkeypatch, capsys) -> None:
    from resviz.__main__ import main
    from resviz.experiments import precompute
    from resviz.presets import PRESETS

    def broken(_p):
        raise RuntimeError("out of paper")

    preset = next(p for p in PRESETS if "orderings" in p.jobs)
    monkeypatch.setitem(precompute.JOBS, "orderings", broken)
    assert main(["precompute", "--no-home", "--only", preset.key, "--json", "--serial"]) == 1
    out = capsys.readouterr()
    assert "FAIL" in out.err and "out of paper" in out.err
    assert main(["precompute", "--no-home", "--only", preset.key, "--dry-run"]) == 0


@pytest.mark.slow
def test_the_cli_goes_on_after_damage(fresh_store: Path) -> None:
    """A garbled cache.db: the CLI warns in one line, recomputes and exits 0."""
    store.put({"x": np.zeros(1), "n": 1}, NS, 1)
    store.reset()
    (fresh_store / "cache.db").write_bytes(b"this is not a database" * 500)
    r = _cli("orderings", "--depth", "2", "--width", "4", "--samples", "60", "--steps", "3", "--seeds",
             "1", "--json", env={"RESVIZ_STORE": str(fresh_store)})
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("warning: The results store at") and "was damaged" in r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.slow
def test_every_result_the_library_stores_round_trips_exactly(monkeypatch) -> None:
    """Run every stored computation in miniature; what comes back equals what went in, types too."""
    from resviz import resnet_family as rf
    from resviz import story
    from resviz.experiments import degradation, landscape, lesion, orderings, paths
    from resviz.probes.landscape import LandscapeSpec
    from resviz.spec import NetworkSpec, TrainSpec

    stored: list[tuple[str, tuple, object]] = []
    real_put = store.put

    def put(value, namespace, *parts):
        stored.append((namespace, parts, value))
        real_put(value, namespace, *parts)

    monkeypatch.setattr(store, "put", put)
    net, ts = NetworkSpec(depth=3, width=6), TrainSpec(steps=3, n_samples=80, eval_every=1)
    paths.cached_run(net, ts, samples=2, batch=8, stochastic_depth=0.5)
    lesion.cached_run(net, ts, draws=2, stochastic_depth=0.5)
    orderings.run(net.replace(depth=2), ts, seeds=(0,))
    degradation.sweep(degradation.SweepSpec(depths=(2,), seeds=1, width=4, train=ts))
    landscape.pair_landscapes(net.replace(depth=2), ts, LandscapeSpec(grid=3, line_points=3))
    landscape.pair_hessian(net.replace(depth=2), ts, LandscapeSpec(grid=3, line_points=3),
                           landscape.HessianSpec(grid=3, iters=4))
    story.story_run(net.replace(depth=4), ts)
    story.resnet_family()
    rf.family_row.cache_clear()  # in-process caches: an earlier test may have filled them
    rf.cifar_row.cache_clear()
    rf.family_row("resnet18")
    rf.cifar_row(1)

    library = {ns for ns in store.declared() if not ns.endswith("-test")}  # tests declare their own
    assert {ns for ns, _p, _v in stored} == library
    for namespace, parts, value in stored:
        assert store.mismatch(value, store.declared()[namespace]) is None, namespace
        assert same(store.get(namespace, *parts), value), namespace
