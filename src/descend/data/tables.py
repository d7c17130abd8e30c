"""Tables in: read CSV, Parquet and DataFrames, choose columns, parse each column once.

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
>>> select_columns(pd.DataFrame({"age": [1.0], "inr": [2.0]}), "inr")
(['age'], 'inr')
"""

from __future__ import annotations

import collections
import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq")
"""File types read_table reads, chosen by extension."""

WIDE = 1000
"""read_table consolidates a table of more columns than this: pandas reads each column into a
block of its own, and every selection of columns then walks them all (seconds for 10^5)."""

_INSTALL_HINT = "pip install 'descend[cli]'"
_SHOWN = 10  # how many names an error message lists before "and N more"


class DataWarning(UserWarning):
    """A problem with the data that training survives but should not ignore."""


# ----- reading tables ---------------------------------------------------------------
def read_table(source: Any) -> Any:
    """Read a .csv or .parquet file, or take a DataFrame: ``df = read_table("train.csv")``.

    Returns a pandas DataFrame with string column names, the file's own: a name that
    appears twice is an error naming it. Polars DataFrames and pyarrow Tables are
    converted with their ``to_pandas()``.
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
    _check_unique(names, what)
    if names != list(df.columns):
        df = df.set_axis(names, axis=1)
    if df.shape[1] > WIDE:  # pandas reads each column into a block of its own: one per dtype
        df = df.copy()
    return df


def _check_unique(names: list[str], what: str) -> None:
    repeated = _repeated(names)
    if repeated:
        raise InputError(
            f"{what} has more than one column named {_names(repeated)}; "
            "give every column a different name."
        )


def _file_columns(pd: Any, path: Path, kind: str) -> list[str]:
    """The column names as the file has them: pandas would rename a second 'age' to 'age.1'
    (and pyarrow refuses to read a Parquet file with a repeated name)."""
    if kind == "CSV":
        return _csv_header(pd, path)
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _csv_header(pd: Any, path: Path) -> list[str]:
    """The first line of a CSV file that is not blank, split as pandas splits it, read with
    the csv module: pandas would parse every column of it (a minute for 200,000 columns)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            return next((row for row in csv.reader(f) if row), [])
        except csv.Error:  # a name longer than the csv module takes: pandas reads it
            pass
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return [str(name) for name in header.iloc[0]]


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
        _check_unique(_file_columns(pd, path, kind), shown)
        if kind == "CSV":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (InputError, MemoryError):  # out of memory: the caller names the step, not the file
        raise
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
    repeated = _repeated(names)
    if repeated:
        raise InputError(f"Feature {_names(repeated)} is listed twice; list each feature once.")
    _check_known(names, columns, "feature column")
    return names


def _check_known(names: list[str], columns: list[str], what: str) -> None:
    known = set(columns)
    unknown = [n for n in names if n not in known]
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


def _repeated(names: list[str]) -> list[str]:
    """The names listed more than once, sorted (in one pass: tables may have 10^5 columns)."""
    return sorted(name for name, count in collections.Counter(names).items() if count > 1)


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
        self._array: np.ndarray | None = None
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
            self._dtypes = list(self._frame.dtypes)
            if len(set(self._dtypes)) == 1 and _plain_numbers(self._dtypes[0]):
                self._array = self._frame.to_numpy()  # one block: a view, not a column at a time
        else:
            width = array.shape[1]
            self.names = list(array_names) if array_names is not None else []
            if len(self.names) != width:
                self.names = [f"x{i}" for i in range(width)]
            self.n_rows = array.shape[0]
            index = getattr(index_of, "index", None)  # the labels of a Series' rows
            use = index is not None and not callable(index) and not _is_default_index(index)
            self.labels = np.asarray(index) if use else None
        self.from_array = self._frame is None
        self._position = {name: i for i, name in reversed(list(enumerate(self.names)))}

    def column(self, name: str) -> np.ndarray:
        if self._array is not None:
            return self._array[:, self._position[name]]
        assert self._frame is not None
        return _column_values(self._frame.iloc[:, self._position[name]])

    def plain_numbers(self, name: str) -> bool:
        """Whether the column holds plain numbers (a NumPy dtype of ints or floats)."""
        if self._frame is None:
            return self._array is not None and self._array.dtype.kind in "iuf"
        dtype = self._dtypes[self._position[name]]
        return _plain_numbers(dtype) and dtype.kind != "b"

    def block(self, names: Sequence[str]) -> np.ndarray:
        """Columns of plain numbers as one float64 array, each column contiguous (Fortran
        order): a column of it is summed as the column alone would be, to the same bits."""
        positions = [self._position[name] for name in names]
        if self._array is not None:
            return np.asfortranarray(self._array[:, positions], dtype=np.float64)
        assert self._frame is not None
        frame = self._frame.iloc[:, positions]
        return np.asfortranarray(frame.to_numpy(dtype=np.float64))

    def is_categorical_dtype(self, name: str) -> bool:
        if self._frame is None:
            return False
        return str(self._dtypes[self._position[name]]) == "category"

    def row(self, position: int) -> Any:
        """The label of the row at ``position``."""
        return position if self.labels is None else _py(self.labels[position])


def _plain_numbers(dtype: Any) -> bool:
    """A NumPy dtype of numbers or bools: a column of it is its own ndarray."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


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
