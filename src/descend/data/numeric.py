"""Numeric columns as 2-D blocks: statistics that cannot overflow, to the bits of one column.

A table of 200,000 numeric columns is 200,000 calls of anything done a column
at a time; ``fit``, ``transform`` and ``check_table`` take the columns of
plain numbers (``plain``) as float64 blocks in Fortran order instead
(``_Table.block``), at most BLOCK_VALUES values at a time (``chunks``), so
that the memory stays bounded for a tall table. Each column of such a block is
contiguous, so NumPy sums it pairwise exactly as it sums the column alone:
``column_stats`` gives the bits ``mean_std`` gives column by column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .tables import _Table


def mean_std(numbers: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of finite numbers, without overflow near 1e308: computed on
    the numbers times a power of two that brings the largest to [0.5, 1), then scaled back.
    Multiplying by a power of two is exact, so for ordinary numbers the bits are NumPy's own
    (and the squares of tiny numbers no longer underflow to a std of 0).

    >>> mean_std(np.array([1.5e308, 1.5e308, -1e308]))
    (6.666666666666666e+307, 1.1785113019775791e+308)
    """
    mean, std = column_stats(np.asarray(numbers).reshape(-1, 1))
    return float(mean[0]), float(std[0])


def column_stats(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mean_std`` of each column of a 2-D array of finite numbers at once. In Fortran order
    a column is contiguous, so NumPy sums it pairwise as it sums the column alone: the same
    bits as ``mean_std`` of each column (in C order it would add the rows one by one)."""
    block = np.asfortranarray(block)
    shift = np.frexp(np.max(np.abs(block), axis=0))[1]
    scaled = np.ldexp(block, -shift)
    return np.ldexp(scaled.mean(axis=0), shift), np.ldexp(scaled.std(axis=0), shift)


BLOCK_VALUES = 1 << 23
"""Values of the numeric columns taken at once by fit, transform and check_table (64 MB)."""


def plain(table: _Table, features: Sequence[str], categorical: Sequence[str] = ()) -> list[str]:
    """The features of plain numbers (not declared categorical): taken as 2-D blocks."""
    forced = set(categorical)
    if not table.n_rows:
        return []
    return [name for name in features if name not in forced and table.plain_numbers(name)]


def chunks(names: list[str], rows: int) -> list[list[str]]:
    """``names`` in runs of at most BLOCK_VALUES values of ``rows`` rows."""
    width = max(1, BLOCK_VALUES // rows)
    return [names[i : i + width] for i in range(0, len(names), width)]
