"""Save and load our own models' weights with their spec (safetensors: no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from resviz.models import ResVizNet, build
from resviz.spec import NetworkSpec


def save(model: ResVizNet, spec: NetworkSpec, path: str | Path) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"resviz_spec": json.dumps(spec.to_dict())})


def to_bytes(model: ResVizNet, spec: NetworkSpec) -> bytes:
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save(tensors, metadata={"resviz_spec": json.dumps(spec.to_dict())})


def load(path: str | Path) -> tuple[ResVizNet, NetworkSpec]:
    """Rebuild the model from the spec stored in the file, then load its tensors."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if "resviz_spec" not in meta:
        raise ValueError(f"{path} is not a ResViz weights file (no spec inside)")
    spec = NetworkSpec.from_dict(json.loads(meta["resviz_spec"]))
    model = build(spec)
    model.load_state_dict(load_file(str(path)))
    return model, spec
