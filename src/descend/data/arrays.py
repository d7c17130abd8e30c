"""Arrays out: checked float arrays, the validation split, minibatch indices and row blocks.

>>> to_array([[1, 2], [3, 4]]).dtype
dtype('float64')
>>> [len(b) for b in batch_indices(5, 2, shuffle=False)]
[2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validation import Interval, at_least, validate_params
from ..errors import InputError
from .tables import _as_ndarray, _numbers, _Table


# ----- splits, batches and blocks ---------------------------------------------------
@validate_params(
    {"n_rows": [at_least(2)], "fraction": [Interval(float, 0, 1, "neither", words="a number")]}
)
def train_validation_split(
    n_rows: int, fraction: float, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row indices and hold out a fraction: ``train_validation_split(10, 0.2, seed=0)``.

    Returns (train_idx, val_idx), each sorted; the validation set has
    ``validation_size(n_rows, fraction)`` rows.
    """
    n_val = validation_size(n_rows, fraction)
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def validation_size(n_rows: int, fraction: float | None) -> int:
    """How many of ``n_rows`` rows a validation ``fraction`` holds out: round(n_rows *
    fraction), at least 1 and at most n_rows - 1 (0 without a fraction). What a command says
    before the split is made: ``validation_size(200, 0.2)`` -> 40."""
    if not fraction or n_rows < 2:
        return 0
    return min(max(round(n_rows * fraction), 1), n_rows - 1)


@validate_params({"n_rows": [at_least(1)], "batch_size": [at_least(1)]})
def batch_indices(
    n_rows: int, batch_size: int, shuffle: bool = True, rng: Any = None
) -> Iterator[np.ndarray]:
    """Row indices, one array per mini-batch: ``list(batch_indices(5, 2, shuffle=False))``.

    The last batch may be smaller. ``rng`` is a numpy Generator or a seed; pass
    one Generator for the whole run, since a seed gives the same order every call.
    """
    order = np.random.default_rng(rng).permutation(n_rows) if shuffle else np.arange(n_rows)
    for start in range(0, n_rows, batch_size):
        yield order[start : start + batch_size]


@validate_params({"n_rows": [at_least(1)], "block_size": [at_least(1)]})
def row_blocks(n_rows: int, block_size: int) -> Iterator[slice]:
    """Contiguous blocks of rows covering 0..n_rows-1: ``list(row_blocks(5, 2))``.

    Full-batch training sums the loss and gradient of each block.
    """
    for start in range(0, n_rows, block_size):
        yield slice(start, min(start + block_size, n_rows))


# ----- arrays ---------------------------------------------------------------------------
def to_array(
    x: Any, name: str = "X", ndim: int = 2, dtype: Any = np.float64, fix: str = ""
) -> np.ndarray:
    """Numbers as a float array (float64 unless ``dtype``), checked: ``to_array([[1, 2]])``.

    Takes an ndarray, nested lists, or a pandas or polars DataFrame or Series.
    ``ndim`` is 2 for a feature matrix and 1 for a target (an (n, 1) column is
    flattened). Text, missing and infinite values are errors naming the column
    and the first bad row. A numeric ndarray of the right shape and dtype comes
    back as it is, not copied: training data can be most of the memory.
    ``fix`` replaces the advice given for a value that is not a number.
    """
    if (
        isinstance(x, np.ndarray)
        and x.dtype.kind in "fiu"
        and x.ndim == ndim
        and x.size
        and np.isfinite(x.sum(dtype=np.float64))  # NaN and inf survive a sum; overflow re-checks
    ):
        return x.astype(dtype, copy=False)
    return _checked_array(x, name, ndim, fix or _TO_ARRAY_FIX).astype(dtype, copy=False)


def to_targets(y: Any, name: str = "y", dtype: Any = np.float64) -> np.ndarray:
    """Targets as a checked array: 1-D for one output (an (n, 1) column is flattened), 2-D for
    several outputs or class probabilities: ``to_targets([[1.0], [2.0]])`` -> array([1., 2.])."""
    several = np.ndim(y) == 2 and np.shape(y)[1] > 1
    return to_array(y, name=name, ndim=2 if several else 1, dtype=dtype)


def row_weights(
    sample_weight: Any, n_rows: int, dtype: Any = np.float64, rows_of: str = "X"
) -> np.ndarray:
    """Sample weights checked: one number >= 0 per row of ``rows_of`` (or one number for all
    rows), not all zero, as a 1-D array. The one check of sample weights: ``fit``'s, and the
    estimators' where scikit-learn does not check them. ``row_weights(2.0, 3)`` ->
    array([2., 2., 2.])."""
    shape = np.shape(sample_weight)
    if shape == ():
        sample_weight, shape = np.full(n_rows, sample_weight), (n_rows,)
    if len(shape) != 1:
        raise InputError(
            f"sample_weight must be one number per row of {rows_of}, shape ({n_rows},), or one "
            f"number for all rows; got shape {shape}."
        )
    if shape[0] != n_rows:
        raise InputError(
            f"{rows_of} has {n_rows} rows but sample_weight has {shape[0]}; give one weight per "
            f"row (sample_weight must be one number per row of {rows_of}, shape ({n_rows},))."
        )
    values = to_array(sample_weight, name="sample_weight", ndim=1, dtype=dtype)
    if (values < 0).any():
        first = int(np.argmax(values < 0))
        raise InputError(
            f"sample_weight has a negative value ({values[first]:g}) in row {first}; weights "
            "must be >= 0 with a positive sum."
        )
    if not values.any():
        raise InputError(
            "sample_weight must be >= 0 with a positive sum, but it is zero in every row; give "
            "it at least one non-zero number."
        )
    return values


def _checked_array(x: Any, name: str, ndim: int, fix: str) -> np.ndarray:
    if hasattr(x, "columns"):
        table = _Table(x)
        named = True
    else:
        array = _as_ndarray(x)
        if ndim == 1 and array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != ndim:
            hint = " For a single feature use X.reshape(-1, 1)." if array.ndim < ndim else ""
            raise InputError(f"{name} must be {ndim}-D; got shape {array.shape}.{hint}")
        if array.size == 0:
            raise InputError(f"{name} is empty (shape {array.shape}); it needs at least one value.")
        table = _Table(array.reshape(len(array), -1), index_of=x)
        named = False
    if ndim == 1 and len(table.names) != 1:
        raise InputError(f"{name} must be one column; got {len(table.names)} columns.")
    if table.n_rows == 0 or not table.names:
        shape = (table.n_rows, len(table.names))
        raise InputError(f"{name} is empty (shape {shape}); it needs at least one value.")

    def where(j: int) -> str:
        if ndim == 1:
            return name
        return f"{name} column {table.names[j]!r}" if named else f"{name} column {j}"

    columns = [_numbers(table.column(c), where(j), table, fix) for j, c in enumerate(table.names)]
    array = np.column_stack(columns) if ndim == 2 else columns[0]
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = np.unravel_index(int(np.argmax(bad)), array.reshape(len(array), -1).shape)
        value = array.reshape(len(array), -1)[row, col]
        kind = "a missing value (NaN)" if np.isnan(value) else f"an infinite value ({value})"
        raise InputError(
            f"{where(int(col))} has {kind} in row {table.row(int(row))}; "
            "replace it or drop the row before training."
        )
    return array


_TO_ARRAY_FIX = "convert it to a number, or use Preprocessor for tables with text columns."
