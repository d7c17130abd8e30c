"""Tests for descend.models: the model, its loss and its output chosen from the target
(read once), and built from that choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descend.errors import InputError
from descend.models import build, choose


def test_an_infinite_target_says_so_not_holds_text():
    y = pd.Series([1.0, np.inf, 3.0, 4.5], name="y")
    with pytest.raises(InputError, match=r"^Target 'y' has an infinite value \(inf\) in row 1"):
        choose(y, task="regression", name="y")
    with pytest.raises(InputError, match="holds text, not numbers"):
        choose(pd.Series(["a", "b"], name="y"), task="regression", name="y")


@pytest.mark.parametrize(
    ("y", "model", "task", "expected"),
    [
        ([1.5, 2.5, 3.0, 0.5], None, None, ("regression", "linear", 1, ("mse", "mae", "huber"))),
        (["no", "yes", "yes"], None, None, ("classification", "logistic", 1, ("bce_with_logits",))),
        (["a", "b", "c", "a"], None, None, ("classification", "softmax", 3, ("cross_entropy",))),
        (["no", "yes"], "softmax", None, ("classification", "softmax", 2, ("cross_entropy",))),
        ([0, 1, 1, 0], None, "regression", ("regression", "linear", 1, ("mse", "mae", "huber"))),
        ([0.1, 0.2, 0.3], "mlp", None, ("regression", "mlp", 1, ("mse", "mae", "huber"))),
    ],
)
def test_the_task_and_model_are_given_implied_or_read_from_the_values(y, model, task, expected):
    choice = choose(y, model=model, task=task)
    assert (choice.task, choice.kind, choice.n_outputs, choice.losses) == expected
    assert choice.loss == expected[3][0]
    assert choice.inferred == (task is None and model not in ("softmax", "logistic", "linear"))


def test_a_classification_choice_holds_the_labels_read_once():
    choice = choose(pd.Series(["b", "a", "c", "b"], name="grade"))
    assert choice.labels.classes_ == ["a", "b", "c"]
    assert choice.labels.transform(["c", "a"]).tolist() == [2, 0]
    several = choose(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 4.0]]), task="regression")
    assert several.n_outputs == 2 and several.distinct == 5 and several.labels is None


@pytest.mark.parametrize(
    ("y", "model", "task", "words"),
    [
        ([0, 1, 2, 1], "logistic", None, r"by model='logistic' \(it separates two classes\), but"),
        ([1.0, 2.0], "linear", "classification", r"model='linear' is a regression model, but"),
        (["a", "a", "a"], None, "classification", r"has one class only \('a'\)"),
    ],
)
def test_a_choice_that_cannot_be_is_refused_naming_the_fix(y, model, task, words):
    with pytest.raises(InputError, match=words):
        choose(y, model=model, task=task)


def test_linear_kinds_start_from_zeros_and_an_mlp_has_the_hidden_layers_asked_for():
    linear = build("softmax", 4, 3)
    assert linear.weight.shape == (4, 3) and not linear.weight.data.any()
    mlp = build("mlp", 4, 1, hidden=(8, 5), activation="tanh", seed=1)
    assert [p.shape for p in mlp.parameters()] == [(4, 8), (8,), (8, 5), (5,), (5, 1), (1,)]
    assert [p.shape for p in build("mlp", 2, 2, hidden=3).parameters()] == [
        (2, 3),
        (3,),
        (3, 2),
        (2,),
    ]
    again = build("mlp", 4, 1, hidden=(8, 5), activation="tanh", seed=1)
    np.testing.assert_array_equal(mlp.parameters()[0].data, again.parameters()[0].data)
