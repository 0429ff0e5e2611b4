"""Keyboard shortcuts on the live pages: Space starts or pauses, → steps, R resets.

A tiny script (st.iframe of an HTML string, the successor of st.components.v1.html;
nothing downloaded) listens on the app's document and
clicks the page's own buttons, found by their keys (`.st-key-<prefix>_start button` ...), so
a shortcut does exactly what the click does. Keys pressed while typing in an input are left
alone. Streamlit's own "R = rerun" is replaced on the live pages by "R = reset".
"""

from __future__ import annotations

import json

import streamlit as st

from resviz.i18n import _

_LISTENER = """
(function () {
  if (window.__resvizKeys) return;                 // one listener per browser tab
  window.__resvizKeys = true;
  function button(name) {
    const p = window.__resvizKeysPrefix;
    const b = p && document.querySelector(`.st-key-${p}_${name} button`);
    return b && !b.disabled ? b : null;
  }
  function typing(t) {
    const tag = ((t && t.tagName) || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable);
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    let b = null;
    if (e.key === " ") b = button("start") || button("pause");
    else if (e.key === "ArrowRight") b = button("step");
    else if (e.key === "r" || e.key === "R") b = button("reset");
    if (!b) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    b.click();
  }, true);
})();
"""

# The iframe only plants the listener in the app's own document (so it outlives the iframe)
# and tells it which page's buttons to press.
_SCRIPT = """
<script>
const host = window.parent;
host.__resvizKeysPrefix = %(prefix)s;
if (!host.__resvizKeys) {
  const s = host.document.createElement("script");
  s.textContent = %(listener)s;
  host.document.head.appendChild(s);
}
</script>
"""


def install(prefix: str) -> None:
    """Bind Space/→/R to the buttons `<prefix>_start|pause|step|reset` on this page."""
    html = _SCRIPT % {"prefix": json.dumps(prefix), "listener": json.dumps(_LISTENER)}
    with st.container(key="resviz_keys", height=1, border=False):
        st.iframe(html, height=1)


def help_popover() -> None:
    """The list of shortcuts, in a small popover beside the controls."""
    with st.popover("", icon=":material/keyboard:", help=_("Keyboard shortcuts")):
        st.markdown("\n".join([
            "**" + _("Keyboard shortcuts") + "**", "",
            "- `Space` · " + _("start or pause"),
            "- `→` · " + _("one step"),
            "- `R` · " + _("reset"),
            "", _("Ignored while you type in a field.")]))
