"""The exception types for bad user input.

Every message is one line that names the problem and the fix; the command
line prints it and exits with status 2. ``InputError`` is the one type to
catch; ``InputTypeError`` (a value of the wrong type) and ``NotFittedError``
(a model used before ``fit``) are kinds of it that are also the exceptions
Python and scikit-learn raise for those cases.

>>> from descend.errors import InputError
>>> str(InputError("The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead."))
"The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead."
"""

from __future__ import annotations

import functools
import importlib.util


class InputError(ValueError):
    """Bad user input: a file, a column, a parameter or a value that cannot be used."""


class InputTypeError(InputError, TypeError):
    """Input of a type that cannot be used (a sparse matrix, a dict where a number goes):
    an InputError, and a TypeError as scikit-learn and NumPy raise it."""


class NotFittedError(InputError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    ``not_fitted(message)`` makes one that is also scikit-learn's ``NotFittedError``
    when scikit-learn is installed, so either ``except`` clause catches it.
    """


def not_fitted(message: str) -> NotFittedError:
    """A NotFittedError; also a ``sklearn.exceptions.NotFittedError`` where scikit-learn is
    installed (it is imported here, on the way to the error, never before)."""
    return _not_fitted_class()(message)


@functools.cache
def _not_fitted_class() -> type[NotFittedError]:
    if importlib.util.find_spec("sklearn") is None:
        return NotFittedError
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    doc = "descend's NotFittedError, and scikit-learn's."
    bases = (NotFittedError, SklearnNotFittedError)
    return type("NotFittedErrorForSklearn", bases, {"__module__": __name__, "__doc__": doc})


def __getattr__(name: str) -> type:
    """The class made by ``not_fitted``, by name: pickle finds it here (joblib workers
    send errors back pickled)."""
    if name == "NotFittedErrorForSklearn":
        return _not_fitted_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
