"""Tests for descend.data.arrays: checked arrays, sample weights, the validation split,
batches and row blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import descend.data as data
from descend.data import (
    batch_indices,
    row_blocks,
    to_array,
    train_validation_split,
)
from descend.errors import InputError


# ----- splits, batches, blocks ------------------------------------------------------------
def test_train_validation_split() -> None:
    train, val = train_validation_split(10, 0.2, seed=0)
    assert len(train) == 8 and len(val) == 2
    np.testing.assert_array_equal(val, np.sort(np.random.default_rng(0).permutation(10)[:2]))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(10))
    big_train, big_val = train_validation_split(100, 0.3, seed=3)
    assert len(big_val) == 30 and (np.diff(big_val) > 0).all() and (np.diff(big_train) > 0).all()
    again = train_validation_split(10, 0.2, seed=0)
    np.testing.assert_array_equal(again[1], val)
    assert len(train_validation_split(3, 0.01, seed=1)[1]) == 1  # at least one row
    assert len(train_validation_split(3, 0.99, seed=1)[0]) == 1  # at least one row to train on


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, True, "0.2"])
def test_train_validation_split_fraction_errors(fraction) -> None:
    with pytest.raises(
        InputError,
        match=(
            r"'fraction' parameter of train_validation_split must be a "
            r"number in \(0, 1\)\. Got .* instead\."
        ),
    ):
        train_validation_split(10, fraction, seed=0)


def test_train_validation_split_needs_two_rows() -> None:
    with pytest.raises(
        InputError,
        match=(
            r"'n_rows' parameter of train_validation_split must be "
            r"an int in \[2, inf\)\. Got 1 instead\."
        ),
    ):
        train_validation_split(1, 0.5, seed=0)


def test_batch_indices() -> None:
    batches = [b.tolist() for b in batch_indices(7, 3, shuffle=False)]
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    shuffled = list(batch_indices(7, 3, shuffle=True, rng=np.random.default_rng(1)))
    assert [len(b) for b in shuffled] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(shuffled), np.random.default_rng(1).permutation(7))
    assert [b.tolist() for b in batch_indices(3, 10, shuffle=False)] == [[0, 1, 2]]


@pytest.mark.parametrize("size", [0, -1, 2.5, True, None])
def test_batch_size_errors(size) -> None:
    with pytest.raises(
        InputError,
        match=r"^The 'batch_size' parameter of batch_indices must be an int in \[1, inf\)\.",
    ):
        list(batch_indices(5, size, shuffle=False))


def test_row_blocks() -> None:
    assert list(row_blocks(5, 2)) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert list(row_blocks(4, 4)) == [slice(0, 4)]
    with pytest.raises(
        InputError,
        match=r"'block_size' parameter of row_blocks must be an int in \[1, inf\)\. Got 0",
    ):
        list(row_blocks(4, 0))


# ----- to_array --------------------------------------------------------------------------
def test_to_array() -> None:
    X = to_array([[1, 2], [3, 4]])
    assert X.dtype == np.float64 and X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    frame = to_array(pd.DataFrame({"a": [1, 2], "b": ["3", "4.5"]}))
    assert frame.tolist() == [[1.0, 3.0], [2.0, 4.5]]
    y = to_array(np.array([[1], [0]]), "y", ndim=1)
    assert y.shape == (2,) and y.tolist() == [1.0, 0.0]
    assert to_array(pd.Series([1, 2]), "y", ndim=1).tolist() == [1.0, 2.0]


def test_to_array_errors() -> None:
    with pytest.raises(
        InputError,
        match=r"^X must be 2-D; got shape \(3,\)\. For a single feature use X\.reshape\(-1, 1\)\.$",
    ):
        to_array([1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"^X column 1 has a missing value \(NaN\) in row 2; "):
        to_array([[1, 2], [3, 4], [5, np.nan]])
    with pytest.raises(InputError, match=r"^X column 0 has an infinite value \(inf\) in row 1; "):
        to_array(np.array([[1.0], [np.inf]]))
    with pytest.raises(
        InputError,
        match=r"^X column 'b' should hold numbers but row 1 holds 'x'; .*use Preprocessor",
    ):
        to_array(pd.DataFrame({"a": [1, 2], "b": ["3", "x"]}))
    with pytest.raises(InputError, match=r"^X column 'a' has a missing value \(NaN\) in row 12;"):
        to_array(pd.DataFrame({"a": [1.0, np.nan]}, index=[11, 12]))
    with pytest.raises(InputError, match=r"^y has a missing value \(NaN\) in row 0;"):
        to_array([np.nan, 1.0], "y", ndim=1)
    with pytest.raises(InputError, match=r"X is empty"):
        to_array(np.zeros((0, 3)))


def test_one_weight_for_all_rows_is_that_weight_in_every_row():
    assert data.row_weights(2.5, 3).tolist() == [2.5, 2.5, 2.5]
    assert data.row_weights([1, 0, 3], 3, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("n_rows", [2, 3, 7, 10, 101])
@pytest.mark.parametrize("fraction", [0.01, 0.2, 0.5, 0.99])
def test_validation_size_is_the_size_of_the_split_made_later(n_rows, fraction):
    held = data.train_validation_split(n_rows, fraction, seed=3)[1]
    assert data.validation_size(n_rows, fraction) == len(held)
    assert data.validation_size(n_rows, None) == 0
