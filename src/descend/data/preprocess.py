"""Preprocessing saved with the model: standardise numbers, one-hot encode text, warn.

``Preprocessor.fit`` learns each column's kind and statistics from the training
rows only; ``to_dict`` / ``from_dict`` carry them in the model file, so that
``transform`` gives the same bits at predict time. ``check_table`` lists what is
worth reading about a table before training (constant, duplicated or
identifier-like columns, scales far apart, more features than rows).

>>> import pandas as pd
>>> from descend.data import Preprocessor
>>> df = pd.DataFrame({"age": [20.0, 40.0], "sex": ["f", "m"]})
>>> pre = Preprocessor().fit(df, ["age", "sex"])
>>> pre.feature_names_out_
['age', 'sex=f', 'sex=m']
>>> pre.transform(df)
array([[-1.,  1.,  0.],
       [ 1.,  0.,  1.]])
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .._validation import Boolean, Constraints, InstanceOf, Options, check, register
from ..errors import InputError
from .numeric import chunks, column_stats, mean_std, plain
from .tables import (
    _check_known,
    _check_no_missing,
    _column_kind,
    _distinct,
    _feature_list,
    _missing,
    _names,
    _numbers,
    _parse,
    _py,
    _Table,
)

IMPUTE_STRATEGIES = (None, "mean", "median", "most_frequent")
"""Values of Preprocessor's ``impute`` parameter."""

SCALE_RATIO = 1e3
"""check_table: warn when, without standardisation, feature stds differ by more than this."""

ID_MIN_ROWS = 20
"""check_table: a text column unique in every row of a table this long looks like an identifier."""

_FORMAT = "descend.Preprocessor"


class DataWarning(UserWarning):
    """A problem with the data that training survives but should not ignore."""


