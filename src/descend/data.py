"""Tables in, preprocessing that is saved with the model, batches out.

Reading files needs pandas and pyarrow (``pip install 'descend[cli]'``); they
are imported inside the functions that need them, so ``import descend`` needs
NumPy only. Everything else here works on NumPy arrays taken column by column
from whatever table it is given.

Rows in error messages are named by the table's index label. For a table from
``read_table`` (or any DataFrame with the default index) that is the 0-based
data row: the header is not counted, so row 0 is line 2 of a CSV file. A
subset taken with ``df.iloc[rows]`` keeps its labels, so an error found while
fitting on the training rows still points at the row of the original file.

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

import difflib
import hashlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import InputError

Task = Literal["regression", "binary", "multiclass"]

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq")
"""File types read_table reads, chosen by extension."""

IMPUTE_STRATEGIES = (None, "mean", "median", "most_frequent")
"""Values of Preprocessor's ``impute`` parameter."""

MAX_CLASSES = 20
"""infer_task: integer-valued targets with at most this many values are classes."""

SCALE_RATIO = 1e3
"""check_table: warn when, without standardisation, feature stds differ by more than this."""

ID_MIN_ROWS = 20
"""check_table: a text column unique in every row of a table this long looks like an identifier."""

_FORMAT = "descend.Preprocessor"
_INSTALL_HINT = "pip install 'descend[cli]'"
_SHOWN = 10  # how many names an error message lists before "and N more"


class DataWarning(UserWarning):
    """A problem with the data that training survives but should not ignore."""


# ----- reading tables ---------------------------------------------------------------
def read_table(source: Any) -> Any:
    """Read a .csv or .parquet file, or take a DataFrame: ``df = read_table("train.csv")``.

    Returns a pandas DataFrame with string column names; polars DataFrames and
    pyarrow Tables are converted with their ``to_pandas()``.
    """
    pd = _require("pandas")
    if isinstance(source, (str, os.PathLike)):
        what = repr(os.fspath(source))
        df = _read_file(pd, Path(source), what)
    elif isinstance(source, pd.DataFrame):
        df, what = source, "The table"
    elif hasattr(source, "to_pandas"):
        df, what = source.to_pandas(), "The table"
    else:
        raise InputError(
            "read_table needs a path to a .csv or .parquet file, or a pandas or polars "
            f"DataFrame or a pyarrow Table; got {type(source).__name__}."
        )
    if df.shape[1] == 0:
        raise InputError(f"{what} has no columns; a table needs a header line and data.")
    if df.shape[0] == 0:
        raise InputError(f"{what} has no data rows; a table needs at least one row.")
    names = [str(c) for c in df.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"{what} has more than one column named {_names(repeated)}; "
            "give every column a different name."
        )
    if names != list(df.columns):
        df = df.set_axis(names, axis=1)
    return df


