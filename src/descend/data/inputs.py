"""The estimators' inputs checked as scikit-learn checks them: X, y and the sample weights.

Arrays (NumPy arrays, lists, anything array-like) go through scikit-learn's
own ``validate_data`` and ``_check_sample_weight`` where scikit-learn (>= 1.6)
is installed, so descend's estimators take and refuse what scikit-learn's do,
in the same words, and keep ``n_features_in_`` and ``feature_names_in_`` as
scikit-learn does. Tables (pandas, polars, pyarrow) keep their columns for the
Preprocessor, which reads each column by name and by type (text is one-hot
encoded), and never import scikit-learn: the command line, which passes
tables, starts without it. Without scikit-learn, arrays are checked here in the
same way, in descend's words.

Every refusal is an InputError; a value of the wrong type (a sparse matrix, a
dict where a number goes) is an InputTypeError, which is also the TypeError
scikit-learn raises. Sparse matrices are refused: the Preprocessor centres each
column, which would make them dense.

>>> import numpy as np
>>> weights(None, np.ones((3, 2))) is None
True
>>> weights([1, 0, 2], np.ones((3, 2)))
array([1., 0., 2.])
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError
from .arrays import row_weights

SPARSE = (
    "Sparse data was passed for X, but dense data is required: descend standardises each "
    "column, which makes it dense. Use X.toarray() to convert it to a dense array."
)


@functools.cache
def sklearn_validation() -> Any:
    """scikit-learn's ``sklearn.utils.validation`` (>= 1.6: it has validate_data), or None
    when it is not installed; imported on the first call."""
    if importlib.util.find_spec("sklearn") is None:
        return None
    try:
        from sklearn.utils import validation
    except ImportError:
        return None
    return validation if hasattr(validation, "validate_data") else None


def is_sparse(X: Any) -> bool:
    """A SciPy (or pydata) sparse matrix or array."""
    return type(X).__module__.startswith(("scipy.sparse", "sparse")) or hasattr(X, "nnz")


def is_table(X: Any) -> bool:
    """A table with named columns (pandas, polars, pyarrow), read by the Preprocessor."""
    return hasattr(X, "columns") and not is_sparse(X)


def _by_sklearn(X: Any) -> Any:
    """scikit-learn's validation module when it checks this X (an array), else None."""
    return None if is_table(X) else sklearn_validation()


@contextmanager
def _input_errors() -> Iterator[None]:
    """scikit-learn's refusals as descend's: the same words, on one line."""
    try:
        yield
    except InputError:
        raise
    except TypeError as error:
        raise InputTypeError(" ".join(str(error).split())) from None
    except ValueError as error:
        raise InputError(" ".join(str(error).split())) from None


def _finite(allow_nan: bool) -> Any:
    return "allow-nan" if allow_nan else True


def fit_inputs(
    owner: Any, X: Any, y: Any, classifier: bool, allow_nan: bool = False, reset: bool = True
) -> tuple[Any, Any]:
    """(X, y) for ``owner.fit``: checked (and converted) by scikit-learn for an array, which
    also sets ``owner.n_features_in_`` (``reset``) or compares X with it (a later
    ``partial_fit``); a table as it is. ``allow_nan``: missing values are imputed later.
    A regressor's y must hold numbers (a classifier's classes are checked by
    ``models.choose``, whose words name the fix)."""
    validation = _by_sklearn(X)
    if validation is None:
        if y is None:
            raise InputError(
                f"{type(owner).__name__} requires y to be passed, but the target y is None; "
                "call fit(X, y) with one target per row."
            )
        return features(X), y
    with _input_errors():
        X, y = validation.validate_data(
            owner, X, y, reset=reset, accept_sparse=False, dtype="numeric",
            ensure_all_finite=_finite(allow_nan), multi_output=not classifier,
            y_numeric=not classifier,
        )  # fmt: skip
    return X, y


def predict_input(owner: Any, X: Any, allow_nan: bool = False) -> Any:
    """X for a fitted ``owner``'s predict: an array checked by scikit-learn against the
    columns ``owner`` was fitted on (their number and names); a table as it is."""
    validation = _by_sklearn(X)
    if validation is None:
        return features(X)
    with _input_errors():
        return validation.validate_data(
            owner, X, reset=False, accept_sparse=False, dtype="numeric",
            ensure_all_finite=_finite(allow_nan),
        )  # fmt: skip


def features(X: Any) -> Any:
    """X as rows x columns, without scikit-learn: a table as it is, anything else as an
    array of numbers (text goes in tables, whose columns say what they hold); the
    Preprocessor checks the values. One row at least, and no sparse matrix.

    >>> features([[1.0, 2.0]]).shape
    (1, 2)
    """
    if is_sparse(X):
        raise InputTypeError(SPARSE)
    if not is_table(X):
        with _input_errors():
            X = np.asarray(X)
            if X.dtype.kind in "OUS":  # an array is numbers; text belongs in a table
                X = X.astype(np.float64)
        if X.ndim != 2:
            raise InputError(
                f"Expected 2D array, got {X.ndim}D array instead (shape {X.shape}). Reshape "
                "your data either using X.reshape(-1, 1) if your data has a single feature "
                "or X.reshape(1, -1) if it contains a single sample."
            )
    shape = (len(X), len(X.columns)) if is_table(X) else X.shape
    if shape[0] == 0 or shape[1] == 0:
        raise InputError(
            f"Found array with {shape[0]} sample(s) and {shape[1]} feature(s) (shape={shape}) "
            "while a minimum of 1 of each is required; give X rows and columns."
        )
    return X


def weights(sample_weight: Any, X: Any) -> Any:
    """The sample weights for the rows of X as a float64 vector, or None: one number per row
    (or one number for all), >= 0, not all zero."""
    if sample_weight is None:
        return None
    validation = _by_sklearn(X)
    if validation is not None:
        with _input_errors():
            return validation._check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
    return row_weights(sample_weight, len(X))
