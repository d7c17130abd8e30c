"""Tests for descend.data.targets: the task inferred from the target, class labels checked
and encoded (LabelEncoder)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import descend
from descend.data import (
    LabelEncoder,
    check_class_labels,
    infer_task,
)
from descend.errors import InputError


# ----- infer_task ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "y, task",
    [
        ([0, 1, 1, 0], "binary"),
        (["no", "yes", "yes"], "binary"),
        ([True, False, True], "binary"),
        ([1.0, 3.0, 1.0], "binary"),  # two whole numbers
        ([5.599, 6.020, 5.599], "regression"),  # two values that are not whole: not classes
        (pd.Series(["2.5", "7.5", "2.5"]), "regression"),  # the same, as text
        ([0.1, 0.2, 0.3, 0.4], "regression"),
        (np.arange(40) % 4, "multiclass"),  # 4 integer values, 40 rows
        (np.arange(40.0) % 4, "multiclass"),  # integral floats count as integers
        (np.arange(100) % 21, "regression"),  # 21 values > MAX_CLASSES
        (np.arange(10) % 6, "regression"),  # 6 values > 10 rows / 2
        (["a", "b", "c", "a"], "multiclass"),
        (pd.Series([3, 1, 2], dtype="category"), "multiclass"),
        (pd.Series(["1", "2", "3", "1", "2", "3", "1"]), "multiclass"),  # numbers as text
    ],
)
def test_infer_task(y, task) -> None:
    assert infer_task(y) == task


def test_numbers_that_are_not_whole_are_not_class_labels() -> None:
    check_class_labels([0.0, 1.0, 2.0], "y", "fix.")
    check_class_labels(["a", "b"], "y", "fix.")
    check_class_labels(pd.Series([0.5, 1.5], dtype="category"), "y", "fix.")
    with pytest.raises(
        InputError,
        match=r"^Target 'y' holds continuous numbers, not whole \(such as 5\.599\), which are "
        r"values to predict, not class labels; fix\.$",
    ):
        check_class_labels([6.0, 5.599, 6.02], "y", "fix.")


def test_infer_task_errors() -> None:
    with pytest.raises(
        InputError,
        match=r"^Target 'y' has one class only \('a'\); a classifier needs at least two\.$",
    ):
        infer_task(pd.Series(["a", "a"], name="y"))
    with pytest.raises(
        InputError, match=r"Target 'y' has a missing value in row 1 \(1 missing in all\)"
    ):
        infer_task([1.0, None, 2.0])
    stray = pd.Series(["1.5", "2.5", "oops", "3.5", "4.5"], name="inr")
    with pytest.raises(
        InputError, match=r"Target 'inr' should hold numbers but row 2 holds 'oops'"
    ):
        infer_task(stray)


# ----- LabelEncoder -----------------------------------------------------------------------
def test_label_encoder_round_trip() -> None:
    enc = LabelEncoder().fit(pd.Series(["setosa", "virginica", "versicolor", "setosa"]))
    assert enc.classes_ == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(enc.transform(["virginica", "setosa"]), [2, 0])
    assert enc.transform(["virginica"]).dtype == np.int64
    assert enc.inverse_transform(np.array([1, 2])).tolist() == ["versicolor", "virginica"]
    again = LabelEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again.classes_ == enc.classes_


def test_label_encoder_keeps_python_types() -> None:
    enc = LabelEncoder().fit(np.array([3, 1, 2, 3]))
    assert enc.classes_ == [1, 2, 3] and all(type(c) is int for c in enc.classes_)
    assert json.dumps(enc.to_dict()) == '{"classes": [1, 2, 3]}'
    assert LabelEncoder().fit([True, False]).classes_ == [False, True]


def test_label_encoder_errors() -> None:
    enc = LabelEncoder().fit(["a", "b", "c"])
    with pytest.raises(
        InputError,
        match=(
            r"^Unknown label 'z' in row 1 of target 'y'; the model "
            r"knows 3 classes: 'a', 'b', 'c'\.$"
        ),
    ):
        enc.transform(["a", "z"])
    with pytest.raises(
        InputError, match=r"must be integers in 0\.\.2 \(there are 3 classes\); got 3\."
    ):
        enc.inverse_transform([0, 3])
    with pytest.raises(InputError, match=r"got an array of float64"):
        enc.inverse_transform([0.0, 1.0])
    with pytest.raises(InputError, match=r"Target 'label' has a missing value in row 2"):
        LabelEncoder().fit(pd.Series(["a", "b", None], name="label"))
    with pytest.raises(InputError, match=r"not fitted yet"):
        LabelEncoder().transform(["a"])
    with pytest.raises(InputError, match=r"not a saved LabelEncoder"):
        LabelEncoder.from_dict({"labels": []})


def test_checking_class_labels_gives_their_encoder():
    encoder = check_class_labels(pd.Series(["b", "a", "b"]), "y", "fix.")
    assert encoder.classes_ == ["a", "b"]
    assert encoder.transform(["b", "a"]).tolist() == [1, 0]


def test_one_row_says_so_not_single_class():
    with pytest.raises(InputError, match="^Target 'y' has a single row; a model cannot learn"):
        infer_task(pd.Series([2.0], name="y"))


@pytest.mark.parametrize("size", [1e150, 1.7e308])
def test_a_regression_target_too_large_to_square_is_refused_naming_the_fix(size):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = pd.Series([1.0, -size, 3.0, 2.0], name="y")
    power = int(np.floor(np.log10(size)))
    shown = re.escape(f"{-size:.3g}")
    with pytest.raises(InputError, match=rf"^Target 'y' holds {shown};.*by 1e{power} \("):
        descend.Regressor(epochs=2).fit(X, y)
    descend.Regressor(epochs=2).fit(X, y / 10 ** (power - 149))  # below 1e150: it trains
