"""A weights file is untrusted input: its spec is type-checked field by field and bounded before
anything is built, and its tensors must match the spec (skip switches exactly 0 or 1)."""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import save_file

import resviz.__main__ as cli
from resviz import weights
from resviz.models import build
from resviz.spec import NetworkSpec, SpecError

SPEC = NetworkSpec(depth=2, width=4)


def write(path, spec_dict: dict, tensors: dict | None = None) -> str:
    tensors = tensors if tensors is not None else {
        k: v.contiguous() for k, v in build(SPEC).state_dict().items()}
    save_file(tensors, str(path), metadata={"resviz_spec": json.dumps(spec_dict)})
    return str(path)


@pytest.mark.parametrize("field,value,message", [
    ("norm", "no", "norm must be true or false"),
    ("norm", 1, "norm must be true or false"),
    ("skips", "abc", "skips must be a list of true/false"),
    ("skips", [1, 0], "skips must be a list of true/false"),
    ("seed", 1.5, "seed must be a whole number"),
    ("seed", True, "seed must be a whole number"),
    ("seed", -1, "seed must be between 0 and 2**63 - 1"),
    ("seed", 2 ** 64, "seed must be between 0 and 2**63 - 1"),
    ("depth", "2", "depth must be a whole number"),
    ("gate_bias", "x", "gate_bias must be a number"),
    ("family", 3, "family must be a string"),
    ("input_shape", [10 ** 7], "features must be between 1 and 4096"),
    ("input_shape", [10 ** 6, 8, 8], "channels must be between 1 and 64"),
    ("input_shape", [2.5], "input_shape must be a list of whole numbers"),
    ("input_shape", [64, 256, 256], "numbers per example"),
    ("bogus", 1, "unknown spec field"),
])
def test_spec_fields_are_type_checked(tmp_path, field, value, message) -> None:
    path = write(tmp_path / "m.safetensors", {**SPEC.to_dict(), field: value})
    with pytest.raises(SpecError, match=message.replace("*", r"\*")):
        weights.load(path)


def test_huge_input_shape_is_refused_at_once_through_the_cli(tmp_path, capsys) -> None:
    """The issue's 6.7 KB file whose spec says input_shape [10^7] used 10.7 GB before failing."""
    path = write(tmp_path / "m.safetensors", {**SPEC.to_dict(), "input_shape": [10 ** 7]})
    cli.parser()  # imports every command first: the timing is of the refusal alone
    t0 = time.perf_counter()
    assert cli.main(["evaluate", "--weights", path]) == 2
    assert time.perf_counter() - t0 < 2
    err = capsys.readouterr().err
    assert "features must be between 1 and 4096" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", [7.0, 0.5, -1.0, float("nan")])
def test_skip_switch_must_be_zero_or_one(tmp_path, value) -> None:
    tensors = {k: v.contiguous() for k, v in build(SPEC).state_dict().items()}
    tensors["blocks.0.skip"] = torch.tensor(value)
    path = write(tmp_path / "m.safetensors", SPEC.to_dict(), tensors)
    with pytest.raises(weights.WeightsError, match="skip switch blocks.0.skip must be 0 or 1"):
        weights.load(path)


def test_tensor_shapes_must_match_the_spec(tmp_path) -> None:
    tensors = {k: v.contiguous() for k, v in build(SPEC).state_dict().items()}
    tensors["stem.weight"] = torch.zeros(4, 3)
    path = write(tmp_path / "m.safetensors", SPEC.to_dict(), tensors)
    with pytest.raises(weights.WeightsError, match=r"stem.weight has shape \(4, 3\); the spec needs"):
        weights.load(path)
    del tensors["stem.weight"]
    path = write(tmp_path / "n.safetensors", SPEC.to_dict(), tensors)
    with pytest.raises(weights.WeightsError, match="missing stem.weight"):
        weights.load(path)


def test_a_good_file_round_trips_with_its_skips(tmp_path) -> None:
    spec = SPEC.replace(skips=(True, False))
    model = build(spec)
    path = tmp_path / "m.safetensors"
    weights.save(model, spec, path)
    back, bspec = weights.load(path)
    assert bspec == spec and back.skips == [True, False]
    x = torch.randn(5, 2)
    model.eval(), back.eval()
    assert torch.equal(model(x), back(x))
