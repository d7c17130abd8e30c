"""Checks for constructor arguments, with scikit-learn's wording.

Each check raises InputError naming the parameter, its owner, the rule and
the value, or returns None. An interval is written as it reads in the
message, such as ``"(0, inf)"`` or ``"[0, 1)"``.

>>> check_float(-0.1, "lr", "SGD", "(0, inf)")
Traceback (most recent call last):
...
descend.errors.InputError: The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead.
"""

from __future__ import annotations

import numbers
from typing import Any

from .errors import InputError


def _within(value: Any, interval: str) -> bool:
    """Whether the number ``value`` lies in ``interval`` (NaN never does)."""
    low, high = (float(bound) for bound in interval[1:-1].split(","))
    above = value >= low if interval[0] == "[" else value > low
    below = value <= high if interval[-1] == "]" else value < high
    return bool(above and below)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_float(value: Any, name: str, owner: str, interval: str) -> None:
    """Raise unless ``value`` is a real number (not a bool) in ``interval``."""
    if not (_is_real(value) and _within(value, interval)):
        raise InputError(
            f"The {name!r} parameter of {owner} must be a float in {interval}. "
            f"Got {value!r} instead."
        )


def check_int(value: Any, name: str, owner: str, interval: str) -> None:
    """Raise unless ``value`` is an integer (not a bool) in ``interval``."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (is_int and _within(value, interval)):
        raise InputError(
            f"The {name!r} parameter of {owner} must be an int in {interval}. "
            f"Got {value!r} instead."
        )


def check_bool(value: Any, name: str, owner: str) -> None:
    """Raise unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise InputError(
            f"The {name!r} parameter of {owner} must be a bool (True or False). "
            f"Got {value!r} instead."
        )


def check_pair(value: Any, name: str, owner: str, interval: str) -> None:
    """Raise unless ``value`` is a tuple or list of two real numbers, each in ``interval``."""
    is_pair = isinstance(value, (tuple, list)) and len(value) == 2
    if not (is_pair and all(_is_real(v) and _within(v, interval) for v in value)):
        raise InputError(
            f"The {name!r} parameter of {owner} must be a pair of floats, each in {interval}. "
            f"Got {value!r} instead."
        )


def by_name(table: dict[str, Any], name: Any, what: str, instead: str) -> Any:
    """``table[name]``, case-insensitively, or an InputError listing the names.

    >>> by_name({"sgd": 1}, "SGD", "optimizer", "pass an Optimizer")
    1
    """
    key = name.lower() if isinstance(name, str) else None
    if key not in table:
        names = ", ".join(repr(n) for n in table)
        raise InputError(f"Unknown {what} {name!r}. Choose one of {names}, or {instead}.")
    return table[key]
