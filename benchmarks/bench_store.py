"""The results store's JSON entries against the pickles it used to keep: size and time.

For a typical stored result of each kind (a landscape pair: numpy grids; a degradation
group: rows and curves of floats; an orderings table: small dicts), measures the entry size
and one write + one read through diskcache, for the JSON entry (resviz.store today) and a
plain pickle in a bare diskcache (the old store). Runs alternate so noise hits both alike;
medians are reported. What matters for a page is the read: it happens on every revisit.

    python benchmarks/bench_store.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import pickle  # the baseline only: the store itself never unpickles
import statistics
import sys
import tempfile
import time
from pathlib import Path

import diskcache
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resviz import store  # noqa: E402


def values() -> dict[str, object]:
    rng = np.random.default_rng(0)

    def land(n: int = 21) -> dict:
        line = {"t": np.linspace(-1, 1, 41), "loss": rng.random(41)}
        return {"axis": np.linspace(-1, 1, n), "loss": rng.random((n, n)), "centre_loss": 0.1,
                "roughness": {"nonconvex_share": 0.2, "mean_ratio": 0.1, "basin_share": 0.0, "minima": 1},
                "ratio": rng.random((n, n)), "direction": line, "interpolation": dict(line)}

    final = {"train_loss": 0.1, "train_acc": 0.9, "test_acc": 0.8, "diverged_at": None}
    curve = {"step": list(range(300)), "loss": rng.random(300).tolist(), "eval_step": list(range(0, 300, 10)),
             "test_loss": rng.random(30).tolist(), "train_acc": rng.random(30).tolist(),
             "test_acc": rng.random(30).tolist()}
    return {
        "landscape pair (21x21)": {"landscapes": {"plain": land(), "residual": land()},
                                   "final": {"plain": final, "residual": final}},
        "degradation group": {"rows": [{"family": f, "depth": 16, "seed": s, **final}
                                       for f in ("plain", "residual") for s in range(3)],
                              "curves": {"plain": curve, "residual": curve}, "seconds": 3.2,
                              "batched": True},
        "orderings": {"test_error": {o: rng.random() for o in "abcde"},
                      "per_seed": [{o: {"test_error": 1.0, "train_loss": 0.2} for o in "abcde"}] * 2,
                      "rank_ours": list("abcde"), "spearman": 0.5},
    }


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    os.environ["RESVIZ_STORE"] = str(tmp / "json")
    old = diskcache.Cache(str(tmp / "pickle"))  # the store before: diskcache's pickles
    print(f"{'value':26s} {'json KiB':>9s} {'pickle KiB':>10s} {'json w+r ms':>12s} "
          f"{'pickle w+r ms':>14s} {'read ratio':>10s}")
    for name, value in values().items():
        k = store.key("bench", name)
        jw, jr, pw, pr = [], [], [], []
        for i in range(args.repeats):
            jw.append(timed(store.put, value, "bench", name, i))
            jr.append(timed(store.get, "bench", name, i))
            pw.append(timed(old.set, (name, i), value))
            pr.append(timed(old.get, (name, i)))
        size_j = len(store.encode(value, k)) / 1024
        size_p = len(pickle.dumps(value, protocol=5)) / 1024
        m = statistics.median
        print(f"{name:26s} {size_j:9.1f} {size_p:10.1f} {1e3 * (m(jw) + m(jr)):12.2f} "
              f"{1e3 * (m(pw) + m(pr)):14.2f} {m(jr) / m(pr):10.2f}")


if __name__ == "__main__":
    main()