# ----- preprocessing ----------------------------------------------------------------
class Preprocessor:
    """Standardise numeric columns and one-hot encode the rest: ``Preprocessor().fit(df, ["age"])``.

    ``transform`` turns a table into a float64 array; ``to_dict`` saves what
    ``fit`` learned as JSON-ready data, and ``from_dict`` brings it back so that
    ``transform`` gives the same bits.

    A category not seen by ``fit`` is encoded as all zeros in its one-hot
    columns (the model then uses only its bias for that column). Missing values
    are an error unless ``impute`` is set: numeric columns are filled with the
    mean, median or most frequent value, categorical columns always with the
    most frequent category. Infinite values are always an error. ``categorical``
    names columns to one-hot encode even though they hold numbers (codes).
    """

    _constraints: Constraints = {
        "standardize": [Boolean()],
        "one_hot": [Boolean()],
        "impute": [Options(*IMPUTE_STRATEGIES)],
        "categorical": [InstanceOf((str, list, tuple), "a column name or a list of them")],
    }

    def __init__(
        self,
        standardize: bool = True,
        one_hot: bool = True,
        impute: str | None = None,
        categorical: Sequence[str] = (),
    ) -> None:
        check("Preprocessor", self._constraints, dict(locals()))
        self.standardize = standardize
        self.one_hot = one_hot
        self.impute = impute
        self.categorical = categorical

    def _categorical(self) -> list[str]:
        """The ``categorical`` parameter as a list (one name may be given as a string)."""
        given = self.categorical
        return [given] if isinstance(given, str) else list(given)

    def fit(
        self,
        df: Any,
        features: Sequence[str] | None = None,
        check: bool = True,
        sample_weight: Any = None,
    ) -> Preprocessor:
        """Learn each column's kind, shift, scale, categories and fill: ``pre.fit(df, ["age"])``.

        ``features`` defaults to every column. With ``check``, the warnings of
        ``check_table`` are emitted as DataWarning. ``sample_weight`` (one number >= 0
        per row) weighs the rows in the means, scales and fill values as if each row
        were repeated that many times.
        """
        table = _Table(df)
        features = _feature_list(features if features is not None else table.names, table.names)
        categorical = self._categorical()
        _check_known(categorical, features, "categorical feature")
        if check:
            for message in check_table(df, features, None, standardize=self.standardize):
                warnings.warn(message, DataWarning, stacklevel=2)
        self.input_features_: list[str] = list(features)
        self.kinds_: dict[str, str] = {}
        self.means_: dict[str, float] = {}
        self.scales_: dict[str, float] = {}
        self.categories_: dict[str, list[Any]] = {}
        self.fill_values_: dict[str, Any] = {}
        blocks = [] if sample_weight is not None else plain(table, features, categorical)
        for names in chunks(blocks, table.n_rows):
            self._fit_block(names, table.block(names), table)
        done = set(blocks)
        for name in features:
            if name in done:
                continue
            values = table.column(name)
            where = f"Column {name!r}"
            forced = name in categorical or table.is_categorical_dtype(name)
            kind = "categorical" if forced else _column_kind(values, where, table)
            self.kinds_[name] = kind
            if kind == "numeric":
                self._fit_numeric(name, values, table, sample_weight)
            else:
                self._fit_categorical(name, values, table, sample_weight)
        for learned in ("kinds_", "means_", "scales_", "fill_values_"):  # in the features' order
            found = getattr(self, learned)
            setattr(self, learned, {name: found[name] for name in features if name in found})
        self.feature_names_out_: list[str] = self._names_out()
        return self

    def _fit_block(self, names: list[str], block: np.ndarray, table: _Table) -> None:
        """``_fit_numeric`` of columns of plain numbers at once, to the same bits; a column
        with a missing or infinite value goes through ``_fit_numeric`` (and its errors)."""
        whole = ~(np.isnan(block) | np.isinf(block)).any(axis=0)
        for j in np.flatnonzero(~whole):
            self.kinds_[names[j]] = "numeric"
            self._fit_numeric(names[j], block[:, j], table, None)
        names = [name for name, keep in zip(names, whole.tolist()) if keep]
        block = block[:, whole]
        self.kinds_.update(dict.fromkeys(names, "numeric"))
        if self.impute == "mean":
            self.fill_values_.update(zip(names, column_stats(block)[0].tolist()))
        elif self.impute is not None:
            for name, column in zip(names, block.T):
                self.fill_values_[name] = _fill_value(column, None, self.impute)
        mean, scale = np.zeros(len(names)), np.ones(len(names))
        if self.standardize:
            mean, scale = column_stats(block)
            constant = block.min(axis=0) == block.max(axis=0)  # 0 exactly, no 0/0
            mean[constant], scale[constant] = block[0, constant], 1.0
        self.means_.update(zip(names, mean.tolist()))
        self.scales_.update(zip(names, scale.tolist()))

    def _fit_numeric(self, name: str, values: np.ndarray, table: _Table, weight: Any) -> None:
        numbers = self._finite_numbers(name, values, table)
        missing = np.isnan(numbers)
        if missing.all():
            raise InputError(f"Column {name!r} has no values at all; drop it.")
        if self.impute is not None:
            present = _weighed(numbers[~missing], None if weight is None else weight[~missing])
            self.fill_values_[name] = _fill_value(*present, self.impute)
        numbers, weight = _weighed(self._filled(name, numbers, missing, table), weight)
        self.means_[name], self.scales_[name] = 0.0, 1.0
        if self.standardize and numbers.min() == numbers.max():  # constant: 0 exactly, no 0/0
            self.means_[name] = float(numbers[0])
        elif self.standardize and weight is None:
            self.means_[name], self.scales_[name] = mean_std(numbers)
        elif self.standardize:
            mean = np.average(numbers, weights=weight)
            self.means_[name] = float(mean)
            self.scales_[name] = float(np.sqrt(np.average((numbers - mean) ** 2, weights=weight)))

    def _fit_categorical(self, name: str, values: np.ndarray, table: _Table, weight: Any) -> None:
        if not self.one_hot:
            raise InputError(
                f"Column {name!r} holds categories, which need one-hot encoding; turn one_hot "
                "on, drop the column, or convert it to numbers."
            )
        missing = _missing(values)
        categories = _distinct(values)
        if not categories:
            raise InputError(f"Column {name!r} has no values at all; drop it.")
        self.categories_[name] = categories
        if self.impute is not None:
            counts = dict.fromkeys(categories, 0.0)
            each = np.ones(len(values)) if weight is None else weight
            for v, w in zip(values[~missing].tolist(), each[~missing].tolist()):
                counts[v] += w
            self.fill_values_[name] = max(categories, key=counts.__getitem__)  # first of ties
        self._filled(name, values, missing, table)  # without impute, a missing value is an error

    def _finite_numbers(self, name: str, values: np.ndarray, table: _Table) -> np.ndarray:
        """The column as float64 (NaN where missing), or an error for text or infinity."""
        where = f"Column {name!r}"
        fix = "replace it with a number (or leave it blank to mark it missing)."
        numbers = _numbers(values, where, table, fix)
        infinite = np.isinf(numbers)
        if infinite.any():
            first = int(np.argmax(infinite))
            raise InputError(
                f"{where} has an infinite value ({numbers[first]}) in row {table.row(first)}; "
                "replace it with a finite number or drop the row."
            )
        return numbers

    def _filled(self, name: str, values: np.ndarray, missing: np.ndarray, table: _Table) -> Any:
        """``values`` with missing values replaced by the fill value, or an error without impute."""
        if not missing.any():
            return values
        if self.impute is None:
            numeric = self.kinds_[name] == "numeric"
            fix = _IMPUTE_FIX if numeric else _IMPUTE_CATEGORY_FIX
            _check_no_missing(values, f"Column {name!r}", table, fix)
        filled = values.astype(object) if values.dtype.kind not in "f" else values.copy()
        filled[missing] = self.fill_values_[name]
        return filled

    def _names_out(self) -> list[str]:
        names: list[str] = []
        for name in self.input_features_:
            if self.kinds_[name] == "numeric":
                names.append(name)
            else:
                names.extend(f"{name}={c}" for c in self.categories_[name])
        return names

    def transform(self, df: Any) -> np.ndarray:
        """The table as float64, shape (rows, len(feature_names_out_)): ``pre.transform(df)``.

        ``df`` is a DataFrame (extra columns are ignored) or a 2-D array whose
        columns are ``input_features_`` in order.
        """
        if not hasattr(self, "input_features_"):
            raise InputError("This Preprocessor is not fitted yet; call fit(df, features) first.")
        table = _Table(df, array_names=self.input_features_)
        self._check_columns(table)
        out = np.zeros((table.n_rows, len(self.feature_names_out_)))
        numeric = [n for n in self.input_features_ if self.kinds_[n] == "numeric"]
        blocks = plain(table, numeric)
        at = dict(
            zip(self.input_features_, np.cumsum([0, *map(self._width, self.input_features_)]))
        )
        for names in chunks(blocks, table.n_rows):
            self._transform_block(names, table, out, [int(at[name]) for name in names])
        done = set(blocks)
        for name in self.input_features_:
            if name in done:
                continue
            j = int(at[name])
            values = table.column(name)
            if self.kinds_[name] == "numeric":
                numbers = self._finite_numbers(name, values, table)
                numbers = self._filled(name, numbers, np.isnan(numbers), table)
                out[:, j] = self._standardised(name, numbers, table)
                continue
            values = self._filled(name, values, _missing(values), table)
            index = {c: i for i, c in enumerate(self.categories_[name])}
            codes = np.fromiter((index.get(v, -1) for v in values.tolist()), int, len(values))
            seen = codes >= 0
            out[np.flatnonzero(seen), j + codes[seen]] = 1.0
            if not seen.all():
                unseen = _distinct(values[~seen])
                warnings.warn(
                    f"Column {name!r} has {len(unseen)} value(s) not seen in training "
                    f"({_names(unseen)}) in "
                    f"{int((~seen).sum())} row(s); they are encoded as none of the known "
                    "categories. Check their spelling, or retrain with them.",
                    DataWarning,
                    stacklevel=2,
                )
        return out

    def _width(self, name: str) -> int:
        """The number of columns ``transform`` gives for the input column ``name``."""
        return 1 if self.kinds_[name] == "numeric" else len(self.categories_[name])

    def _transform_block(self, names: list[str], table: _Table, out: Any, at: list[int]) -> None:
        """The numeric columns ``names`` into ``out``'s columns ``at``, as one 2-D array: the
        same bits as one at a time; a column with a missing, infinite or far-out value goes
        through the column's own path (its fill value, its error)."""
        block = table.block(names)
        means = np.array([self.means_[name] for name in names])
        scales = np.array([self.scales_[name] for name in names])
        with np.errstate(over="ignore", invalid="ignore"):
            z = (block - means) / scales
        whole = np.isfinite(z).all(axis=0)
        out[:, np.asarray(at)[whole]] = z[:, whole]
        for j in np.flatnonzero(~whole):
            name, numbers = names[j], self._finite_numbers(names[j], block[:, j], table)
            numbers = self._filled(name, numbers, np.isnan(numbers), table)
            out[:, at[j]] = self._standardised(name, numbers, table)

    def _standardised(self, name: str, numbers: np.ndarray, table: _Table) -> np.ndarray:
        """``(numbers - mean) / scale``; near the ends of float64 (1e308), computed on values
        scaled down first, and an error for a value too far out to be represented."""
        mean, scale = self.means_[name], self.scales_[name]
        with np.errstate(over="ignore", invalid="ignore"):
            z = (numbers - mean) / scale
            over = ~np.isfinite(z)
            if over.any():
                shift = int(np.frexp(max(abs(mean), scale))[1])
                down = np.ldexp(numbers[over], -shift) - np.ldexp(mean, -shift)
                z[over] = down / np.ldexp(scale, -shift)
        if not np.isfinite(z).all():
            row = int(np.argmax(~np.isfinite(z)))
            raise InputError(
                f"Column {name!r} holds {numbers[row]:.4g} in row {table.row(row)}, more than "
                f"1e308 standard deviations ({scale:.4g}) from the training mean ({mean:.4g}): "
                "beyond what a float64 can hold. Check the value, or rescale the column."
            )
        return z

    def _check_columns(self, table: _Table) -> None:
        expected = self.input_features_
        k, names = len(expected), _names(expected, quote=False)
        if table.from_array and len(table.names) != k:
            raise InputError(
                f"X has {len(table.names)} columns but the model was trained on {k} ({names}). "
                "Pass the same columns in the same order."
            )
        present = set(table.names)
        missing = [n for n in expected if n not in present]
        if missing:
            raise InputError(
                f"X has {k - len(missing)} of the {k} columns the model was trained on ({names}); "
                f"missing: {_names(missing, quote=False)}. Add them or check the header."
            )

    def original_units(self, weight: Any, bias: Any) -> tuple[np.ndarray, np.ndarray]:
        """A linear model's weights (one row per output column of ``transform``) and bias,
        rewritten for the columns as given: ``(coef, intercept)``.

        From ``z = sum(w * (x - mean) / scale) + b``: ``w / scale`` for a standardised
        number and ``b - sum(w * mean / scale)``; one-hot columns stay as they are.
        """
        shift, scale = [], []
        for name in self.input_features_:
            if self.kinds_[name] == "numeric":
                shift.append(self.means_[name])
                scale.append(self.scales_[name])
            else:
                shift.extend([0.0] * len(self.categories_[name]))
                scale.extend([1.0] * len(self.categories_[name]))
        w = np.asarray(weight, dtype=np.float64)
        w = w.reshape(len(scale), -1) / np.asarray(scale)[:, None]
        b = np.asarray(bias, dtype=np.float64) - np.asarray(shift) @ w
        return w, b

    def fit_transform(self, df: Any, features: Sequence[str] | None = None) -> np.ndarray:
        """fit, then transform the same table: ``X = Preprocessor().fit_transform(df, ["age"])``."""
        return self.fit(df, features).transform(df)

    def to_dict(self) -> dict[str, Any]:
        """What fit learned, as JSON-ready data: ``json.dumps(pre.to_dict())``."""
        if not hasattr(self, "input_features_"):
            raise InputError("This Preprocessor is not fitted yet; call fit(df, features) first.")
        columns = []
        for name in self.input_features_:
            column: dict[str, Any] = {"name": name, "kind": self.kinds_[name]}
            if self.kinds_[name] == "numeric":
                column.update(mean=self.means_[name], scale=self.scales_[name])
            else:
                column["categories"] = list(self.categories_[name])
            if name in self.fill_values_:
                column["fill_value"] = self.fill_values_[name]
            columns.append(column)
        return {
            "format": _FORMAT,
            "version": 1,
            "standardize": bool(self.standardize),
            "one_hot": bool(self.one_hot),
            "impute": self.impute,
            "categorical": self._categorical(),
            "columns": columns,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted Preprocessor: ``Preprocessor.from_dict(pre.to_dict())``."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT or d.get("version") != 1:
            raise InputError(
                "This is not a saved Preprocessor (expected format 'descend.Preprocessor', "
                "version 1); pass the dictionary that Preprocessor.to_dict() made."
            )
        try:
            pre = cls(d["standardize"], d["one_hot"], d["impute"], d["categorical"])
            columns = d["columns"]
            pre.input_features_ = [c["name"] for c in columns]
            pre.kinds_ = {c["name"]: c["kind"] for c in columns}
            numeric = [c for c in columns if c["kind"] == "numeric"]
            pre.means_ = {c["name"]: float(c["mean"]) for c in numeric}
            pre.scales_ = {c["name"]: float(c["scale"]) for c in numeric}
            categorical = [c for c in columns if c["kind"] == "categorical"]
            pre.categories_ = {c["name"]: list(c["categories"]) for c in categorical}
            pre.fill_values_ = {c["name"]: c["fill_value"] for c in columns if "fill_value" in c}
            pre.feature_names_out_ = pre._names_out()
        except (KeyError, TypeError) as e:
            raise InputError(
                f"The saved Preprocessor is damaged (bad or missing entry {e}); save it again "
                "with Preprocessor.to_dict()."
            ) from None
        return pre

    def __repr__(self) -> str:
        return (
            f"Preprocessor(standardize={self.standardize!r}, one_hot={self.one_hot!r}, "
            f"impute={self.impute!r}, categorical={self.categorical!r})"
        )


register(Preprocessor, Preprocessor._constraints)

_IMPUTE_FIX = "fill them in, drop those rows, or set impute to 'mean', 'median' or 'most_frequent'"
_IMPUTE_CATEGORY_FIX = (
    "fill them in, drop those rows, or set impute='most_frequent' to fill a category column "
    "with its most frequent value"
)


def _weighed(values: np.ndarray, weight: Any) -> tuple[np.ndarray, Any]:
    """The values of the rows with a positive weight, and their weights (None: all rows)."""
    if weight is None:
        return values, None
    counted = weight > 0
    return values[counted], weight[counted]


def _fill_value(present: np.ndarray, weight: Any, strategy: str) -> float:
    """The mean, median or most frequent (the smallest of ties) of ``present``, each value
    counted ``weight`` times (None: once), as ``np.mean`` etc. of the repeated values."""
    if strategy == "mean":
        return (
            mean_std(present)[0] if weight is None else float(np.average(present, weights=weight))
        )
    values, codes = np.unique(present, return_inverse=True)
    counts = np.bincount(codes.ravel(), weights=weight, minlength=len(values))
    if strategy == "most_frequent":
        return float(values[np.argmax(counts)])  # the smallest of ties
    cumulative, half = np.cumsum(counts), counts.sum() / 2
    low = int(np.searchsorted(cumulative, half))  # the first value with half the weight
    if cumulative[low] > half:
        return float(values[low])
    return float((values[low] + values[low + 1]) / 2)  # half exactly: as np.median


# ----- warnings about a table --------------------------------------------------------
def check_table(
    df: Any, features: Sequence[str], target: str | None = None, standardize: bool = True
) -> list[str]:
    """Warnings about a table worth reading before training: ``check_table(df, ["a", "b"], "y")``.

    Finds constant columns, duplicated columns, a feature identical to the
    target, text columns with a different value in every row (identifiers),
    features on very different scales when ``standardize`` is off, and more
    features than rows. Each message names the columns.
    """
    table = _Table(df)
    features = _feature_list(features, table.names)
    n = table.n_rows
    messages = []
    facts = _facts(table, features, standardize)
    constant = [name for name in features if facts[name].constant]
    if constant:
        messages.append(
            f"Constant column(s) {_names(constant)} hold a single value and carry no "
            "information; drop them."
        )
    groups: dict[bytes, list[str]] = {}
    for name in features:
        groups.setdefault(facts[name].fingerprint, []).append(name)
    repeated = [group for group in groups.values() if len(group) > 1]
    if repeated:
        shown = "; ".join(" = ".join(repr(n) for n in group) for group in repeated)
        messages.append(f"Duplicated columns hold identical values: {shown}; keep one of each.")
    if target is not None and target in table.names:
        values = table.column(target)
        copies = groups.get(_fingerprint(values, *_parse(values)), [])
        if copies:
            messages.append(
                f"Feature(s) {_names(copies)} are identical to the target {target!r}; the model "
                "would just copy them. Drop them."
            )
    ids = [name for name in features if facts[name].identifier]
    if ids:
        messages.append(
            f"Column(s) {_names(ids)} have a different value in every row (identifiers?); "
            f"one-hot encoding would add {n} columns each that cannot generalise. Drop them."
        )
    stds = {name: facts[name].std for name in features if facts[name].std > 0}
    if len(stds) > 1:
        big, small = max(stds, key=stds.__getitem__), min(stds, key=stds.__getitem__)
        ratio = stds[big] / stds[small]
        if ratio > SCALE_RATIO:
            messages.append(
                f"Features are on very different scales without standardisation (std of "
                f"{big!r} is {stds[big]:.3g}, of {small!r} is {stds[small]:.3g}, ratio "
                f"{ratio:.3g}); gradient descent will crawl. Turn standardisation on."
            )
    if len(features) > n:
        messages.append(
            f"There are more features ({len(features)}) than rows ({n}); the model can fit the "
            "training rows exactly and will not generalise. Use more rows or fewer features."
        )
    return messages


class _Facts(NamedTuple):
    """What check_table reads of one column."""

    constant: bool  # a single value, missing values aside
    fingerprint: bytes  # equal for columns of equal values
    identifier: bool  # text with a different value in each of ID_MIN_ROWS rows or more
    std: float  # its standard deviation without standardisation (0: not measured)


def _facts(table: _Table, features: list[str], standardize: bool) -> dict[str, _Facts]:
    """The facts of every feature: columns of plain numbers as 2-D blocks, the rest one by one."""
    facts: dict[str, _Facts] = {}
    n = table.n_rows
    for names in chunks(plain(table, features), n):
        facts.update(_block_facts(names, table.block(names), standardize))
    for name in features:
        if name in facts:
            continue
        values = table.column(name)
        numbers, bad = _parse(values)
        distinct = len(_distinct(values))
        identifier = n >= ID_MIN_ROWS and bool(bad.all()) and distinct == n
        std = 0.0 if standardize or bad.any() else _finite_std(numbers)
        facts[name] = _Facts(distinct == 1, _fingerprint(values, numbers, bad), identifier, std)
    return facts


def _block_facts(names: list[str], block: np.ndarray, standardize: bool) -> dict[str, _Facts]:
    """``_facts`` of columns of plain numbers at once, to the same bits."""
    low, high = np.fmin.reduce(block, axis=0), np.fmax.reduce(block, axis=0)  # NaN aside
    constant = (low == high).tolist()
    canonical = np.where(np.isnan(block), np.nan, block)  # one NaN bit pattern
    prints = [_digest(b"n" + canonical[:, j].tobytes()) for j in range(len(names))]
    stds = [0.0] * len(names)
    if not standardize:
        finite = np.isfinite(block).all(axis=0)
        stds = np.where(finite, column_stats(np.where(finite, block, 0.0))[1], 0.0).tolist()
        for j in np.flatnonzero(~finite):
            stds[j] = _finite_std(block[:, j])
    return {
        name: _Facts(c, p, False, std) for name, c, p, std in zip(names, constant, prints, stds)
    }


def _finite_std(numbers: np.ndarray) -> float:
    finite = numbers[np.isfinite(numbers)]
    return mean_std(finite)[1] if len(finite) else 0.0


def _fingerprint(values: np.ndarray, numbers: np.ndarray, bad: np.ndarray) -> bytes:
    """A digest equal for columns with equal values (numbers compared as float64)."""
    if not bad.any():
        numbers = np.where(np.isnan(numbers), np.nan, numbers)  # one NaN bit pattern
        data = b"n" + numbers.tobytes()
    else:
        shown = [None if m else _py(v) for v, m in zip(values, _missing(values))]
        data = b"o" + repr(shown).encode()
    return _digest(data)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
