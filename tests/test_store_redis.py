"""The shared store: Redis for several Streamlit replicas, with the same entries and checks.

Each test module run starts its own redis-server on a free 127.0.0.1 port (no disk
persistence, an LRU memory bound) and stops it. Skipped where redis-server is missing,
except in CI (`CI` set), where it must run (`make redis` installs it).
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from resviz import store
from resviz.store import StoreWarning

ROOT = Path(__file__).resolve().parents[1]
NS = "redis-test"
store.declare(NS, {"x": np.ndarray, "who": str})
redis = pytest.importorskip("redis") if not os.environ.get("CI") else __import__("redis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server must be installed in CI (make redis)")
        pytest.skip("redis-server not installed (make redis)")
    port = _free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--maxmemory", "32mb",
                             "--maxmemory-policy", "allkeys-lru"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0", client
    client.close()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def url(server, tmp_path, monkeypatch):
    address, client = server
    client.flushdb()
    monkeypatch.setenv("RESVIZ_REDIS_URL", address)
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path / "local"))  # must stay unused
    for var in ("RESVIZ_NO_STORE", "RESVIZ_STORE_BYTES", "RESVIZ_STORE_TTL"):
        monkeypatch.delenv(var, raising=False)
    store.reset()
    store.clear_notices()
    yield address
    store.reset()
    store.clear_notices()


REPLICA = """
import sys, numpy as np
from resviz import store
store.declare("redis-test", {"x": np.ndarray, "who": str})
def compute():
    print("computed", end=" ")
    return {"x": np.arange(5.0), "who": sys.argv[1]}
v = store.get_or_compute("redis-test", ("shared",), compute)
print(v["who"], v["x"].tolist())
"""


def _replica(name: str, address: str, tmp: Path) -> str:
    env = {**os.environ, "RESVIZ_REDIS_URL": address, "RESVIZ_STORE": str(tmp / name)}
    r = subprocess.run([sys.executable, "-c", REPLICA, name], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_two_replicas_share_one_result(url, tmp_path, server) -> None:
    """Two processes with their own local folders: the second serves the first's result."""
    assert _replica("a", url, tmp_path) == "computed a [0.0, 1.0, 2.0, 3.0, 4.0]"
    assert _replica("b", url, tmp_path) == "a [0.0, 1.0, 2.0, 3.0, 4.0]"
    assert not (tmp_path / "local").exists()  # this process's disk folder was never used
    # and in this process too, through a second client
    assert store.get(NS, "shared")["who"] == "a"
    _, client = server
    ttl = client.ttl(store.REDIS_PREFIX + store.key(NS, "shared"))
    assert 0 < ttl <= store.DEFAULT_TTL_S  # every entry expires: the store is bounded in time


def test_ttl_setting_is_used(url, server, monkeypatch) -> None:
    monkeypatch.setenv("RESVIZ_STORE_TTL", "120")
    store.put({"x": np.zeros(1), "who": "t"}, NS, "ttl")
    assert 0 < server[1].ttl(store.REDIS_PREFIX + store.key(NS, "ttl")) <= 120


@pytest.mark.parametrize("garbage", [b"\x00garbage", pickle.dumps({"x": 1}), b'{"format": "resviz-store"}'],
                         ids=["bytes", "pickle", "other json"])
def test_garbage_in_redis_is_a_miss(url, server, garbage) -> None:
    k = store.key(NS, "bad")
    server[1].set(store.REDIS_PREFIX + k, garbage)
    with pytest.warns(StoreWarning, match="could not be used"):
        got = store.get_or_compute(NS, ("bad",), lambda: {"x": np.ones(2), "who": "fresh"})
    assert got["who"] == "fresh"
    assert store.get(NS, "bad")["who"] == "fresh"


def test_a_wrong_typed_value_in_redis_is_a_miss(url, server) -> None:
    k = store.key(NS, "typed")
    server[1].set(store.REDIS_PREFIX + k, store.encode({"x": [1, 2], "who": 3}, k))
    with pytest.warns(StoreWarning, match="shape is wrong"):
        assert store.get(NS, "typed") is None


def test_an_unreachable_redis_falls_back_to_the_local_store(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RESVIZ_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path / "local"))
    monkeypatch.delenv("RESVIZ_NO_STORE", raising=False)
    store.reset()
    store.clear_notices()
    try:
        with pytest.warns(StoreWarning, match="could not be reached"):
            store.put({"x": np.zeros(1), "who": "l"}, NS, "down")
        assert store.get(NS, "down")["who"] == "l"
        assert (tmp_path / "local" / "cache.db").exists()
    finally:
        store.reset()
        store.clear_notices()
