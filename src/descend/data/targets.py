"""The target, checked and encoded once: task inference, class labels and their codes.

>>> infer_task([0, 1, 1, 0])
'binary'
>>> LabelEncoder().fit(["b", "a", "b"]).transform(["a", "b"])
array([0, 1])
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import InputError
from .tables import (
    _as_ndarray,
    _check_no_missing,
    _column_kind,
    _distinct,
    _names,
    _parse,
    _show,
    _Table,
)

Task = Literal["regression", "binary", "multiclass"]

MAX_CLASSES = 20
"""infer_task: integer-valued targets with at most this many values are classes."""


# ----- the task -----------------------------------------------------------------------
def infer_task(y: Any, name: str | None = None) -> Task:
    """Guess the kind of model a target needs: ``infer_task([0, 1, 1, 0])`` -> ``'binary'``.

    Text, bool or category values -> 'binary' for two distinct values,
    'multiclass' for more. Numbers that are not all whole -> 'regression';
    two whole numbers -> 'binary'; more, all integers with
    at most MAX_CLASSES (20) distinct values, and at most half as many distinct
    values as rows -> 'multiclass'; other numbers -> 'regression'. A target
    with one row, one value, or a missing value is an error.
    """
    values, table, name = _labels(y, name)
    where = f"Target {name!r}"
    if len(values) == 1:
        raise InputError(
            f"{where} has a single row; a model cannot learn from one example (nor tell "
            "whether it is a number or a class). Use a table with more rows."
        )
    kind = "categorical" if str(getattr(y, "dtype", "")) == "category" else None
    kind = kind or _column_kind(values, where, table)
    distinct = _distinct(values)
    if len(distinct) == 1:
        raise InputError(
            f"Target {name!r} has one class only ({_show(distinct[0])}); "
            "a classifier needs at least two."
        )
    if kind == "categorical":
        return "binary" if len(distinct) == 2 else "multiclass"
    numbers = _parse(values)[0]
    integral = bool(np.all(numbers == np.round(numbers)))
    if len(distinct) == 2:
        return "binary" if integral else "regression"
    if integral and len(distinct) <= MAX_CLASSES and len(distinct) <= len(values) / 2:
        return "multiclass"
    return "regression"


# ----- class labels ------------------------------------------------------------------
class LabelEncoder:
    """Map labels to 0..k-1 and back: ``LabelEncoder().fit(["b", "a"]).classes_`` -> ['a', 'b'].

    ``classes_`` are sorted and held as Python values (str, int, float, bool),
    so they survive a trip through JSON.
    """

    def fit(self, y: Any) -> LabelEncoder:
        """Learn the sorted classes of ``y``: ``enc = LabelEncoder().fit(df["y"])``."""
        return self._learn(_labels(y)[0])

    def _learn(self, values: np.ndarray) -> LabelEncoder:
        """Fit on labels already checked (``_labels``)."""
        self.classes_: list[Any] = _distinct(values)
        return self

    def transform(self, y: Any) -> np.ndarray:
        """Labels as int64 class indices: ``enc.transform(["a", "b"])`` -> array([0, 1])."""
        classes = self._fitted()
        values, table, name = _labels(y)
        index = {c: i for i, c in enumerate(classes)}
        codes = np.fromiter((index.get(v, -1) for v in values.tolist()), np.int64, len(values))
        if (codes < 0).any():
            first = int(np.argmax(codes < 0))
            raise InputError(
                f"Unknown label {_show(values[first])} in row {table.row(first)} of target "
                f"{name!r}; the model knows {len(classes)} classes: {_names(classes)}."
            )
        return codes

    def inverse_transform(self, indices: Any) -> np.ndarray:
        """Class indices back to labels: ``enc.inverse_transform([1, 0])`` -> array(['b', 'a'])."""
        classes = self._fitted()
        codes = np.asarray(indices)
        k = len(classes)
        rule = f"Class indices must be integers in 0..{k - 1} (there are {k} classes)"
        if codes.dtype.kind not in "iu":
            raise InputError(f"{rule}; got an array of {codes.dtype}. Round or cast them first.")
        outside = (codes < 0) | (codes >= len(classes))
        if outside.any():
            raise InputError(f"{rule}; got {_show(codes[outside][0])}.")
        return np.asarray(classes, dtype=object if _mixed(classes) else None)[codes]

    def _fitted(self) -> list[Any]:
        if not hasattr(self, "classes_"):
            raise InputError("This LabelEncoder is not fitted yet; call fit(y) first.")
        return self.classes_

    def to_dict(self) -> dict[str, Any]:
        """The classes as JSON-ready data: ``{'classes': ['a', 'b']}``."""
        return {"classes": list(self._fitted())}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelEncoder:
        """Rebuild from to_dict(): ``LabelEncoder.from_dict({"classes": ["a", "b"]})``."""
        if not isinstance(d, dict) or not isinstance(d.get("classes"), list):
            raise InputError(
                "This is not a saved LabelEncoder (expected a dict with a 'classes' list); "
                "pass the dictionary that LabelEncoder.to_dict() made."
            )
        encoder = cls()
        encoder.classes_ = list(d["classes"])
        return encoder

    def __repr__(self) -> str:
        return "LabelEncoder()"


def check_class_labels(y: Any, name: str, fix: str) -> LabelEncoder:
    """Refuse numbers that are not whole as class labels: 5.599 and 6.02 are values, not classes;
    the labels' encoder, fitted on the values checked (the target is read once).

    ``fix`` says what to do instead (a regression model), in the caller's words.
    """
    values, table, name = _labels(y, name)
    categorical = str(getattr(y, "dtype", "")) == "category"
    if categorical or _column_kind(values, f"Target {name!r}", table) != "numeric":
        return LabelEncoder()._learn(values)
    numbers = _parse(values)[0]
    fractional = numbers != np.round(numbers)
    if fractional.any():
        first = values[int(np.argmax(fractional))]
        raise InputError(
            f"Target {name!r} holds continuous numbers, not whole (such as {_show(first)}), "
            f"which are values to predict, not class labels; {fix}"
        )
    return LabelEncoder()._learn(values)


def holds_text(y: Any) -> bool:
    """Whether a target holds values that are not numbers (text that does not parse as one).

    >>> holds_text(["1.5", "2"]), holds_text(["a", 2.0]), holds_text([1.0, float("inf")])
    (False, True, False)
    """
    values = _as_ndarray(y).reshape(-1)
    return bool(_parse(values)[1].any())


LARGEST_TARGET = 1e150
"""A regression target's values must be smaller than this: the squared errors of larger ones
(the loss, its curvature, the scores) overflow float64, whose largest number is 1.8e308."""


def check_target_size(values: np.ndarray, name: str) -> None:
    """Refuse a regression target (numbers) whose squared errors would overflow float64.

    >>> check_target_size(np.array([1.0, -1.7e308]), "y")
    Traceback (most recent call last):
    descend.errors.InputError: Target 'y' holds -1.7e+308; a regression target's values must ...
    """
    largest = float(values.flat[np.argmax(np.abs(values))])
    if abs(largest) >= LARGEST_TARGET:
        power = int(np.floor(np.log10(abs(largest))))
        raise InputError(
            f"Target {name!r} holds {largest:.3g}; a regression target's values must be "
            f"smaller than 1e{int(np.log10(LARGEST_TARGET))} in size, or their squared errors "
            f"overflow float64 (the loss would be inf). Divide the column by 1e{power} (and "
            "multiply the predictions by it)."
        )


def check_target(y: Any, name: str | None = None) -> None:
    """Refuse a target that is not one non-empty column or has a missing value."""
    _labels(y, name)


def _labels(y: Any, name: str | None = None) -> tuple[np.ndarray, _Table, str]:
    """A target as a 1-D array without missing values, a table to name its rows, and its name."""
    name = name or str(getattr(y, "name", None) or "y")
    values = _as_ndarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) == 0:
        raise InputError(f"Target {name!r} must be one non-empty column; got shape {values.shape}.")
    table = _Table(values.reshape(-1, 1), index_of=y)
    _check_no_missing(values, f"Target {name!r}", table, "drop those rows or fill them in")
    return values, table, name


def _mixed(classes: list[Any]) -> bool:
    return len({type(c) for c in classes}) > 1
