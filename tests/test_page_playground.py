"""The Playground (pages/views/playground.py) as a person uses it, through AppTest."""

from __future__ import annotations

from apptest_utils import figure, no_exception, open_page

PAGE = "pages/views/playground.py"


def metric(at, name: str) -> str:
    return next(m.value for m in at.metric if m.label.endswith(f"{name} now"))


def test_opens_with_both_models_and_charts() -> None:
    at = open_page(PAGE)
    no_exception(at)
    assert {"pg_curves", "pg_boundary_A", "pg_boundary_B"} <= {
        k for k in ("pg_curves", "pg_boundary_A", "pg_boundary_B", "pg_grads")
        if any(k in el.proto.id for el in at.get("plotly_chart"))}


def test_start_trains_and_curves_grow_then_pause_stops() -> None:
    at = open_page(PAGE)
    at.button(key="pg_start").click().run()
    at.run()
    no_exception(at)
    loss_a = figure(at, "pg_curves")["data"][0]["y"]
    assert len(loss_a) > 1
    at.button(key="pg_pause").click().run()
    n = len(figure(at, "pg_curves")["data"][0]["y"])
    at.run()
    assert len(figure(at, "pg_curves")["data"][0]["y"]) == n


def test_skip_toggles_change_a_trained_model_at_once() -> None:
    at = open_page(PAGE, {"pg_steps": "100"})
    at.button(key="pg_start").click().run()
    for _ in range(40):
        if not any(b.label.endswith("Start") and b.disabled for b in at.button):
            break
        at.run()
    before = metric(at, "A")
    grads_before = figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]
    assert set(grads_before) == {""}
    at.button(key="pg_all_off_A").click().run()
    no_exception(at)
    assert metric(at, "A") != before
    assert set(figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]) == {"/"}
    at.button(key="pg_all_on_A").click().run()
    assert metric(at, "A") == before


def test_changing_depth_rebuilds_the_model() -> None:
    at = open_page(PAGE)
    at.slider(key="a_depth").set_value(5).run()
    no_exception(at)
    at.button(key="pg_start").click().run()
    assert len(figure(at, "pg_grads")["data"][0]["y"]) == 5


def test_digits_use_conv_blocks_without_boundary() -> None:
    at = open_page(PAGE, {"pg_data": "digits", "a_depth": "3", "b_depth": "3"})
    no_exception(at)
    assert not any("pg_boundary" in el.proto.id for el in at.get("plotly_chart"))


def test_divergent_learning_rate_shows_message() -> None:
    at = open_page(PAGE, {"pg_lr": "1000000.0", "pg_steps": "50"})
    at.button(key="pg_start").click().run()
    for _ in range(5):
        at.run()
    no_exception(at)
    assert any("diverged at step" in e.value for e in at.error)


def test_one_block_skip_toggle_in_a_later_row_reaches_the_model() -> None:
    at = open_page(PAGE, {"a_depth": "25"})
    assert [p.key for p in at.pills if p.key.startswith("pg_skips_A")] == [
        "pg_skips_A_0", "pg_skips_A_1", "pg_skips_A_2"]
    at.pills(key="pg_skips_A_2").set_value([21, 22, 24, 25]).run()  # block 23 off
    at.button(key="pg_start").click().run()
    shapes = figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]
    assert [i + 1 for i, s in enumerate(shapes) if s == "/"] == [23]
