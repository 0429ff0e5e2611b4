"""Security invariants, checked over the source: no user string reaches raw HTML, nothing a
user supplies is unpickled, XSRF stays on, uploads are bounded.
"""

from __future__ import annotations

import ast
import json
import pickle
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from resviz import weights
from resviz.models import build
from resviz.spec import NetworkSpec

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
ALL_FILES = APP_FILES + sorted((ROOT / "resviz").rglob("*.py"))
UNPICKLERS = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
# The live engine talks to the worker processes it started itself over an anonymous socket
# pair (socket.socketpair, inherited by the child only): no file, port or user data is read,
# so its messages may be pickles (and a run moved between two of its workers may be a
# torch.save of it, read back with torch.load). Nothing else may import an unpickler or
# torch.load anything.
PRIVATE_IPC = {"resviz/engine/local.py"}


def calls(path: Path) -> Iterator[tuple[str, ast.Call]]:
    """Every call in the file with its dotted callee name (e.g. 'st.html')."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def constant_strings(tree: ast.Module) -> set[str]:
    """Module-level names bound once to a string literal."""
    names: dict[str, int] = {}
    ok = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = names.get(t.id, 0) + 1
                    if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                        ok.add(t.id)
    return {n for n in ok if names[n] == 1}


def test_no_unsafe_allow_html_anywhere() -> None:
    bad = [where(p, c) for p in APP_FILES for _, c in calls(p)
           if any(k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant)
                                                        and k.value.value is False) for k in c.keywords)]
    assert bad == [], f"unsafe_allow_html used at {bad}"


def test_raw_html_only_from_constant_strings() -> None:
    bad = []
    for p in APP_FILES:
        consts = constant_strings(ast.parse(p.read_text()))
        for name, c in calls(p):
            if name.split(".")[-1] != "html" or not name.startswith(("st", "components", "stc")):
                continue
            arg = c.args[0] if c.args else None
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            if not (literal or (isinstance(arg, ast.Name) and arg.id in consts)):
                bad.append(where(p, c))
    assert bad == [], f"raw HTML built from a non-constant at {bad}"


def test_nothing_is_unpickled_or_torch_loaded() -> None:
    bad = []
    for p in ALL_FILES:
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom)
                                                       and node.module else [])
                if any(m.split(".")[0] in UNPICKLERS for m in mods) and \
                        str(p.relative_to(ROOT)) not in PRIVATE_IPC:
                    bad.append(where(p, node))
        for name, c in calls(p):
            private = str(p.relative_to(ROOT)) in PRIVATE_IPC and name == "torch.load"
            if name in ("torch.load", "torch.jit.load") and not private or (
                    name.endswith("load") and any(k.arg == "allow_pickle" for k in c.keywords)):
                bad.append(where(p, c))
    assert bad == [], f"unpickling code at {bad}"


def test_uploads_are_typed_and_never_pickles() -> None:
    risky = {"pt", "pth", "pkl", "pickle", "ckpt", "bin", "npy", "npz", "joblib"}
    for p in APP_FILES:
        for name, c in calls(p):
            if name.endswith("file_uploader"):
                types = next((k.value for k in c.keywords if k.arg == "type"), None)
                assert types is not None, f"{where(p, c)}: file_uploader without type="
                allowed = {e.value.lstrip(".") for e in getattr(types, "elts", [types])
                           if isinstance(e, ast.Constant)}
                assert allowed and not allowed & risky, f"{where(p, c)}: uploads {allowed}"


def test_server_config_keeps_xsrf_and_bounds_uploads() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = cfg["server"]
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True
    assert 0 < int(server["maxUploadSize"]) <= 50, "upload size (MB) must be set and small"
    assert server.get("runOnSave", False) is False
    assert int(server.get("maxMessageSize", 200)) <= 200


def test_weights_import_never_unpickles_and_validates_the_spec(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "model.safetensors"
    evil.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(weights.WeightsError, match="not a readable ResViz weights file"):
        weights.load(evil)
    assert not marker.exists(), "a user file was unpickled"

    spec = NetworkSpec(depth=2, width=4)
    good = tmp_path / "good.safetensors"
    weights.save(build(spec), spec, good)
    model, back = weights.load(good)
    assert back == spec

    from safetensors.torch import save_file

    bad = tmp_path / "bad.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    bogus = {**spec.to_dict(), "depth": 10**9}
    save_file(tensors, str(bad), metadata={"resviz_spec": json.dumps(bogus)})
    with pytest.raises(ValueError, match="depth"):
        weights.load(bad)