def _read_file(pd: Any, path: Path, shown: str) -> Any:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise InputError(
            f"Cannot read {shown}: unsupported file type {suffix or '(no extension)'!r}. "
            f"Use one of {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    if not path.is_file():
        raise InputError(f"No such file: {shown}. Check the path.")
    kind = "CSV" if suffix == ".csv" else "Parquet"
    try:
        if kind == "CSV":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{shown} is empty; a table needs a header line and data.") from None
    except UnicodeDecodeError as e:
        raise InputError(
            f"Cannot read {shown} as CSV: it is not UTF-8 text (byte {e.object[e.start]:#04x} "
            f"at position {e.start}). Save it as a UTF-8 CSV file."
        ) from None
    except PermissionError:
        raise InputError(
            f"Cannot read {shown}: permission denied. Check its permissions."
        ) from None
    except Exception as e:  # pandas' and pyarrow's parsers raise many types
        reason = " ".join(str(e).split()).rstrip(".") or type(e).__name__
        raise InputError(
            f"Cannot read {shown} as {kind}: {reason}. Check that it is a valid {kind} file."
        ) from None


def _require(module: str, extra: str = "cli") -> Any:
    """Import an optional dependency, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        hint = _INSTALL_HINT if extra == "cli" else f"pip install 'descend[{extra}]'"
        raise InputError(
            f"This needs the optional package {module!r}; install it: {hint}"
        ) from None


# ----- choosing columns -------------------------------------------------------------
def select_columns(
    df: Any, target: str, features: Sequence[str] | None = None
) -> tuple[list[str], str]:
    """Check the target and feature names against the table: ``select_columns(df, "y")``.

    ``features`` defaults to every column but the target.
    """
    columns = [str(c) for c in getattr(df, "column_names", None) or df.columns]
    _check_known([target], columns, "target column")
    if features is None:
        features = [c for c in columns if c != target]
        if not features:
            raise InputError(
                f"The table has only the target column {target!r}; add feature columns."
            )
        return features, target
    features = _feature_list(features, columns)
    if target in features:
        raise InputError(
            f"The target column {target!r} is also listed as a feature; remove it from the "
            "features (a model must not be shown the answer)."
        )
    return features, target


def _feature_list(features: Sequence[str] | str, columns: list[str]) -> list[str]:
    """Validate a list of feature names: strings, known, none twice, at least one."""
    names = [features] if isinstance(features, str) else list(features)
    if not names:
        raise InputError("The feature list is empty; name at least one feature column.")
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InputError(
            f"Feature names must be strings; got {bad[0]!r} ({type(bad[0]).__name__}). "
            "Use the column names as strings (read_table gives string names)."
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"Feature {_names(repeated)} is listed twice; list each feature once.")
    _check_known(names, columns, "feature column")
    return names


def _check_known(names: list[str], columns: list[str], what: str) -> None:
    unknown = [n for n in names if n not in columns]
    if not unknown:
        return
    lowered = {c.lower(): c for c in reversed(columns)}
    close = difflib.get_close_matches(str(unknown[0]).lower(), list(lowered), n=1)
    guess = f" Did you mean {lowered[close[0]]!r}?" if close else ""
    separators = [sep for sep in (";", "\t") if len(columns) == 1 and sep in columns[0]]
    if separators:
        guess = (
            f" The file seems separated by {separators[0]!r}, not commas: save it as a "
            "comma-separated CSV file."
        )
    plural = "s" if len(unknown) > 1 else ""
    raise InputError(
        f"Unknown {what}{plural} {_names(unknown)}. Available columns: {_names(columns)}.{guess}"
    )


def _names(names: Sequence[Any], quote: bool = True) -> str:
    """'a', 'b', 'c' and 4 more."""
    shown = ", ".join(repr(n) if quote else str(n) for n in names[:_SHOWN])
    rest = len(names) - _SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


# ----- columns as NumPy arrays ------------------------------------------------------
class _Table:
    """Columns of a DataFrame or 2-D array, each as a 1-D NumPy array, and row labels."""

    def __init__(
        self, data: Any, array_names: Sequence[str] | None = None, index_of: Any = None
    ) -> None:
        if hasattr(data, "columns") and hasattr(data, "iloc"):  # pandas
            self._frame = data
        elif hasattr(data, "columns") and hasattr(data, "to_pandas"):  # polars, pyarrow
            self._frame = data.to_pandas()
        else:
            self._frame = None
            array = _as_ndarray(data)
            if array.ndim != 2:
                raise InputError(
                    f"X must be 2-D (rows x columns); got shape {array.shape}. "
                    "For a single feature use X.reshape(-1, 1)."
                )
            self._array = array
        if self._frame is not None:
            self.names = [str(c) for c in self._frame.columns]
            self.n_rows = len(self._frame)
            labels = self._frame.index
            self.labels = None if _is_default_index(labels) else np.asarray(labels)
        else:
            width = self._array.shape[1]
            self.names = list(array_names) if array_names is not None else []
            if len(self.names) != width:
                self.names = [f"x{i}" for i in range(width)]
            self.n_rows = self._array.shape[0]
            index = getattr(index_of, "index", None)  # the labels of a Series' rows
            use = index is not None and not callable(index) and not _is_default_index(index)
            self.labels = np.asarray(index) if use else None
        self.from_array = self._frame is None

    def column(self, name: str) -> np.ndarray:
        if self._frame is None:
            return self._array[:, self.names.index(name)]
        return _column_values(self._frame[self._frame.columns[self.names.index(name)]])

    def is_categorical_dtype(self, name: str) -> bool:
        if self._frame is None:
            return False
        dtype = self._frame[self._frame.columns[self.names.index(name)]].dtype
        return str(dtype) == "category"

    def row(self, position: int) -> Any:
        """The label of the row at ``position``."""
        return position if self.labels is None else _py(self.labels[position])


def _is_default_index(index: Any) -> bool:
    return type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1


def _column_values(series: Any) -> np.ndarray:
    """A pandas Series as a NumPy array: numbers as numbers, anything else as objects.

    Missing values become NaN in float arrays and None in object arrays.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        return series.to_numpy()
    if getattr(dtype, "kind", "O") in "iuf":  # nullable Int64, Float64, Arrow numbers
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy(dtype=object, na_value=None)


def _as_ndarray(data: Any) -> np.ndarray:
    """Anything array-like (list, ndarray, Series, DataFrame, Tensor) as an ndarray.

    Text comes back as an object array of Python strings.
    """
    if hasattr(data, "columns"):  # a table: its columns side by side
        table = _Table(data)
        columns = [table.column(name) for name in table.names]
        return np.column_stack(columns) if columns else np.zeros((table.n_rows, 0))
    if hasattr(data, "iloc"):  # pandas Series: keep its missing values readable
        return _column_values(data)
    if hasattr(data, "to_numpy") and not isinstance(data, np.ndarray):  # polars Series
        data = data.to_numpy()
    array = np.asarray(data)
    return array.astype(object) if array.dtype.kind in "US" else array


def _py(value: Any) -> Any:
    """A NumPy scalar as the Python number, string or bool it holds (JSON can store it)."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(values: np.ndarray) -> np.ndarray:
    """True where a value is missing: NaN, None, pandas.NA or NaT."""
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind in "Mm":
        return np.isnat(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    try:  # None, or NaN (the one value unequal to itself), in one vectorised pass
        return np.asarray((values == None) | (values != values), dtype=bool)  # noqa: E711
    except TypeError:  # pandas.NA refuses to be a bool
        pass
    return np.fromiter(
        (v is None or type(v).__name__ in ("NAType", "NaTType") or v != v for v in values),
        dtype=bool,
        count=len(values),
    )


def _parse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 (NaN where missing) and a mask of values that are not numbers.

    Text is parsed with Python's ``float()`` after stripping spaces, so ``'1.5'``
    and ``' 2 '`` are numbers and ``'abc'`` and ``'1,5'`` are not. Booleans are
    not numbers.
    """
    kind = values.dtype.kind
    if kind in "iuf":
        return values.astype(np.float64), np.zeros(len(values), dtype=bool)
    if kind in "Mm":
        return np.full(len(values), np.nan), ~np.isnat(values)
    numbers = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    present = np.flatnonzero(~_missing(values))
    items = values[present].tolist()
    if all(type(v) is str for v in items):  # text, as read from a file: parse each value once
        parsed = {v: _number(v) for v in dict.fromkeys(items)}
        found = [parsed[v] for v in items]
    else:
        found = [_number(v) for v in items]
    is_bad = np.fromiter((f is None for f in found), dtype=bool, count=len(found))
    bad[present[is_bad]] = True
    numbers[present[~is_bad]] = [f for f in found if f is not None]
    return numbers, bad


def _number(value: Any) -> float | None:
    """A number or numeric text as a float; None for anything else (bools included)."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return None
    return float(value)


def _numbers(values: np.ndarray, where: str, table: _Table, fix: str) -> np.ndarray:
    """``values`` as float64 (NaN where missing), or an error naming the first non-number."""
    numbers, bad = _parse(values)
    if bad.any():
        first = int(np.argmax(bad))
        more = int(bad.sum()) - 1
        others = f" (and {more} more non-numbers)" if more else ""
        raise InputError(
            f"{where} should hold numbers but row {table.row(first)} holds "
            f"{_show(values[first])}{others}; {fix}"
        )
    return numbers


def _show(value: Any) -> str:
    text = repr(_py(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _column_kind(values: np.ndarray, where: str, table: _Table) -> str:
    """'numeric' or 'categorical', or an error for a numeric column with a few stray values.

    Numbers are numeric; bools are categorical; text is numeric when every value
    parses as a number, categorical when at most half do, and an error in
    between: such a column is numbers with a typo, which a CSV reader reads as text.
    """
    kind = values.dtype.kind
    if kind == "b":
        return "categorical"
    if kind in "iuf":
        return "numeric"
    if kind == "c":
        raise InputError(f"{where} holds complex numbers; split them into real columns.")
    if kind in "Mm":
        raise InputError(
            f"{where} holds dates or times, which cannot be used as they are; convert them to "
            "numbers (for example days since a start date) or drop the column."
        )
    numbers, bad = _parse(values)
    present = int((~_missing(values)).sum())
    n_bad = int(bad.sum())
    if n_bad == 0:
        return "numeric"
    if present - n_bad > present / 2:
        _numbers(
            values,
            where,
            table,
            "fix the value (leave it blank to mark it missing), or declare the column "
            "categorical if it really holds categories.",
        )
    return "categorical"


# ----- the task -----------------------------------------------------------------------
def infer_task(y: Any, name: str | None = None) -> Task:
    """Guess the kind of model a target needs: ``infer_task([0, 1, 1, 0])`` -> ``'binary'``.

    Text, bool or category values -> 'binary' for two distinct values,
    'multiclass' for more. Numbers that are not all whole -> 'regression';
    two whole numbers -> 'binary'; more, all integers with
    at most MAX_CLASSES (20) distinct values, and at most half as many distinct
    values as rows -> 'multiclass'; other numbers -> 'regression'. A target
    with one value, or a missing value, is an error.
    """
    values, table, name = _labels(y, name)
    where = f"Target {name!r}"
    kind = "categorical" if str(getattr(y, "dtype", "")) == "category" else None
    kind = kind or _column_kind(values, where, table)
    distinct = _distinct(values)
    if len(distinct) == 1:
        raise InputError(
            f"Target {name!r} has a single class {_show(distinct[0])}; "
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


def _distinct(values: np.ndarray) -> list[Any]:
    """The distinct non-missing values as Python objects, sorted (numbers before text)."""
    present = values[~_missing(values)]
    if present.dtype.kind in "iufb":
        return np.unique(present).tolist()  # type: ignore[no-any-return]
    return sorted((_py(v) for v in set(present.tolist())), key=_sort_key)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def _check_no_missing(values: np.ndarray, where: str, table: _Table, fix: str) -> None:
    missing = _missing(values)
    if missing.any():
        first = int(np.argmax(missing))
        raise InputError(
            f"{where} has a missing value in row {table.row(first)} "
            f"({int(missing.sum())} missing in all); {fix}."
        )


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

    def __init__(
        self,
        standardize: bool = True,
        one_hot: bool = True,
        impute: str | None = None,
        categorical: Sequence[str] = (),
    ) -> None:
        if impute not in IMPUTE_STRATEGIES:
            raise InputError(
                "The 'impute' parameter of Preprocessor must be one of None, 'mean', 'median', "
                f"'most_frequent'. Got {impute!r} instead."
            )
        self.standardize = standardize
        self.one_hot = one_hot
        self.impute = impute
        self.categorical = categorical

    def _categorical(self) -> list[str]:
        """The ``categorical`` parameter as a list (one name may be given as a string)."""
        given = self.categorical
        return [given] if isinstance(given, str) else list(given)

    def fit(
        self, df: Any, features: Sequence[str] | None = None, check: bool = True
    ) -> Preprocessor:
        """Learn each column's kind, shift, scale, categories and fill: ``pre.fit(df, ["age"])``.

        ``features`` defaults to every column. With ``check``, the warnings of
        ``check_table`` are emitted as DataWarning.
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
        for name in features:
            values = table.column(name)
            where = f"Column {name!r}"
            forced = name in categorical or table.is_categorical_dtype(name)
            kind = "categorical" if forced else _column_kind(values, where, table)
            self.kinds_[name] = kind
            if kind == "numeric":
                self._fit_numeric(name, values, table)
            else:
                self._fit_categorical(name, values, table)
        self.feature_names_out_: list[str] = self._names_out()
        return self

    def _fit_numeric(self, name: str, values: np.ndarray, table: _Table) -> None:
        numbers = self._finite_numbers(name, values, table)
        missing = np.isnan(numbers)
        if missing.all():
            raise InputError(f"Column {name!r} has no values at all; drop it.")
        if self.impute is not None:
            self.fill_values_[name] = _fill_value(numbers[~missing], self.impute)
        numbers = self._filled(name, numbers, missing, table)
        self.means_[name], self.scales_[name] = 0.0, 1.0
        if self.standardize and numbers.min() == numbers.max():  # constant: 0 exactly, no 0/0
            self.means_[name] = float(numbers[0])
        elif self.standardize:
            self.means_[name] = float(numbers.mean())
            self.scales_[name] = float(numbers.std())

    def _fit_categorical(self, name: str, values: np.ndarray, table: _Table) -> None:
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
            counts = dict.fromkeys(categories, 0)
            for v in values[~missing].tolist():
                counts[v] += 1
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
        j = 0
        for name in self.input_features_:
            values = table.column(name)
            if self.kinds_[name] == "numeric":
                numbers = self._finite_numbers(name, values, table)
                numbers = self._filled(name, numbers, np.isnan(numbers), table)
                out[:, j] = (numbers - self.means_[name]) / self.scales_[name]
                j += 1
                continue
            values = self._filled(name, values, _missing(values), table)
            index = {c: i for i, c in enumerate(self.categories_[name])}
            codes = np.fromiter((index.get(v, -1) for v in values.tolist()), int, len(values))
            seen = codes >= 0
            out[np.flatnonzero(seen), j + codes[seen]] = 1.0
            j += len(index)
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

    def _check_columns(self, table: _Table) -> None:
        expected = self.input_features_
        k, names = len(expected), _names(expected, quote=False)
        if table.from_array and len(table.names) != k:
            raise InputError(
                f"X has {len(table.names)} columns but the model was trained on {k} ({names}). "
                "Pass the same columns in the same order."
            )
        missing = [n for n in expected if n not in table.names]
        if missing:
            raise InputError(
                f"X has {k - len(missing)} of the {k} columns the model was trained on ({names}); "
                f"missing: {_names(missing, quote=False)}. Add them or check the header."
            )

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


_IMPUTE_FIX = (
    "fill them in, drop those rows, or set impute to 'mean', 'median' or 'most_frequent' "
    "(command line: --impute mean|median|most_frequent)"
)
_IMPUTE_CATEGORY_FIX = (
    "fill them in, drop those rows, or set impute='most_frequent' (command line: --impute "
    "most_frequent) to fill a category column with its most frequent value"
)


def _fill_value(present: np.ndarray, strategy: str) -> float:
    """The mean, median or most frequent (the smallest of ties) of ``present``."""
    if strategy == "mean":
        return float(present.mean())
    if strategy == "median":
        return float(np.median(present))
    values, counts = np.unique(present, return_counts=True)
    return float(values[np.argmax(counts)])  # the smallest of ties


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
    columns = {name: table.column(name) for name in features}
    parsed = {name: _parse(values) for name, values in columns.items()}  # (numbers, not numbers)
    constant = [name for name, values in columns.items() if len(_distinct(values)) == 1]
    if constant:
        messages.append(
            f"Constant column(s) {_names(constant)} hold a single value and carry no "
            "information; drop them."
        )
    groups: dict[bytes, list[str]] = {}
    for name, values in columns.items():
        groups.setdefault(_fingerprint(values, *parsed[name]), []).append(name)
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
    ids = [
        name
        for name, values in columns.items()
        if n >= ID_MIN_ROWS and parsed[name][1].all() and len(_distinct(values)) == n
    ]
    if ids:
        messages.append(
            f"Column(s) {_names(ids)} have a different value in every row (identifiers?); "
            f"one-hot encoding would add {n} columns each that cannot generalise. Drop them."
        )
    stds = {}
    for name, (numbers, bad) in parsed.items():
        finite = numbers[np.isfinite(numbers)]
        if not bad.any() and len(finite) and finite.std() > 0:
            stds[name] = float(finite.std())
    if not standardize and len(stds) > 1:
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


def _fingerprint(values: np.ndarray, numbers: np.ndarray, bad: np.ndarray) -> bytes:
    """A digest equal for columns with equal values (numbers compared as float64)."""
    if not bad.any():
        numbers = np.where(np.isnan(numbers), np.nan, numbers)  # one NaN bit pattern
        data = b"n" + numbers.tobytes()
    else:
        shown = [None if m else _py(v) for v, m in zip(values, _missing(values))]
        data = b"o" + repr(shown).encode()
    return hashlib.blake2b(data, digest_size=16).digest()


# ----- class labels ------------------------------------------------------------------
class LabelEncoder:
    """Map labels to 0..k-1 and back: ``LabelEncoder().fit(["b", "a"]).classes_`` -> ['a', 'b'].

    ``classes_`` are sorted and held as Python values (str, int, float, bool),
    so they survive a trip through JSON.
    """

    def fit(self, y: Any) -> LabelEncoder:
        """Learn the sorted classes of ``y``: ``enc = LabelEncoder().fit(df["y"])``."""
        values, table, name = _labels(y)
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


def check_class_labels(y: Any, name: str, fix: str) -> None:
    """Refuse numbers that are not whole as class labels: 5.599 and 6.02 are values, not classes.

    ``fix`` says what to do instead (a regression model), in the caller's words.
    """
    values, table, name = _labels(y, name)
    categorical = str(getattr(y, "dtype", "")) == "category"
    if categorical or _column_kind(values, f"Target {name!r}", table) != "numeric":
        return
    numbers = _parse(values)[0]
    fractional = numbers != np.round(numbers)
    if fractional.any():
        first = values[int(np.argmax(fractional))]
        raise InputError(
            f"Target {name!r} holds numbers that are not whole (such as {_show(first)}), which "
            f"are values to predict, not class labels; {fix}"
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


# ----- splits, batches and blocks ---------------------------------------------------
def train_validation_split(
    n_rows: int, fraction: float, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row indices and hold out a fraction: ``train_validation_split(10, 0.2, seed=0)``.

    Returns (train_idx, val_idx), each sorted; the validation set has
    round(n_rows * fraction) rows, at least 1 and at most n_rows - 1.
    """
    _check_count(n_rows, "n_rows", "train_validation_split", minimum=2)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise InputError(
            "The 'fraction' parameter of train_validation_split must be a number in (0, 1). "
            f"Got {fraction!r} instead. Use for example 0.2 to hold out 20% of the rows."
        )
    n_val = min(max(round(n_rows * fraction), 1), n_rows - 1)
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def batch_indices(
    n_rows: int, batch_size: int, shuffle: bool = True, rng: Any = None
) -> Iterator[np.ndarray]:
    """Row indices, one array per mini-batch: ``list(batch_indices(5, 2, shuffle=False))``.

    The last batch may be smaller. ``rng`` is a numpy Generator or a seed; pass
    one Generator for the whole run, since a seed gives the same order every call.
    """
    _check_count(n_rows, "n_rows", "batch_indices")
    _check_count(batch_size, "batch_size", "batch_indices")
    order = np.random.default_rng(rng).permutation(n_rows) if shuffle else np.arange(n_rows)
    for start in range(0, n_rows, batch_size):
        yield order[start : start + batch_size]


def row_blocks(n_rows: int, block_size: int) -> Iterator[slice]:
    """Contiguous blocks of rows covering 0..n_rows-1: ``list(row_blocks(5, 2))``.

    Full-batch training sums the loss and gradient of each block.
    """
    _check_count(n_rows, "n_rows", "row_blocks")
    _check_count(block_size, "block_size", "row_blocks")
    for start in range(0, n_rows, block_size):
        yield slice(start, min(start + block_size, n_rows))


def _check_count(value: Any, name: str, owner: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(
            f"The {name!r} parameter of {owner} must be an integer >= {minimum}. "
            f"Got {value!r} instead."
        )


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


# ----- Dask -------------------------------------------------------------------------------
def iter_dask_blocks(
    data: Any,
    features: Sequence[Any] | None,
    target: Any,
    preprocessor: Preprocessor | None = None,
    label_encoder: LabelEncoder | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """NumPy (X_block, y_block) per Dask partition: ``iter_dask_blocks(ddf, ["a"], "y")``.

    ``data`` is a Dask DataFrame (``features`` and ``target`` are column names)
    or a 2-D Dask Array (they are column positions; ``features=None`` means all
    but the target). Partitions are computed one at a time, so memory holds one
    block. X goes through ``preprocessor`` if given, else ``to_array``; y through
    ``label_encoder`` if given, else ``to_array(..., ndim=1)``. ``target=None``
    yields y_block None.
    """
    _require("dask", "dask")
    for i, (x_part, y_part) in enumerate(_dask_parts(data, features, target)):
        try:
            X = preprocessor.transform(x_part) if preprocessor is not None else to_array(x_part)
            y = None
            if y_part is not None and label_encoder is not None:
                y = label_encoder.transform(y_part)
            elif y_part is not None:
                y = to_array(y_part, "y", ndim=1)
        except InputError as e:
            raise InputError(f"Partition {i}: {e}") from None
        yield X, y


def _dask_parts(data: Any, features: Any, target: Any) -> Iterator[tuple[Any, Any]]:
    """(features, target) of each partition of a Dask DataFrame or row block of a Dask Array."""
    if hasattr(data, "npartitions") and hasattr(data, "columns"):
        columns = [str(c) for c in data.columns]
        if target is not None:
            features, _ = select_columns(data, target, features)
        else:
            features = _feature_list(columns if features is None else features, columns)
        for i in range(data.npartitions):
            part = data.get_partition(i).compute()
            yield part[features], None if target is None else part[target]
    elif hasattr(data, "numblocks") and getattr(data, "ndim", 0) == 2:
        width = data.shape[1]
        positions = [j for j in range(width) if j != target] if features is None else features
        for j in [*positions, *([] if target is None else [target])]:
            if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < width:
                raise InputError(
                    f"With a Dask Array, features and target are column positions in "
                    f"0..{width - 1}; got {j!r}."
                )
        rows = data.rechunk({1: -1})  # each block holds whole rows
        for i in range(rows.numblocks[0]):
            block = rows.blocks[i].compute()
            yield block[:, list(positions)], None if target is None else block[:, target]
    else:
        raise InputError(
            "iter_dask_blocks needs a Dask DataFrame or a 2-D Dask Array; got "
            f"{type(data).__name__}. For data in memory use batch_indices or row_blocks."
        )


__all__ = [
    "DataWarning",
    "IMPUTE_STRATEGIES",
    "LabelEncoder",
    "MAX_CLASSES",
    "Preprocessor",
    "SUPPORTED_EXTENSIONS",
    "batch_indices",
    "check_table",
    "infer_task",
    "iter_dask_blocks",
    "read_table",
    "row_blocks",
    "select_columns",
    "to_array",
    "train_validation_split",
]
