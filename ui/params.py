"""Widgets whose values live in the URL, so every view is a shareable link.

On the first run of a session a widget takes its value from `st.query_params` when that
value is valid, else the default plus a visible notice. Its value is also kept in a
non-widget session key, so leaving a page and coming back loses nothing.

Lesson links: `hide=k1,k2,group` in the URL hides those widgets (keys, `*` patterns, or group
names registered with `group()`). A hidden widget is not drawn, yet its value (from the URL, the
session or the default) still applies, so a teacher can fix a setting and show only the
controls the lesson is about. Widgets that are not URL parameters (buttons) ask `shown(key)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from resviz.i18n import _

_NOTICES = "_param_notices"
_SLOT = "_param_notice_slot"
_KEEP = "_keep_"
KEEP = _KEEP  # the prefix of the kept copies (read by ui/layout before the widgets exist)
HIDE = "hide"
_DRAWN = "_params_drawn"
_TOKEN = re.compile(r"[A-Za-z0-9_*]{1,40}")
_GROUPS: dict[str, tuple[str, ...]] = {}


def group(name: str, *patterns: str) -> None:
    """Register a named group of widget keys (or `*` patterns) that a lesson link can hide."""
    _GROUPS[name] = tuple(patterns)


def groups() -> dict[str, tuple[str, ...]]:
    return dict(_GROUPS)


def hidden_list() -> list[str]:
    """The keys, patterns and groups the link's `hide=` names (malformed entries are dropped)."""
    raw = str(st.query_params.get(HIDE, ""))[:2000]
    return [t for t in (x.strip() for x in raw.split(",")[:100]) if _TOKEN.fullmatch(t)]


def hidden(key: str) -> bool:
    """Whether this view's lesson link hides the widget with this key."""
    for token in hidden_list():
        patterns = _GROUPS.get(token, (token,))
        if any(fnmatchcase(key, p) for p in patterns):
            return True
    return False


def shown(key: str, label: str | None = None) -> bool:
    """For widgets that are not URL parameters (buttons): draw it unless the link hides it."""
    _seen(key, label or key)
    return not hidden(key)


def _seen(key: str, label: str) -> None:
    st.session_state.setdefault(_DRAWN, {})[key] = label


def drawn() -> dict[str, str]:
    """key -> label of every control offered in this run (hidden ones included)."""
    return dict(st.session_state.get(_DRAWN, {}))


def _skip(key: str, label: str) -> bool:
    """Record the widget for the lesson-link maker; True when the link hides it."""
    _seen(key, label)
    return hidden(key)


def _parse(raw: str, kind: type, lo: float | None, hi: float | None,
           options: Sequence[Any] | None) -> Any:
    """Parse and validate one URL value; raise ValueError when it is unusable."""
    if kind is bool:
        if raw.lower() in ("1", "true", "on", "yes"):
            return True
        if raw.lower() in ("0", "false", "off", "no"):
            return False
        raise ValueError(raw)
    value = kind(raw)
    if kind is float and value != value:  # NaN
        raise ValueError(raw)
    if options is not None and value not in options:
        raise ValueError(raw)
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise ValueError(raw)
    return value


def _initial(key: str, default: Any, kind: type, lo: float | None = None,
             hi: float | None = None, options: Sequence[Any] | None = None) -> None:
    """Seed the widget's session value from the kept copy, the URL, or the default."""
    if key in st.session_state:
        return
    if _KEEP + key in st.session_state:
        st.session_state[key] = st.session_state[_KEEP + key]
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = _parse(str(raw), kind, lo, hi, options)
        except (ValueError, TypeError, OverflowError):
            _notice(key, str(raw)[:40])
    st.session_state[key] = value


def _notice(key: str, raw: str) -> None:
    """Show the notice in this run's header slot; queue it when the header is not drawn yet."""
    slot = st.session_state.get(_SLOT)
    try:
        if slot is not None:
            return _warn(slot, key, raw)
    except StreamlitAPIException:  # e.g. a fragment rerun may not write outside itself
        pass
    st.session_state.setdefault(_NOTICES, []).append((key, raw))


def _warn(container: Any, key: str, raw: str) -> None:
    container.warning(_("The link's value {raw!r} for '{key}' is not valid here; "
                        "using the default instead.").format(raw=raw, key=key), icon="⚠️")


def _publish(key: str, default: Any) -> Any:
    value = st.session_state[key]
    st.session_state[_KEEP + key] = value
    text = str(int(value)) if isinstance(value, bool) else str(value)
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != text:
        st.query_params[key] = text
    return value


def _index(key: str, options: Sequence[Any]) -> int:
    """The position of the widget's value in its options: passed as its default (below)."""
    value = st.session_state[key]
    return next((i for i, o in enumerate(options) if o == value), 0)


# Every widget is given its own current value as its default (index=/value=). A browser that
# holds no state for a widget (it never mounted the element that carried the value) starts it
# at the element's default; left at the widget's own default (index 0, a slider's minimum),
# 10-tab load runs saw every control of a session drop to depth 1, width 4, 50 steps, lr 1e-4
# after Start, and the run rebuilt (benchmarks/load.py). With a key, the default is not part
# of the widget's identity (Streamlit >= 1.50), so passing the value changes nothing else.
def select(key: str, label: str, options: Sequence[Any], default: Any,
           fmt: Callable[[Any], str] | None = None, container: Any = st, **kw: Any) -> Any:
    _initial(key, default, type(default), options=options)
    if _skip(key, label):
        return _publish(key, default)
    container.selectbox(label, options, key=key, format_func=fmt or str,
                        index=_index(key, options), **kw)
    return _publish(key, default)


def radio(key: str, label: str, options: Sequence[Any], default: Any,
          fmt: Callable[[Any], str] | None = None, container: Any = st, **kw: Any) -> Any:
    _initial(key, default, type(default), options=options)
    if _skip(key, label):
        return _publish(key, default)
    container.radio(label, options, key=key, format_func=fmt or str,
                    index=_index(key, options), **kw)
    return _publish(key, default)


def slider(key: str, label: str, lo: int | float, hi: int | float, default: int | float,
           step: int | float | None = None, container: Any = st, **kw: Any) -> Any:
    kind = float if isinstance(default, float) else int
    _initial(key, default, kind, lo, hi)
    if _skip(key, label):
        return _publish(key, default)
    container.slider(label, kind(lo), kind(hi), key=key, value=st.session_state[key],
                     step=None if step is None else kind(step), **kw)
    return _publish(key, default)


def select_slider(key: str, label: str, options: Sequence[Any], default: Any,
                  container: Any = st, **kw: Any) -> Any:
    _initial(key, default, type(default), options=options)
    if _skip(key, label):
        return _publish(key, default)
    container.select_slider(label, options, key=key, value=st.session_state[key], **kw)
    return _publish(key, default)


def toggle(key: str, label: str, default: bool, container: Any = st, **kw: Any) -> bool:
    _initial(key, default, bool)
    if _skip(key, label):
        return _publish(key, default)
    container.toggle(label, key=key, value=st.session_state[key], **kw)
    return _publish(key, default)


def show_notices() -> None:
    """One visible notice for every URL value that was ignored, shown once.

    Widgets a page creates after its header report into the slot made here, so a bad
    value in the link is flagged on the very first run, not one click later.
    """
    slot = st.container()
    for key, raw in st.session_state.pop(_NOTICES, []):
        _warn(slot, key, raw)
    st.session_state[_SLOT] = slot


def end_notices() -> None:
    """Forget the previous run's header slot and controls; called at the start of every run."""
    st.session_state.pop(_SLOT, None)
    st.session_state.pop(_DRAWN, None)
