"""Rules for a JSON document: descend's parameter constraints at the leaves, and one walk.

The leaves are the constraints of ``descend._validation`` (an Interval, Options,
Boolean...), so a model file's values are judged and described in the same words
as the parameters that made them; ``allowed(*constraints)`` makes a ``Rule`` of
them. ``Record``, ``ListOf``, ``MapOf``, ``Either`` and ``Tagged`` build the rules
of a whole document from rules, and ``check`` raises one SchemaError naming the
key (``columns[2].scale``) and the rule.

>>> rule = Record({"lr": allowed(positive())})
>>> rule.check({"lr": 0.1}, "")
>>> rule.check({"lr": -1}, "")
Traceback (most recent call last):
...
descend.schema.rules.SchemaError: 'lr' must be a float in (0, inf); got -1.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from .._validation import (
    NONE,
    Boolean,
    Constraint,
    Interval,
    Options,
    Satisfies,
    at_least,
    non_negative,
    positive,
)
from ..data.tables import _sort_key
from ..errors import InputError

MAX_TEXT = 1_000_000
"""Characters of any one string in a document."""
MAX_SEED = 1 << 128
"""Seeds are ints in [0, MAX_SEED], as NumPy's generators take them."""


class SchemaError(InputError):
    """A model file's document breaks a rule: ``key`` names where, ``rule`` what it must be."""

    def __init__(self, key: str, rule: str, value: Any = None, missing: bool = False) -> None:
        self.key, self.rule = key, rule
        key = key if len(key) <= 200 else key[:197] + "..."  # a key the document made up
        if missing:
            text = f"{key!r} is missing; it must be {rule}."
        else:
            text = f"{key!r} must be {rule}; got {_show(value)}."
        super().__init__(text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ----- rules: a constraint on a value, said in words --------------------------------------
class Rule:
    """A value that passes ``test``; ``rule`` says what that is, for the message."""

    def __init__(self, rule: str, test: Callable[[Any], bool]) -> None:
        self.rule = rule
        self.test = test

    def accepts(self, value: Any) -> bool:
        """Whether the value is of this rule's kind (a compound rule checks its parts later)."""
        return bool(self.test(value))

    def check(self, value: Any, key: str) -> None:
        if not self.test(value):
            raise SchemaError(key, self.rule, value)


def is_int(v: Any) -> bool:
    return type(v) is int


def is_number(v: Any) -> bool:
    """An int or float (not a bool) that float() takes: ints beyond 1.8e308 are not."""
    return type(v) is float or (type(v) is int and abs(v) <= sys.float_info.max)


def _words(constraints: tuple[Constraint, ...]) -> str:
    words = [c.describe() for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def allowed(*constraints: Constraint) -> Rule:
    """A value that satisfies one of descend's parameter ``constraints`` (and, a number,
    one that float() takes), described in their words."""
    return Rule(
        _words(constraints),
        lambda v: (
            not (type(v) is int and not is_number(v)) and any(c.satisfied(v) for c in constraints)
        ),
    )


def one_of(*choices: Any) -> Rule:
    return allowed(Options(*choices))


def name_in(table: dict[str, Any], what: str) -> Rule:
    """A name of ``table`` in any case, as descend's lookups by name take it."""
    words = f"a {what} name ({', '.join(table)})"
    return allowed(Satisfies(lambda v: isinstance(v, str) and v.lower() in table, words))


def utf8(v: str) -> bool:
    """Whether a string can be written as UTF-8: JSON's escapes can carry a lone surrogate
    ("\\ud800"), which no file, terminal or CSV writer takes."""
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


FINITE = allowed(Interval(float, None, None, "neither"))
ANY_NUMBER = allowed(Satisfies(is_number, "a number (NaN and infinity too)"))
TEXT = allowed(
    Satisfies(
        lambda v: type(v) is str and len(v) <= MAX_TEXT and utf8(v),
        f"a string of <= {MAX_TEXT:,} chars (UTF-8: no lone surrogate)",
    )
)
BOOL = allowed(Boolean())
NULL = allowed(NONE)
SEED = allowed(Satisfies(lambda v: is_int(v) and 0 <= v <= MAX_SEED, "an int in [0, 2**128]"))
SIZE = allowed(at_least(1))
COUNT = allowed(non_negative(int))
POSITIVE = allowed(positive())
RATE = allowed(non_negative())
LABEL = allowed(
    Satisfies(
        lambda v: (
            type(v) in (bool, int)
            or (type(v) is str and len(v) <= MAX_TEXT and utf8(v))
            or (type(v) is float and not math.isnan(v))
        ),
        "a string, a number or a bool (a class label or a category; text in UTF-8)",
    )
)
SCALAR = allowed(
    Satisfies(lambda v: v is None or type(v) is bool or is_number(v), "a number, a bool or None")
)


class Either(Rule):
    """One of several rules: the first whose kind the value is decides."""

    def __init__(self, *choices: Rule) -> None:
        super().__init__(" or ".join(c.rule for c in choices), lambda v: True)
        self.choices = choices

    def accepts(self, value: Any) -> bool:
        return any(c.accepts(value) for c in self.choices)

    def check(self, value: Any, key: str) -> None:
        for choice in self.choices:
            if choice.accepts(value):
                choice.check(value, key)
                return
        raise SchemaError(key, self.rule, value)


def either(*choices: Rule) -> Rule:
    """One of several rules; of plain rules, a plain rule (one test, no walk)."""
    if all(type(c) is Rule for c in choices):
        tests = [c.test for c in choices]
        return Rule(" or ".join(c.rule for c in choices), lambda v: any(t(v) for t in tests))
    return Either(*choices)


def maybe(rule: Rule) -> Rule:
    return either(NULL, rule)


class ListOf(Rule):
    """A list whose items pass ``item``, of length in [low, high]; ``unique``: all different
    and in descend's sorted order (how class labels and categories are kept)."""

    def __init__(self, item: Rule, low: int = 0, high: int | None = None, unique: bool = False):
        order = ", distinct and sorted" if unique else ""
        super().__init__(f"a list of {low} or more items{order}", lambda v: type(v) is list)
        self.item, self.low, self.high, self.unique = item, low, high, unique

    def check(self, value: Any, key: str) -> None:
        if type(value) is not list or not self.low <= len(value) <= (self.high or len(value)):
            raise SchemaError(key, f"{self.rule}, each {self.item.rule}", value)
        if type(self.item) is Rule:  # a plain rule: one pass, a key only for the first failure
            test = self.item.test
            bad = next((i for i, item in enumerate(value) if not test(item)), None)
            if bad is not None:
                raise SchemaError(f"{key}[{bad}]", self.item.rule, value[bad])
        else:
            for i, item in enumerate(value):
                self.item.check(item, f"{key}[{i}]")
        if self.unique:
            keys = [_sort_key(v) for v in value]
            if len(set(value)) < len(value) or any(a >= b for a, b in zip(keys, keys[1:])):
                raise SchemaError(key, "a list of distinct values in sorted order", value)
            if len({str(v) for v in value}) < len(value):  # 1 and '1': one CSV column name
                raise SchemaError(key, "a list of values whose text forms differ", value)


class MapOf(Rule):
    """A JSON object with string keys (at most ``high``), each value passing ``value``."""

    def __init__(self, value: Rule, high: int = 1000) -> None:
        super().__init__(f"an object of at most {high} entries", lambda v: type(v) is dict)
        self.value, self.high = value, high

    def check(self, value: Any, key: str) -> None:
        if type(value) is not dict or len(value) > self.high:
            raise SchemaError(key, self.rule, value)
        for name, item in value.items():
            if len(name) > 200 or not utf8(name):
                raise SchemaError(key, "an object with UTF-8 keys of at most 200 characters", name)
            self.value.check(item, f"{key}.{name}")


class Record(Rule):
    """A JSON object with exactly the ``required`` keys and any of the ``optional`` ones."""

    def __init__(self, required: dict[str, Rule], optional: dict[str, Rule] | None = None):
        super().__init__("an object", lambda v: type(v) is dict)
        self.required, self.optional = required, optional or {}
        self.keys = {**self.required, **self.optional}

    def check(self, value: Any, key: str) -> None:
        if type(value) is not dict:
            raise SchemaError(key, f"an object with the keys {', '.join(self.keys)}", value)
        for name in value:
            if name not in self.keys:
                known = ", ".join(self.keys) or "none"
                raise SchemaError(_at(key, name), f"absent (the keys here are: {known})", "present")
        for name, rule in self.keys.items():
            if name in value:
                rule.check(value[name], _at(key, name))
            elif name in self.required:
                raise SchemaError(_at(key, name), rule.rule, missing=True)


class Tagged(Rule):
    """A Record chosen by the value of its key ``tag`` (a layer's type, a column's kind)."""

    def __init__(self, tag: str, records: dict[str, Record]) -> None:
        super().__init__("an object", lambda v: type(v) is dict)
        self.tag, self.records = tag, records

    def check(self, value: Any, key: str) -> None:
        kind = value.get(self.tag) if type(value) is dict else None
        if type(kind) is not str or kind not in self.records:
            rule = f"one of {', '.join(map(repr, self.records))}"
            if type(value) is not dict:
                raise SchemaError(key, f"an object with a {self.tag!r} key", value)
            raise SchemaError(_at(key, self.tag), rule, kind, missing=self.tag not in value)
        self.records[kind].check(value, key)


def _at(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
