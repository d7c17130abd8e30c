"""The rules of descend.schema.rules: what each accepts, and the key and rule it names."""

import math

import pytest

from descend._validation import Interval, positive
from descend.errors import InputError
from descend.schema.rules import (
    FINITE,
    LABEL,
    SEED,
    SIZE,
    Either,
    ListOf,
    MapOf,
    Record,
    SchemaError,
    Tagged,
    allowed,
    maybe,
    one_of,
)


def refusal(rule, value, key="k"):
    with pytest.raises(SchemaError) as caught:
        rule.check(value, key)
    assert isinstance(caught.value, InputError) and "\n" not in str(caught.value)
    return str(caught.value)


def test_a_record_names_an_unknown_key_a_missing_one_and_a_bad_value_by_their_path():
    rule = Record({"columns": ListOf(Record({"scale": allowed(positive())}))}, {"note": LABEL})
    rule.check({"columns": [{"scale": 2.0}]}, "")
    assert refusal(rule, {"columns": [{"scale": 2.0}, {"scale": 0.0}]}, "") == (
        "'columns[1].scale' must be a float in (0, inf); got 0.0."
    )
    extra = refusal(rule, {"columns": [{"scale": 1, "mean": 0}]}, "")
    assert "'columns[0].mean' must be absent (the keys here are: scale)" in extra
    assert refusal(rule, {}, "") == "'columns' is missing; it must be a list of 0 or more items."


def test_leaves_are_descends_parameter_constraints_in_their_words():
    unit = allowed(Interval(float, 0, 1, "left"))
    assert [unit.test(v) for v in (0, 0.999, 1, -0.0, True, math.nan)] == [
        True, True, False, True, False, False,
    ]  # fmt: skip
    assert refusal(unit, 1.5) == "'k' must be a float in [0, 1); got 1.5."
    assert [FINITE.test(v) for v in (1e308, math.inf, -math.inf, 10**300, 10**400)] == [
        True, False, False, True, False,  # an int float() cannot take is no number
    ]  # fmt: skip
    assert refusal(maybe(one_of("mean")), "bogus") == ("'k' must be None or 'mean'; got 'bogus'.")


def test_ints_are_ints_not_bools_or_floats():
    assert [SIZE.test(v) for v in (1, 0, True, 1.0, 10**30)] == [True, False, False, False, True]
    assert SEED.test(2**128) and not SEED.test(2**128 + 1) and not SEED.test(-1)
    assert "an int in [0, 2**128]" in refusal(SEED, "x")
    assert "an int in [-3, 3]" in refusal(allowed(Interval(int, -3, 3)), 4)


def test_labels_lists_must_be_distinct_and_in_descends_sorted_order():
    labels = ListOf(LABEL, 2, unique=True)
    labels.check([False, True, 2, 2.5, "a", "b"], "classes")  # bools, numbers, then text
    assert "distinct values in sorted order" in refusal(labels, ["b", "a"])
    assert "distinct values in sorted order" in refusal(labels, [True, 1])  # equal in Python
    assert "'k[1]' must be a string, a number or a bool" in refusal(labels, ["a", None])
    assert "2 or more items" in refusal(labels, ["a"])


def test_either_takes_the_first_rule_of_the_values_kind():
    hidden = Either(SIZE, ListOf(SIZE))
    hidden.check(64, "hidden")
    hidden.check([8, 4], "hidden")
    assert refusal(hidden, [8, 0], "hidden") == "'hidden[1]' must be an int in [1, inf); got 0."
    assert "an int in [1, inf) or a list" in refusal(hidden, "x")


def test_tagged_records_choose_their_rules_by_the_tag():
    rule = Tagged("kind", {"a": Record({"kind": LABEL, "x": SIZE}), "b": Record({"kind": LABEL})})
    rule.check({"kind": "b"}, "c")
    assert refusal(rule, {"kind": "z"}, "c") == "'c.kind' must be one of 'a', 'b'; got 'z'."
    assert refusal(rule, {"x": 1}, "c") == "'c.kind' is missing; it must be one of 'a', 'b'."
    assert "'c.x' is missing" in refusal(rule, {"kind": "a"}, "c")
    assert "an object with a 'kind' key" in refusal(rule, [1], "c")


def test_maps_have_string_keys_and_bounded_size():
    rule = MapOf(FINITE, high=2)
    rule.check({"a": 1.0, "b": 2}, "m")
    assert "'m.b' must be a float in (-inf, inf)" in refusal(rule, {"a": 1.0, "b": "x"}, "m")
    assert "at most 2 entries" in refusal(rule, {"a": 1, "b": 2, "c": 3}, "m")
