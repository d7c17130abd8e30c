"""The playground's form: only its own parameters, each checked by the library's checks."""

from __future__ import annotations

import pytest

from descend.errors import InputError
from descend.playground.settings import Settings, defaults, read_settings

COLUMNS = ["age", "weight", "city", "inr"]


def read(**params: str) -> Settings:
    return read_settings(params, COLUMNS, "inr", "regression")


def test_defaults_are_those_of_descend_train() -> None:
    settings = read()
    assert settings == Settings(("age", "weight", "city"), "linear", "sgd", 0.1, None, 1000, 0.0)
    assert defaults(COLUMNS, "y", "multiclass")["model"] == "softmax"


def test_the_query_reads_back_to_the_same_settings() -> None:
    settings = read(features="city,age", lr="0.03", batch_size="16", epochs="7", model="mlp")
    assert read_settings(settings.query(), COLUMNS, "inr", "regression") == settings
    assert settings.query()["batch_size"] == "16" and settings.features == ("city", "age")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"path": "/etc/passwd"}, "The playground has no parameter 'path'; its form takes only"),
        ({"lr": "0"}, "The 'lr' parameter of the playground must be a float in (0, 100]. Got 0.0"),
        (
            {"lr": "nan"},
            "The 'lr' parameter of the playground must be a float in (0, 100]. Got 'nan'",
        ),
        ({"epochs": "5001"}, "'epochs' parameter of the playground must be an int in [1, 5000]"),
        (
            {"epochs": "2.5"},
            "'epochs' parameter of the playground must be an int in [1, 5000]. Got '2.5'",
        ),
        (
            {"batch_size": "0"},
            "'batch_size' parameter of the playground must be 'full' or an int in [1, inf). Got 0",
        ),
        ({"alpha": "-1"}, "'alpha' parameter of the playground must be a float in [0, inf)"),
        (
            {"model": "logistic"},
            "'model' parameter of the playground must be one of 'linear', 'mlp'. Got 'logistic'",
        ),
        ({"optimizer": "lbfgs"}, "'optimizer' parameter of the playground must be one of"),
        ({"features": "inr"}, "'features' parameter of the playground must name distinct columns"),
        ({"features": "../data.csv"}, "Got '../data.csv' instead"),
        ({"features": "age,age"}, "must name distinct columns"),
    ],
)
def test_bad_parameters_are_refused_with_the_rule_and_the_value(params, message) -> None:
    with pytest.raises(InputError) as error:
        read(**params)
    assert message in str(error.value)


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(InputError, match="'lr' parameter of the playground was given twice"):
        read_settings([("lr", "0.1"), ("lr", "0.2")], COLUMNS, "inr", "regression")
