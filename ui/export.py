"""Downloads: results as CSV/JSON, Playground weights as .safetensors (the CLI loads them back).

Figures export themselves: the camera button of every chart (ui.charts) saves PNG or SVG
as chosen in the sidebar. The payload builders are plain functions, so tests (and a
notebook) can check that an exported file loads back to the same figures.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from resviz import jsonio
from resviz.i18n import _
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Record

KIND = "resviz.playground/1"  # every Record of an in-process run
LIVE_KIND = "resviz.playground-live/1"  # a live (engine) run: thinned curves


def to_json(obj: Any) -> str:
    """Strict JSON (NaN/inf become null), UTF-8 text."""
    return jsonio.dumps(obj)


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """One row per dict; columns in first-seen order; lists are written as JSON."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, (list, tuple, dict)) else v for k, v in r.items()})
    return buf.getvalue()


def results(rows: Sequence[Mapping[str, Any]], name: str, key: str, meta: Mapping | None = None) -> None:
    """CSV and JSON download buttons for a table of results (a list of dicts)."""
    c1, c2 = st.columns(2)
    c1.download_button(_("Download CSV"), to_csv(rows), f"{name}.csv", "text/csv", key=f"{key}_csv",
                       disabled=not rows)
    payload = {"name": name, **({"meta": dict(meta)} if meta else {}), "rows": list(rows)}
    c2.download_button(_("Download JSON"), to_json(payload), f"{name}.json", "application/json",
                       key=f"{key}_json", disabled=not rows)


def run_payload(specs: Mapping[str, NetworkSpec], tspec: TrainSpec,
                histories: Mapping[str, Sequence[Record]]) -> dict:
    """Everything needed to redraw a training run: specs, training settings, every record."""
    return {"kind": KIND, "train": tspec.to_dict(),
            "specs": {k: s.to_dict() for k, s in specs.items()},
            "history": {k: [r.to_dict() for r in recs] for k, recs in histories.items()}}


def histories_from(payload: Mapping) -> dict[str, list[Record]]:
    """Records back from an exported run (null losses of diverged steps become NaN)."""
    if payload.get("kind") != KIND:
        raise ValueError("not a ResViz Playground export")
    out = {}
    for k, recs in payload["history"].items():
        out[k] = [Record(**{**r, "loss": math.nan if r["loss"] is None else r["loss"]}) for r in recs]
    return out


def live_payload(specs: Mapping[str, NetworkSpec], tspec: TrainSpec, snap: Any) -> dict:
    """A live run as the engine reports it: specs, settings, the (thinned) curves, the final
    metrics and the skip switches. The curves redraw exactly what the page showed."""
    return {"kind": LIVE_KIND, "train": tspec.to_dict(),
            "specs": {k: s.to_dict() for k, s in specs.items()},
            "step": snap.step, "curves": snap.curves, "metrics": snap.metrics,
            "skips": snap.skips, "active": snap.active}


def curves_from(payload: Mapping) -> dict[str, dict[str, list]]:
    """The compact curves back from a live export (null losses of diverged steps become NaN)."""
    if payload.get("kind") != LIVE_KIND:
        raise ValueError("not a ResViz live-run export")
    out = {}
    for k, cv in payload["curves"].items():
        out[k] = {**cv, "loss": [math.nan if v is None else v for v in cv["loss"]]}
    return out


def curve_rows(snap: Any) -> list[dict]:
    """One CSV row per model and drawn step: loss, and the accuracies where evaluated."""
    rows = []
    for k, cv in snap.curves.items():
        ev = dict(zip(cv["eval_step"], zip(cv["train_acc"], cv["test_acc"], cv["test_loss"])))
        for s, loss in zip(cv["step"], cv["loss"]):
            tr, te, tl = ev.get(s, (None, None, None))
            rows.append({"model": k, "step": s, "loss": loss, "train_acc": tr, "test_acc": te,
                         "test_loss": tl})
    return rows


def playground_section(run: Any) -> None:
    """The Playground's downloads: the run as JSON/CSV and each model's weights.

    `run` is a ui.session.PlaygroundRun. The files are built when clicked (callables), so
    they hold the run as it is then; weights come from the engine's current weights.
    """
    names = list(run.specs)

    with st.expander(_("Export: results and weights"), expanded=False):
        st.caption(_("The JSON holds the specs, the curves as drawn (long runs are thinned to "
                     "about 400 points) and the final metrics. Weights load back with "
                     "`python -m resviz evaluate --weights FILE`."))
        c1, c2 = st.columns(2)
        c1.download_button(_("Training records (JSON)"),
                           lambda: to_json(live_payload(run.specs, run.tspec, run.snap)),
                           "playground_run.json", "application/json", key="pg_export_json")
        c2.download_button(_("Training records (CSV)"), lambda: to_csv(curve_rows(run.snap)),
                           "playground_run.csv", "text/csv", key="pg_export_csv")
        cols = st.columns(len(names))
        for col, k in zip(cols, names):
            col.download_button(_("Weights of {name} (.safetensors)").format(name=k),
                                lambda k=k: weights_bytes(run, k), f"resviz_{k}.safetensors",
                                "application/octet-stream", key=f"pg_export_w_{k}")


def weights_bytes(run: Any, name: str) -> bytes:
    from resviz.weights import to_bytes

    return to_bytes(run.models[name], run.specs[name])
