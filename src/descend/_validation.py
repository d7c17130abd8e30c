"""Parameter checks as data: constraints, one checker, one message format.

A parameter's constraints are a list; the value must satisfy one of them
(scikit-learn's ``_param_validation``). ``check`` raises InputError naming the
parameter, its owner, every allowed form and the value given, in one format::

    The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead.

Functions declare their constraints with ``@validate_params({...})``; classes
call ``check(owner, constraints, values)`` in their constructor.
``validate_params`` and ``register`` record every constrained owner in
``REGISTRY``, so a test can make an invalid value of every constrained
parameter (``Constraint.invalid``) and check the message.

>>> check("SGD", {"lr": [Interval(float, 0, None, "neither")]}, {"lr": -0.1})
Traceback (most recent call last):
...
descend.errors.InputError: The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

Constraints = Mapping[str, Sequence["Constraint"]]
"""Each parameter's allowed forms: the value must satisfy one of them."""

REGISTRY: list[tuple[Callable[..., Any], str, Constraints]] = []
"""(the callable, its owner's name, its constraints) for every constrained function or class."""


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Constraint:
    """One allowed form of a value: ``satisfied(value)``, its words, and a value that breaks it."""

    def satisfied(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def invalid(self) -> Any:
        """A value this constraint refuses (a test passes it to see the message)."""
        return object()


class Interval(Constraint):
    """A number of ``kind`` (int or float) between ``low`` and ``high`` (None: unbounded);
    ``closed`` is 'both', 'left', 'right' or 'neither', as in scikit-learn.

    An int is accepted where a float is asked for; NaN and bools never are.
    """

    def __init__(
        self,
        kind: type,
        low: float | None,
        high: float | None,
        closed: str = "both",
        words: str | None = None,
    ) -> None:
        self.kind, self.closed, self.words = kind, closed, words
        self.low = -math.inf if low is None else low
        self.high = math.inf if high is None else high

    def satisfied(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = value >= self.low if left and math.isfinite(self.low) else value > self.low
        below = value <= self.high if right and math.isfinite(self.high) else value < self.high
        return bool(above and below)

    def bounds(self) -> str:
        """The interval as it reads: '(0, inf)', '[0, 1)'."""
        left = "[" if self.closed in ("both", "left") and math.isfinite(self.low) else "("
        right = "]" if self.closed in ("both", "right") and math.isfinite(self.high) else ")"
        return f"{left}{_bound(self.low)}, {_bound(self.high)}{right}"

    def describe(self) -> str:
        name = self.words or ("an int" if self.kind is int else "a float")
        return f"{name} in {self.bounds()}"

    def invalid(self) -> Any:
        if math.isfinite(self.low):
            return self.low - 1 if self.kind is int else self.low - 0.5
        return self.high + 1 if self.kind is int else self.high + 0.5


def _bound(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


class Options(Constraint):
    """One of a few values (strings, None, bools), compared by equality."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def satisfied(self, value: Any) -> bool:
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)

    def describe(self) -> str:
        if len(self.values) == 1:
            return repr(self.values[0])
        return "one of " + ", ".join(repr(v) for v in self.values)

    def invalid(self) -> Any:
        return "bogus"


class Boolean(Constraint):
    """True or False (not 0 or 1)."""

    def satisfied(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "a bool (True or False)"

    def invalid(self) -> Any:
        return "yes"


class Pair(Constraint):
    """A tuple or list of two numbers, each allowed by ``item``."""

    def __init__(self, item: Interval) -> None:
        self.item = item

    def satisfied(self, value: Any) -> bool:
        is_pair = isinstance(value, (tuple, list)) and len(value) == 2
        return is_pair and all(self.item.satisfied(v) for v in value)

    def describe(self) -> str:
        kind = "ints" if self.item.kind is int else "floats"
        return f"a pair of {kind}, each in {self.item.bounds()}"

    def invalid(self) -> Any:
        return (self.item.invalid(), self.item.invalid())


class InstanceOf(Constraint):
    """An instance of ``types``, described as ``words``."""

    def __init__(self, types: type | tuple[type, ...], words: str) -> None:
        self.types, self.words = types, words

    def satisfied(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.words

    def invalid(self) -> Any:
        return 3j


class Satisfies(Constraint):
    """Any value for which ``test(value)`` is true, described as ``words``."""

    def __init__(self, test: Callable[[Any], bool], words: str, invalid: Any = 3j) -> None:
        self.test, self.words, self._invalid = test, words, invalid

    def satisfied(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        return self.words

    def invalid(self) -> Any:
        return self._invalid


class Requires:
    """A rule between two parameters: ``name`` set to ``value`` needs ``other`` to pass
    ``test`` (``needs`` in words); ``fix`` says what to do. ``check`` applies it after each
    parameter has passed its own constraints, in one format::

        The 'nesterov' parameter of SGD needs momentum > 0; got momentum=0. Pass ...
    """

    def __init__(
        self, name: str, value: Any, other: str, test: Callable[[Any], bool], needs: str, fix: str
    ) -> None:
        self.name, self.value, self.other = name, value, other
        self.test, self.needs, self.fix = test, needs, fix

    def broken(self, values: Mapping[str, Any]) -> bool:
        if self.name not in values or self.other not in values:
            return False
        return values[self.name] == self.value and not self.test(values[self.other])

    def message(self, owner: str, values: Mapping[str, Any]) -> str:
        other = values[self.other]
        got = f"{self.other}={other:g}" if _is_real(other) else f"{self.other}={_shown(other)}"
        return f"The {self.name!r} parameter of {owner} needs {self.needs}; got {got}. {self.fix}"


def positive(kind: type = float) -> Interval:
    """A number in (0, inf)."""
    return Interval(kind, 0, None, "neither")


def non_negative(kind: type = float) -> Interval:
    """A number in [0, inf)."""
    return Interval(kind, 0, None, "left")


def at_least(low: int) -> Interval:
    """An int in [low, inf)."""
    return Interval(int, low, None, "left")


NONE = Options(None)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def message(owner: str, name: str, allowed: Iterable[Constraint], value: Any) -> str:
    """The one message format for a parameter that breaks its constraints."""
    words = [c.describe() for c in allowed]
    rule = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"The {name!r} parameter of {owner} must be {rule}. Got {_shown(value)} instead."


def check(
    owner: str,
    constraints: Constraints,
    values: Mapping[str, Any],
    rules: Sequence[Requires] = (),
) -> None:
    """Raise InputError for the first value (in ``constraints``' order) that satisfies none of
    its constraints, then for the first of ``rules`` broken; parameters not in ``values`` are
    not checked."""
    for name, allowed in constraints.items():
        if name in values and not any(c.satisfied(values[name]) for c in allowed):
            raise InputError(message(owner, name, allowed, values[name]))
    for rule in rules:
        if rule.broken(values):
            raise InputError(rule.message(owner, values))


def register(owner_callable: Callable[..., Any], constraints: Constraints) -> None:
    """Record a class (or function) and its constraints for the suite's generated checks."""
    name = getattr(owner_callable, "__qualname__", repr(owner_callable))
    REGISTRY.append((owner_callable, name, constraints))


def validate_params(constraints: Constraints) -> Callable[[F], F]:
    """Check a function's arguments against ``constraints`` before it runs.

    >>> @validate_params({"epochs": [at_least(1)]})
    ... def train(epochs=10): return epochs
    >>> train(epochs=0)
    Traceback (most recent call last):
    ...
    descend.errors.InputError: The 'epochs' parameter of train must be an int in [1, inf). Got 0 instead.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        owner = function.__name__

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            check(owner, constraints, bound.arguments)
            return function(*args, **kwargs)

        register(checked, constraints)
        return checked  # type: ignore[return-value]

    return decorate


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
