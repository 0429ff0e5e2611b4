"""Load a weights file saved by the app or `train --save` and evaluate it on a data set.

The file carries its NetworkSpec (safetensors metadata), so the model is rebuilt exactly,
skip switches included (they are buffers in the state dict). The data set is not in the
file: name it with --dataset, or the first one whose input shape and classes fit is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from resviz import budget
from resviz.cli_args import NOISE, SAMPLES, SEED
from resviz.data import DATASETS, TOY_SETS, Dataset, load
from resviz.spec import NetworkSpec
from resviz.train import evaluate
from resviz.weights import load as load_weights
from resviz.weights import read_spec

COMMAND = "evaluate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", required=True, help="a .safetensors file written by ResViz")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="default: the first data set whose shape fits the model")
    p.add_argument("--samples", type=SAMPLES, default=1000, help="data set size (4..200000)")
    p.add_argument("--noise", type=NOISE, default=0.1, help="toy data noise (0..10)")
    p.add_argument("--data-seed", type=SEED, default=0)


def fitting_dataset(spec: NetworkSpec) -> str:
    """The first data set the model's input shape and class count fit (toys: by shape only)."""
    if spec.input_shape == (2,):
        return "spirals" if spec.n_classes == 2 else "blobs"
    for name in DATASETS:
        if name in TOY_SETS:
            continue
        data = load(name, 200)
        if data.input_shape == spec.input_shape and data.n_classes == spec.n_classes:
            return name
    raise ValueError(f"no built-in data set has input shape {spec.input_shape}; pass --dataset")


def evaluate_on(model, data: Dataset) -> dict[str, float]:
    train_loss, train_acc = evaluate(model, data.x_train, data.y_train)
    test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
    return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}


def read(path: str, samples: int | None = None):
    """The model and spec in `path`; any unreadable file is a clear ValueError, not a traceback.

    With `samples`, the evaluation's memory and work are checked against the budget from the
    spec alone, before the model is built or any data made.
    """
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    try:
        if samples is not None:
            spec = read_spec(path)
            cost = budget.data(samples, spec.input_shape) + budget.forward(
                budget.NetSize.of_spec(spec), samples, passes=1)
            budget.check(cost, f"evaluating {path} on {samples} samples")
        return load_weights(path)
    except ValueError:  # SpecError, WeightsError, BudgetError: already one clear line
        raise
    except Exception as e:  # safetensors raises its own error type for a corrupt header
        raise ValueError(f"{path}: not a readable ResViz weights file ({e})") from e


def main(args: argparse.Namespace) -> dict:
    model, spec = read(args.weights, args.samples)
    name = args.dataset or fitting_dataset(spec)
    data = load(name, args.samples, args.noise, args.data_seed)
    if data.input_shape != spec.input_shape or data.n_classes != spec.n_classes:
        raise ValueError(f"the model expects input {spec.input_shape} and {spec.n_classes} classes; "
                         f"{name} has {data.input_shape} and {data.n_classes}")
    return {"weights": str(args.weights), "spec": spec.to_dict(), "dataset": name,
            "skips": model.skips, "parameters": sum(p.numel() for p in model.parameters()),
            **evaluate_on(model, data)}
