"""Data sets: sizes, class balance, fixed splits, determinism, noise honoured."""

from __future__ import annotations

import pytest
import torch

from resviz.data import DATASETS, TOY_SETS, grid, load


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_sets_have_requested_size_and_balance(name: str) -> None:
    d = load(name, 400, 0.1, 0)
    n = len(d.y_train) + len(d.y_test)
    assert n == 400
    counts = torch.bincount(torch.cat([d.y_train, d.y_test]))
    assert counts.max() - counts.min() == 0
    assert d.input_shape == (2,)
    assert set(d.y_test.tolist()) == set(range(d.n_classes))  # every class in the test half


@pytest.mark.parametrize("name", TOY_SETS)
def test_seeded_and_noise_matters(name: str) -> None:
    a, b = load(name, 200, 0.2, 3), load(name, 200, 0.2, 3)
    torch.testing.assert_close(a.x_train, b.x_train)
    c = load(name, 200, 0.2, 4)
    assert not torch.equal(a.x_train, c.x_train)
    quiet = load(name, 200, 0.0, 3)
    assert not torch.equal(quiet.x_train, a.x_train)


def test_split_is_disjoint_and_thirty_percent() -> None:
    d = load("spirals", 1000, 0.1, 0)
    assert len(d.y_test) == 300
    train = {tuple(p) for p in d.x_train.tolist()}
    assert not any(tuple(p) in train for p in d.x_test.tolist())


def test_digits_are_the_real_sklearn_images() -> None:
    d = load("digits", 5000, 0, 0)
    assert len(d.y_train) + len(d.y_test) == 1797
    assert d.input_shape == (1, 8, 8) and d.n_classes == 10
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1


def test_real_sets_can_be_subsampled() -> None:
    d = load("digits", 200, 0, 0)
    assert len(d.y_train) + len(d.y_test) == 200


def test_one_sample_per_class_still_splits() -> None:
    d = load("spirals", 4, 0.0, 0)
    assert len(d.y_train) >= 2 and len(d.y_test) >= 2


def test_unknown_dataset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        load("imagenet")


def test_grid_covers_the_plane() -> None:
    ax, pts = grid(10)
    assert pts.shape == (100, 2) and ax[0] < -1 and ax[-1] > 1


def test_all_names_listed() -> None:
    assert set(DATASETS) >= {"spirals", "circles", "moons", "xor", "blobs", "digits"}
