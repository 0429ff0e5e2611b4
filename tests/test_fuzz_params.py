"""Fuzz the Playground's URL parameters: bad values never raise, are flagged, and fall back.

The oracle is independent of ui/params.py: each key's domain is written out here (from the
widgets in views/playground.py), values are drawn as clearly valid or clearly invalid, and
then a valid value must be applied silently, an invalid one must show a warning naming the
key and leave the default. Each example is one AppTest run (seconds), so examples are few.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resviz.data import DATASETS
from resviz.spec import FAMILIES, ORDERINGS
from tests.apptest_utils import no_exception, open_page

PAGE = "views/playground.py"
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0, 1e6]


@dataclass(frozen=True)
class Domain:
    default: Any
    lo: float | None = None
    hi: float | None = None
    options: tuple[Any, ...] | None = None


DOMAINS: dict[str, Domain] = {
    "pg_data": Domain("spirals", options=DATASETS),
    "pg_noise": Domain(0.1, 0.0, 2.0),
    "pg_n": Domain(1000, 20, 4000),
    "pg_dseed": Domain(0, 0, 99),
    "pg_lr": Domain(0.01, options=tuple(LRS)),
    "pg_opt": Domain("adam", options=("adam", "sgd")),
    "pg_batch": Domain(128, options=(8, 32, 128, 512, 4096)),
    "pg_steps": Domain(600, 50, 3000),
    "pg_seed": Domain(0, 0, 99),
    "a_fam": Domain("residual", options=FAMILIES),
    "b_ord": Domain("original", options=ORDERINGS),
    "a_depth": Domain(20, 1, 100),
    "b_width": Domain(32, options=(4, 8, 16, 32, 64, 128, 256)),
    "a_norm": Domain(True, options=(True, False)),
    "b_act": Domain("relu", options=("relu", "tanh", "gelu")),
    "a_gb": Domain(-2.0, -4.0, 0.0),
}
BOOLS = {"1", "0", "true", "false", "on", "off", "yes", "no"}
GARBAGE = st.sampled_from(["", " ", "abc", "1e999", "-inf", "nan", "None", "[]", "{}", "0x1F", "½",
                           "<b>x</b>", "**bold**", "$x^2$", "'; DROP TABLE", "🎛️", "\x00", "9" * 40])


def _number_text(x: float, kind: type) -> str:
    return str(int(x)) if kind is int else repr(float(x))


def valid(d: Domain) -> st.SearchStrategy[tuple[str, Any]]:
    if d.options is not None:
        if isinstance(d.default, bool):
            return st.sampled_from([("1", True), ("true", True), ("0", False), ("off", False)])
        return st.sampled_from(d.options).map(lambda v: (str(v), v))
    if isinstance(d.default, int):
        return st.integers(int(d.lo), int(d.hi)).map(lambda v: (str(v), v))
    return st.floats(d.lo, d.hi, allow_nan=False).map(lambda v: (repr(v), v))


def invalid(d: Domain) -> st.SearchStrategy[str]:
    """Values no reasonable parser may accept for this domain."""
    kind = type(d.default)
    if kind is bool:
        return st.one_of(GARBAGE, st.text(max_size=8)).filter(lambda s: s.strip().lower() not in BOOLS)
    if d.options is not None:
        return st.one_of(GARBAGE, st.text(max_size=12)).filter(lambda s: not _is_option(s, d))
    above = st.floats(d.hi + 1, 1e12, allow_nan=False).map(lambda x: _number_text(x, kind))
    below = st.floats(-1e12, d.lo - 1, allow_nan=False).map(lambda x: _number_text(x, kind))
    fractional = st.just("3.5") if kind is int else st.nothing()
    words = st.text(alphabet="abcxyz!?<>/ ", min_size=1, max_size=10)
    return st.one_of(above, below, fractional, words, GARBAGE).filter(lambda s: not _in_range(s, d))


def _is_option(raw: str, d: Domain) -> bool:
    for o in d.options or ():
        try:
            if type(o)(raw) == o:
                return True
        except (ValueError, TypeError, OverflowError):
            continue
    return False


def _in_range(raw: str, d: Domain) -> bool:
    try:
        v = type(d.default)(raw)
    except (ValueError, TypeError, OverflowError):
        return False
    return isinstance(v, int | float) and math.isfinite(v) and d.lo <= v <= d.hi


@st.composite
def queries(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, Any], set[str]]:
    """A random URL: a few keys, each clearly valid or clearly invalid."""
    keys = draw(st.lists(st.sampled_from(sorted(DOMAINS)), min_size=1, max_size=4, unique=True))
    query, expect, bad = {}, {}, set()
    for k in keys:
        d = DOMAINS[k]
        if draw(st.booleans()):
            query[k], expect[k] = draw(valid(d))
        else:
            query[k], expect[k] = draw(invalid(d)), d.default
            bad.add(k)
    return query, expect, bad


def warnings_text(at: Any) -> str:
    return " ".join(str(w.value) for w in at.warning)


@settings(max_examples=12, deadline=None, derandomize=False, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(queries())
def test_any_url_is_safe_and_bad_values_fall_back_with_a_notice(case) -> None:
    query, expect, bad = case
    at = open_page(PAGE, query)
    no_exception(at)
    notices = warnings_text(at)
    for k, v in expect.items():
        assert at.session_state[k] == v, (k, query[k])
        assert (f"'{k}'" in notices) == (k in bad), (k, query[k], notices)


def test_every_key_garbage_at_once_keeps_all_defaults() -> None:
    query = {k: "<script>alert(1)</script>" for k in DOMAINS}
    at = open_page(PAGE, query)
    no_exception(at)
    notices = warnings_text(at)
    for k, d in DOMAINS.items():
        assert at.session_state[k] == d.default
        assert f"'{k}'" in notices
    assert at.get("plotly_chart"), "the page must still draw with all defaults"


def test_unknown_keys_are_ignored_and_repeated_runs_do_not_repeat_notices() -> None:
    at = open_page(PAGE, {"zz_unknown": "1", "pg_noise": "lots"})
    no_exception(at)
    assert "'pg_noise'" in warnings_text(at) and "zz_unknown" not in warnings_text(at)
    at.run()
    no_exception(at)
    assert "'pg_noise'" not in warnings_text(at), "a notice is shown once, not on every rerun"


def test_shared_sidebar_keys_fall_back_through_the_entry_point() -> None:
    """lang/presenter/device are read by app.py itself (AppTest.switch_page skips it)."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_utils import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in {"lang": "klingon", "presenter": "maybe", "device": "tpu9"}.items():
        at.query_params[k] = v
    at.run()
    no_exception(at)
    notices = warnings_text(at)
    assert all(f"'{k}'" in notices for k in ("lang", "presenter", "device")), notices
    assert at.session_state["lang"] == "en" and at.session_state["presenter"] is False
    assert at.session_state["device"] == "auto"


