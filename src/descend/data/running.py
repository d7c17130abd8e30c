"""Preprocessing statistics and the target's values, accumulated over row blocks.

Data read in blocks (a file larger than memory, Dask partitions) is fitted in
one pass: ``PreprocessorStats.update`` takes each block (a DataFrame whose
index is the global row number, so errors name the row of the file), ``merge``
joins the statistics of blocks read apart (Dask partitions on their workers,
a tree of merges), and ``fitted`` gives the ``Preprocessor`` that
``Preprocessor.fit`` would have learned from all the rows at once: the same
kinds, categories and fill values, means and standard deviations equal to
rounding (Chan's update of count, mean and squared deviations, kept times a power
of two so that numbers near 1e308 cannot overflow). Memory holds the statistics,
not the rows: numbers take four numbers a column; categories
(and ``impute='most_frequent'``) a count per distinct value. The median needs
every value at once, so ``impute='median'`` is refused.

>>> import pandas as pd
>>> stats = PreprocessorStats(Preprocessor(), ["a"])
>>> stats.update(pd.DataFrame({"a": [1.0, 2.0]}))
>>> stats.update(pd.DataFrame({"a": [3.0, 4.0]}, index=[2, 3]))
>>> pre = stats.fitted(); pre.means_["a"], round(pre.scales_["a"], 6)
(2.5, 1.118034)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .preprocess import _IMPUTE_CATEGORY_FIX, _IMPUTE_FIX, Preprocessor
from .tables import (
    _check_known,
    _check_no_missing,
    _column_kind,
    _distinct,
    _feature_list,
    _missing,
    _py,
    _Table,
)
from .targets import MAX_CLASSES, _labels

TARGET_VALUES_KEPT = 1000
"""TargetStats keeps at most this many distinct target values (enough to tell the task)."""


class _Column:
    """What one column's blocks have shown so far.

    The numbers' count, mean and sum of squared deviations are kept times ``2**-shift``, where
    ``2**shift`` bounds every number seen (``mean_std``'s scaling, block by block): a column
    with values near 1e308 cannot overflow, and a larger number arriving only rescales the sums
    kept. Multiplying by a power of two is exact, so ordinary numbers give the same bits."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.first_row: Any = None  # the first row of the blocks that decided the kind
        self.count, self.mean, self.m2, self.shift = 0, 0.0, 0.0, _NO_SHIFT
        self.low, self.high = math.inf, -math.inf
        self.counts: Counter[Any] = Counter()  # categories, or numbers for most_frequent

    def add_numbers(self, numbers: np.ndarray, count_values: bool) -> None:
        present = numbers[~np.isnan(numbers)]
        if len(present):
            self.rescale(int(np.frexp(np.max(np.abs(present)))[1]))
            scaled = np.ldexp(present, -self.shift)
            mean = scaled.mean()
            self.combine(len(present), float(mean), float(((scaled - mean) ** 2).sum()))
            self.low, self.high = (
                min(self.low, float(present.min())),
                max(self.high, float(present.max())),
            )
        if count_values:
            self.counts.update(present.tolist())

    def rescale(self, shift: int) -> None:
        """Keep the sums times ``2**-shift`` from now on, if that is larger than now."""
        if shift > self.shift:
            drop, self.shift = self.shift - shift, shift
            self.mean, self.m2 = math.ldexp(self.mean, drop), math.ldexp(self.m2, 2 * drop)

    def combine(self, n: int, mean: float, m2: float) -> None:
        """Chan et al.'s parallel update of (count, mean, sum of squared deviations), all of
        them (these and the arguments) times 2**-shift."""
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def moments(self) -> tuple[float, float]:
        """The mean and the standard deviation of the numbers seen."""
        return (
            math.ldexp(self.mean, self.shift),
            math.ldexp(math.sqrt(self.m2 / self.count), self.shift),
        )

    def merge(self, other: _Column, name: str) -> None:
        if other.kind is not None and self.kind is not None and other.kind != self.kind:
            raise _mixed(name, self, other)
        self.kind = self.kind or other.kind
        self.first_row = self.first_row if self.first_row is not None else other.first_row
        if other.count:
            self.rescale(other.shift)
            scale = other.shift - self.shift  # <= 0
            self.combine(
                other.count, math.ldexp(other.mean, scale), math.ldexp(other.m2, 2 * scale)
            )
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.counts.update(other.counts)


_NO_SHIFT = -1100
"""A column's shift before its first number: below every float's exponent (2**-1074 is the
smallest), so the first number's own sets it."""


def _mixed(name: str, a: _Column, b: _Column) -> InputError:
    return InputError(
        f"Column {name!r} holds {a.kind} values in the block from row {a.first_row} and "
        f"{b.kind} values in the block from row {b.first_row}; make it one kind, or declare "
        "it categorical."
    )


class PreprocessorStats:
    """The statistics ``Preprocessor.fit`` needs, gathered block by block (see the module)."""

    def __init__(self, pre: Preprocessor, features: Sequence[str]) -> None:
        if pre.impute == "median":
            raise InputError(
                "impute='median' needs every value of a column at once, which data read in "
                "blocks does not give; use impute='mean' or 'most_frequent'."
            )
        self.pre = pre
        self.features = [features] if isinstance(features, str) else list(features)
        self.columns = {name: _Column() for name in self.features}
        self.rows = 0

    def update(self, df: Any) -> None:
        """Add one block of rows (a DataFrame; its index names the rows in errors)."""
        table = _Table(df)
        if not self.rows and not any(c.kind for c in self.columns.values()):
            _feature_list(self.features, table.names)
            _check_known(self.pre._categorical(), self.features, "categorical feature")
        self.rows += table.n_rows
        for name in self.features:
            self._add(name, table.column(name), table)

    def _add(self, name: str, values: np.ndarray, table: _Table) -> None:
        column, where = self.columns[name], f"Column {name!r}"
        missing = _missing(values)
        if missing.all():  # a block of nothing decides nothing
            return
        forced = name in self.pre._categorical() or table.is_categorical_dtype(name)
        kind = "categorical" if forced else _column_kind(values, where, table)
        block = _Column()
        block.kind, block.first_row = kind, table.row(0)
        column.merge(block, name)
        if kind == "numeric":
            numbers = self.pre._finite_numbers(name, values, table)  # text or infinity: an error
        elif not self.pre.one_hot:
            raise InputError(
                f"Column {name!r} holds categories, which need one-hot encoding; turn one_hot "
                "on, drop the column, or convert it to numbers."
            )
        if self.pre.impute is None and missing.any():
            fix = _IMPUTE_FIX if kind == "numeric" else _IMPUTE_CATEGORY_FIX
            _check_no_missing(values, where, table, fix)
        if kind == "numeric":
            column.add_numbers(numbers, self.pre.impute == "most_frequent")
        else:
            column.counts.update(_py(v) for v in values[~missing].tolist())

    def merge(self, other: PreprocessorStats) -> PreprocessorStats:
        """These statistics and ``other``'s, as if one had seen both blocks."""
        for name, column in self.columns.items():
            column.merge(other.columns[name], name)
        self.rows += other.rows
        return self

    def fitted(self) -> Preprocessor:
        """A fitted Preprocessor, as ``Preprocessor.fit`` on every row seen would give."""
        pre = self.pre
        pre.input_features_ = list(self.features)
        pre.kinds_, pre.means_, pre.scales_, pre.categories_, pre.fill_values_ = {}, {}, {}, {}, {}
        for name, column in self.columns.items():
            if column.kind is None:
                raise InputError(f"Column {name!r} has no values at all; drop it.")
            pre.kinds_[name] = column.kind
            if column.kind == "categorical":
                pre.categories_[name] = _distinct(np.asarray(list(column.counts), dtype=object))
                if pre.impute is not None:
                    most = max(pre.categories_[name], key=column.counts.__getitem__)
                    pre.fill_values_[name] = most  # the first of ties, as fit
                continue
            self._numeric(name, column)
        pre.feature_names_out_ = pre._names_out()
        return pre

    def _numeric(self, name: str, column: _Column) -> None:
        pre, filled = self.pre, _Column()
        filled.rescale(column.shift)
        filled.combine(column.count, column.mean, column.m2)
        if pre.impute is not None:
            fill = column.moments()[0]
            if pre.impute == "most_frequent":
                top = max(column.counts.values())
                fill = float(min(v for v, c in column.counts.items() if c == top))
            pre.fill_values_[name] = fill
            if self.rows > column.count:  # the filled rows are part of the statistics
                filled.combine(self.rows - column.count, math.ldexp(fill, -filled.shift), 0.0)
        pre.means_[name], pre.scales_[name] = 0.0, 1.0
        if pre.standardize and column.low == column.high:  # constant: 0 exactly, as fit
            pre.means_[name] = column.low
        elif pre.standardize:
            pre.means_[name], pre.scales_[name] = filled.moments()


class TargetStats:
    """A target column's values, block by block: enough to choose the task and the classes
    (``sample`` stands for the column in ``models.choose``), never more than
    TARGET_VALUES_KEPT distinct values."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.values: set[Any] = set()
        self.many = False
        self.categorical = False
        self.largest: float | None = None  # the number largest in size, which sample() keeps

    def update(self, y: Any) -> None:
        values, table, _ = _labels(y, self.name)  # refuses a missing value, naming its row
        self.rows += len(values)
        self.categorical = self.categorical or str(getattr(y, "dtype", "")) == "category"
        if values.dtype.kind in "fiu":
            self._keep_largest(float(values[np.argmax(np.abs(values))]))
        if not self.many:
            self.values.update(_py(v) for v in _distinct(values))
            self.many = len(self.values) > TARGET_VALUES_KEPT

    def _keep_largest(self, value: float | None) -> None:
        if value is not None and (self.largest is None or abs(value) > abs(self.largest)):
            self.largest = value

    def merge(self, other: TargetStats) -> TargetStats:
        self.rows += other.rows
        self.categorical = self.categorical or other.categorical
        self.many = self.many or other.many or len(self.values | other.values) > TARGET_VALUES_KEPT
        self.values |= other.values
        self._keep_largest(other.largest)
        return self

    def sample(self) -> Any:
        """Values the task is inferred from as from the whole column: each distinct value
        twice (once when the column has fewer than twice as many rows), as a Series."""
        import pandas as pd

        if self.rows == 0:
            raise InputError(f"Target {self.name!r} has no rows; the data is empty.")
        distinct = _distinct(np.asarray(list(self.values), dtype=object))
        if self.many and len(distinct) > MAX_CLASSES:
            distinct = distinct[: TARGET_VALUES_KEPT + 1]
            if self.largest is not None:  # numbers to predict: the largest is checked too
                distinct = [*distinct[:TARGET_VALUES_KEPT], self.largest]
        repeat = 2 if self.rows >= 2 * len(distinct) else 1
        values = [v for v in distinct for _ in range(repeat)]
        return pd.Series(values, name=self.name, dtype="category" if self.categorical else None)

    def check_classes(self) -> None:
        """Refuse a classification target with more classes than are kept."""
        if self.many:
            raise InputError(
                f"Target {self.name!r} has more than {TARGET_VALUES_KEPT} distinct values; as "
                "classes that is too many to learn from blocks. Predict it as a number "
                "(task='regression')."
            )
