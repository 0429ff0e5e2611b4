"""Save and load our own models' weights with their spec (safetensors: no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from resviz import budget
from resviz.models import ResVizNet, build
from resviz.spec import NetworkSpec


def save(model: ResVizNet, spec: NetworkSpec, path: str | Path) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"resviz_spec": json.dumps(spec.to_dict())})


def to_bytes(model: ResVizNet, spec: NetworkSpec) -> bytes:
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save(tensors, metadata={"resviz_spec": json.dumps(spec.to_dict())})


class WeightsError(ValueError):
    """A weights file that does not hold what its spec says; the message is one line."""


def _check_tensors(path: str | Path, f, model: ResVizNet) -> None:
    """Names, shapes and dtypes from the file's header match the model, before any tensor is read."""
    want = model.state_dict()
    have = set(f.keys())
    missing, extra = sorted(set(want) - have), sorted(have - set(want))
    if missing or extra:
        what = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(extra[:3])}"
        raise WeightsError(f"{path}: tensors do not match the spec inside ({what})")
    for name, t in want.items():
        shape = tuple(f.get_slice(name).get_shape())
        if shape != tuple(t.shape):
            raise WeightsError(f"{path}: tensor {name} has shape {shape}; the spec needs {tuple(t.shape)}")


def _check_switches(path: str | Path, tensors: dict) -> None:
    """Skip switches are 0 (off) or 1 (on): a 7 would multiply the shortcut and read as "on"."""
    for name, t in tensors.items():
        if name.endswith(".skip") and not bool(((t == 0) | (t == 1)).all()):
            raise WeightsError(f"{path}: skip switch {name} must be 0 or 1; got {t.flatten()[:3].tolist()}")


def read_spec(path: str | Path) -> NetworkSpec:
    """The spec inside a weights file, type-checked field by field; no tensor is read."""
    with _open(path) as f:
        meta = f.metadata() or {}
    return _spec_from_meta(path, meta)


def _open(path: str | Path):
    """safe_open, with a file that is not safetensors (a pickle, say) as one clear WeightsError."""
    from safetensors import SafetensorError, safe_open

    try:
        return safe_open(str(path), framework="pt")
    except (SafetensorError, OSError) as e:
        raise WeightsError(f"{path}: not a readable ResViz weights file ({e})") from None


def _spec_from_meta(path: str | Path, meta: dict) -> NetworkSpec:
    if "resviz_spec" not in meta:
        raise WeightsError(f"{path} is not a ResViz weights file (no spec inside)")
    try:
        raw = json.loads(meta["resviz_spec"])
    except json.JSONDecodeError as e:
        raise WeightsError(f"{path}: the spec inside is not JSON ({e})") from None
    spec = NetworkSpec.from_dict(raw)
    budget.check(budget.Cost(2 * budget.NetSize.of_spec(spec).params * budget.FLOAT, 0),
                 f"the network in {path}")
    return spec


def load(path: str | Path) -> tuple[ResVizNet, NetworkSpec]:
    """Rebuild the model from the spec stored in the file, then load its tensors.

    The spec is type-checked field by field and bounded (NetworkSpec.from_dict), so the model
    built from it is small whatever the file says; tensor shapes are checked from the header
    before any tensor is read.
    """
    with _open(path) as f:
        spec = _spec_from_meta(path, f.metadata() or {})
        model = build(spec)
        _check_tensors(path, f, model)
    from safetensors import SafetensorError

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as e:  # e.g. a file cut short after its header
        raise WeightsError(f"{path}: not a readable ResViz weights file ({e})") from None
    _check_switches(path, tensors)
    model.load_state_dict(tensors)
    return model, spec