HIDE_TOKENS = st.sampled_from(["ar_group", "ar_width", "ar_*", "settings", "lang", "*", "", " ",
                               "no such", "<b>x</b>", "../../etc", "🎛️", "\x00", "a" * 60,
                               "ar_group,ar_group", "%2C"])


@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HIDE_TOKENS, max_size=6))
def test_any_hide_list_is_safe_and_hides_exactly_what_it_names(tokens: list[str]) -> None:
    """A lesson link's `hide=` never raises; a well-formed key, pattern or group hides exactly
    its widgets, anything else is ignored, and the hidden values still apply."""
    from fnmatch import fnmatchcase

    at = open_page("views/architecture.py", {"hide": ",".join(tokens), "ar_width": "32"})
    no_exception(at)
    named = {t.strip() for tok in tokens for t in tok.split(",")}
    groups = {"settings": ("lang", "presenter", "export_format", "device")}
    pats = [p for t in named if re.fullmatch(r"[A-Za-z0-9_*]{1,40}", t)
            for p in groups.get(t, (t,))]
    for key in ("ar_group", "ar_conv", "ar_width", "lang", "device"):
        drawn = any(w.key == key for w in [*at.radio, *at.toggle, *at.select_slider, *at.selectbox])
        assert drawn == (not any(fnmatchcase(key, p) for p in pats)), (key, tokens)
    assert at.session_state["ar_width"] == 32  # hidden or not, the link's value holds
