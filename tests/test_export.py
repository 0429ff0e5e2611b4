"""Exports load back: JSON redraws the same figures, weights evaluate the same, charts save PNG/SVG."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from apptest_utils import ROOT, no_exception
from streamlit.testing.v1 import AppTest

from resviz.__main__ import main as cli
from resviz.data import load
from resviz.figures import training as figs
from resviz.models import build
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate
from resviz.weights import to_bytes
from ui import export

TSPEC = TrainSpec(dataset="spirals", n_samples=200, steps=12, eval_every=3)


@pytest.fixture(scope="module")
def run():
    """A tiny lockstep run of a residual and a plain net."""
    data = load(TSPEC.dataset, TSPEC.n_samples, TSPEC.noise, TSPEC.data_seed)
    specs = {"A": NetworkSpec(family="residual", depth=3, width=8),
             "B": NetworkSpec(family="plain", depth=3, width=8)}
    trainer = Trainer({k: build(s) for k, s in specs.items()}, data, TSPEC)
    for _ in trainer.run():
        pass
    return specs, trainer, data


def _same(a, b) -> bool:
    """Deep equality where NaN equals NaN (plotly keeps NaN losses of diverged steps)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_json_export_redraws_the_same_figures(run) -> None:
    specs, trainer, _data = run
    hist = {k: trainer.history(k) for k in specs}
    text = export.to_json(export.run_payload(specs, TSPEC, hist))
    back = export.histories_from(json.loads(text))
    labels = {k: k for k in specs}
    assert _same(figs.curves(back, labels).to_plotly_json(), figs.curves(hist, labels).to_plotly_json())
    last = {k: v[-1].grad_norms for k, v in hist.items()}
    last_back = {k: v[-1].grad_norms for k, v in back.items()}
    assert _same(figs.grad_bars(last_back, labels).to_plotly_json(),
                 figs.grad_bars(last, labels).to_plotly_json())


def test_json_nan_becomes_null_and_back() -> None:
    from resviz.train import Record

    rec = Record("C", 0, math.nan, [0.0], 0.0, diverged=True)
    text = export.to_json(export.run_payload({"C": NetworkSpec()}, TSPEC, {"C": [rec]}))
    assert "NaN" not in text and json.loads(text)["history"]["C"][0]["loss"] is None
    assert math.isnan(export.histories_from(json.loads(text))["C"][0].loss)
    with pytest.raises(ValueError):
        export.histories_from({"kind": "something else"})


def test_csv_has_one_row_per_record(run) -> None:
    specs, trainer, _data = run
    rows = [r.to_dict() for k in specs for r in trainer.history(k)]
    back = list(csv.DictReader(io.StringIO(export.to_csv(rows))))
    assert len(back) == 2 * TSPEC.steps
    assert float(back[5]["loss"]) == pytest.approx(rows[5]["loss"])
    assert json.loads(back[5]["grad_norms"]) == pytest.approx(rows[5]["grad_norms"])


def test_weights_file_evaluates_the_same_from_the_cli(run, tmp_path, capsys) -> None:
    specs, trainer, data = run
    model = trainer.models["A"]
    model.set_skips([True, False, True])  # a toggled skip travels with the file
    path = tmp_path / "a.safetensors"
    path.write_bytes(to_bytes(model, specs["A"]))
    assert cli(["evaluate", "--weights", str(path), "--samples", str(TSPEC.n_samples), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    loss, acc = evaluate(model, data.x_test, data.y_test)
    assert out["test_acc"] == pytest.approx(acc, abs=1e-7)
    assert out["test_loss"] == pytest.approx(loss, rel=1e-6)
    assert out["skips"] == [True, False, True] and out["dataset"] == "spirals"
    model.set_skips(True)


def test_evaluate_rejects_a_mismatched_data_set(run, tmp_path, capsys) -> None:
    specs, trainer, _data = run
    path = tmp_path / "a.safetensors"
    path.write_bytes(to_bytes(trainer.models["A"], specs["A"]))
    assert cli(["evaluate", "--weights", str(path), "--dataset", "digits"]) == 2
    assert "expects input" in capsys.readouterr().err


def _gradient_chart(query: dict[str, str], state: dict[str, str]) -> tuple[dict, dict, AppTest]:
    """The home page's gradient chart (config, spec), app.py run once with these settings.

    One fresh run each: AppTest re-runs a page file without app.py when its url path
    equals its file name, which would drop the sidebar on a second run.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    no_exception(at)
    chart = next(el for el in at.get("plotly_chart") if "ho_fig_gradients" in el.proto.id)
    return json.loads(chart.proto.config), json.loads(chart.proto.spec), at


def test_evaluate_rejects_a_file_that_is_not_weights(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not weights at all")
    assert cli(["evaluate", "--weights", str(bad)]) == 2
    assert "not a readable ResViz weights file" in capsys.readouterr().err
    assert cli(["evaluate", "--weights", str(tmp_path / "missing.safetensors")]) == 2


def test_chart_camera_format_and_presenter_mode() -> None:
    config, normal, _at = _gradient_chart({}, {})
    assert config["toImageButtonOptions"]["format"] == "png"
    assert normal["layout"]["font"]["size"] < 18
    config, spec, at = _gradient_chart({"presenter": "1"}, {"export_format": "svg"})
    assert config["toImageButtonOptions"]["format"] == "svg"
    assert spec["layout"]["font"]["size"] >= 18 and spec["layout"]["yaxis"]["tickfont"]["size"] >= 18
    # lines thicken in proportion (ui/charts -> style.finish_dict), so thick/thin keep their meaning
    assert all(p["line"]["width"] == pytest.approx(1.8 * n["line"].get("width", 2))
               for p, n in zip(spec["data"], normal["data"]))
    assert at.sidebar.toggle(key="presenter").value is True
