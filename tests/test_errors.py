"""Tests for descend.errors: one exception type to catch for bad input, whose kinds are also
the exceptions Python and scikit-learn raise for the same cases."""

from __future__ import annotations

import pickle

import pytest

from descend import errors
from descend.errors import InputError, InputTypeError, NotFittedError, not_fitted


def test_every_kind_of_bad_input_is_an_input_error_and_what_python_raises():
    assert issubclass(InputError, ValueError)
    assert issubclass(InputTypeError, InputError) and issubclass(InputTypeError, TypeError)
    assert issubclass(NotFittedError, InputError) and issubclass(NotFittedError, AttributeError)


def test_not_fitted_is_also_scikit_learns_and_survives_pickling():
    exceptions = pytest.importorskip("sklearn.exceptions")
    error = not_fitted("This Regressor is not fitted yet; call fit(X, y) first.")
    assert isinstance(error, NotFittedError) and isinstance(error, exceptions.NotFittedError)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert errors.NotFittedErrorForSklearn is type(error)  # pickle finds the class by name


def test_without_scikit_learn_not_fitted_is_descends_own(monkeypatch):
    errors._not_fitted_class.cache_clear()
    monkeypatch.setattr(errors.importlib.util, "find_spec", lambda name: None)
    try:
        assert type(not_fitted("not fitted")) is NotFittedError
    finally:
        monkeypatch.undo()
        errors._not_fitted_class.cache_clear()
    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        errors.Other  # noqa: B018
