"""Helpers for driving pages through streamlit.testing.v1.AppTest."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(page: str, query: dict[str, str] | None = None, timeout: float = 120) -> AppTest:
    """Run app.py and switch to `page` (e.g. "views/playground.py"), with URL parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    # Before its first run AppTest finds a page by file name, which misses a page whose
    # url_path differs from its file's stem (gradient_flow.py is /gradients): run the app once
    # so st.navigation registers the pages, then switch.
    at.run()
    at.switch_page(page)
    at.run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _decode(obj: Any) -> Any:
    """Plotly serialises numpy arrays as {'dtype', 'bdata'[, 'shape']}: turn them into lists."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if "shape" in obj:
                shape = obj["shape"]
                shape = [int(n) for n in shape.split(",")] if isinstance(shape, str) else shape
                arr = arr.reshape(shape)
            return arr.tolist()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def charts(at: AppTest) -> list[tuple[str, dict[str, Any]]]:
    """Every plotly figure on the page with its element id, as plain JSON dicts (AppTest can't
    render them): st.plotly_chart's, and the live charts that update in place (ui.livechart)."""
    from ui.livechart import NAME, figure_of

    out = [(el.proto.id, _decode(json.loads(el.proto.spec))) for el in at.get("plotly_chart")]
    out += [(el.proto.id, _decode(figure_of(el.proto.json))) for el in at.get("bidi_component")
            if el.proto.component_name == NAME]
    return out


def figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly figure on the page (see `charts`)."""
    return [fig for _, fig in charts(at)]


def chart_ids(at: AppTest) -> str:
    """The element ids of every chart on the page, in one string (ids hold the chart's key)."""
    return " ".join(key for key, _ in charts(at))


def figure(at: AppTest, key: str) -> dict[str, Any]:
    """The plotly figure drawn with `key` (ui.charts.show gives every chart a key)."""
    for el_id, fig in charts(at):
        if key in el_id:
            return fig
    raise KeyError(f"no chart with key {key!r}")


def trained_playground(specs: dict, tspec: Any) -> Any:
    """The Playground's run as a page holds it (ui.session.PlaygroundRun over a ui.live.Live),
    trained to its step limit in the engine. Put `run.live` in at.session_state[session.KEY]."""
    from resviz.engine import executor
    from ui import live, session

    cfg = session.config(specs, tspec)
    lv = live.Live(cfg, executor().open(cfg), tspec.steps)
    if tspec.steps:
        lv.handle.step(tspec.steps)
    snap = lv.wait(lambda s: s.step >= tspec.steps and s.state != "running", timeout=300)
    assert snap is not None and snap.step == tspec.steps, "the engine did not train the run"
    return session.PlaygroundRun(lv)


def set_skips(run: Any, name: str, mask: list[bool]) -> None:
    """Toggle skips on the Playground's trained net, as its skip arcs do, and wait until seen."""
    run.live.handle.set_skips(name, list(mask))
    snap = run.live.wait(lambda s: list(s.skips[name]) == list(mask), timeout=60)
    assert snap is not None and list(snap.skips[name]) == list(mask)
