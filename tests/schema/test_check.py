"""The one check of a whole document (check_model) and how an estimator's parts agree: the
preprocessing with itself (check_preprocessing), the history with itself (check_history),
the network's width with the preprocessing's (width) and the cross-checks of AGREEMENTS."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from descend import nn
from descend.data.preprocess import Preprocessor
from descend.estimators import Classifier
from descend.schema import SchemaError, check_history, check_model, check_preprocessing, width


def test_check_model_returns_the_network_of_a_document():
    spec = nn.Linear(3, 2).to_config()
    table = {"weight": {"shape": [3, 2], "dtype": "<f8"}, "bias": {"shape": [2], "dtype": "<f8"}}
    document = {"format": "descend-model", "format_version": 1, "descend_version": "0",
                "kind": "module", "architecture": spec, "parameters": table, "sha256": "a" * 64}  # fmt: skip
    assert check_model(document).parameters == {
        "weight": ((3, 2), "float64"),
        "bias": ((2,), "float64"),
    }
    with pytest.raises(SchemaError, match="the shape of the array in the archive"):
        check_model(document, {"weight": ((3, 2), "<f8"), "bias": ((3,), "<f8")})


# ----- an estimator's document ------------------------------------------------------------
def table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "s": rng.choice(["f", "m", "x"], n),
            "t": rng.choice(["u", "v"], n),
        }
    )


@pytest.fixture(scope="module")
def fitted():
    """A softmax classifier of 3 classes on 1 numeric and 2 categorical columns (3 and 2
    categories), imputing, with validation: its document as descend.save writes it."""
    X = table()
    y = np.where(X.a > 0.5, "high", np.where(X.a < -0.5, "low", "mid"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Classifier(epochs=8, impute="mean", validation=0.25).fit(X, y)
    module, meta = model._export()
    document = {"format": "descend-model", "format_version": 1, "descend_version": "0",
                "architecture": module.to_config(), "kind": "estimator", "sha256": "0" * 64,
                "parameters": {n: {"shape": list(p.shape), "dtype": p.data.dtype.str}
                               for n, p in module.named_parameters()}, **meta}  # fmt: skip
    return document, X


def refused(check, part, key):
    """The SchemaError ``check(part)`` raises, which must name ``key``."""
    with pytest.raises(SchemaError) as caught:
        check(part)
    assert caught.value.key == key and str(caught.value).startswith(f"{key!r} ")
    return str(caught.value)


def test_the_document_of_a_fitted_estimator_passes_and_its_network_is_as_wide_as_its_table(
    fitted,
):
    document, X = fitted
    net = check_model(document)
    transformed = Preprocessor.from_dict(document["preprocessing"]).transform(X)
    assert width(document["preprocessing"]) == transformed.shape[1] == 1 + 3 + 2
    assert (net.inputs, net.outputs) == (6, 3)


def test_width_counts_a_numeric_column_once_and_a_categorical_one_per_category():
    numeric = {"name": "a", "kind": "numeric", "mean": 0.0, "scale": 1.0}
    five = {"name": "c", "kind": "categorical", "categories": list("abcde")}
    assert width({"columns": [numeric]}) == 1
    assert width({"columns": [numeric, five, dict(numeric, name="b")]}) == 7
    assert width({"columns": []}) == 0


def _setting(*path, value):
    """A change that puts ``value`` at ``path`` in a document or a part of one."""

    def change(part):
        *head, last = path
        for p in head:
            part = part[p]
        part[last] = value

    return change


def _no_fill(pre):
    del pre["columns"][0]["fill_value"]


def _same_names(pre):
    pre["columns"][2]["name"] = pre["columns"][1]["name"]


PREPROCESSING = [  # (what, how the preprocessing changes, the key the refusal names)
    ("two columns of one name", _same_names, "preprocessing.columns"),
    ("a numeric column forced categorical", _setting("categorical", value=["a"]), "preprocessing.categorical"),
    ("a forced column twice", _setting("categorical", value=["s", "s"]), "preprocessing.categorical"),
    ("a fill value missing", _no_fill, "preprocessing.columns[0].fill_value"),
    ("fill values without impute", _setting("impute", value=None), "preprocessing.columns[0].fill_value"),
    ("categories without one_hot", _setting("one_hot", value=False), "preprocessing.columns[1].kind"),
    ("a fill value no category", _setting("columns", 2, "fill_value", value="w"), "preprocessing.columns[2].fill_value"),
    ("a mean without standardize", _setting("standardize", value=False), "preprocessing.columns[0].mean"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "key"), [c[1:] for c in PREPROCESSING], ids=[c[0] for c in PREPROCESSING]
)
def test_a_preprocessing_whose_parts_disagree_is_refused_naming_the_key(fitted, change, key):
    pre = copy.deepcopy(fitted[0]["preprocessing"])
    check_preprocessing(pre)  # as fit saved it
    change(pre)
    refused(check_preprocessing, pre, key)
    refused(lambda p: check_preprocessing(p, key="pre"), pre, "pre" + key[len("preprocessing") :])


def test_an_unstandardized_preprocessing_passes_with_mean_0_and_scale_1(fitted):
    pre = copy.deepcopy(fitted[0]["preprocessing"])
    pre["standardize"] = False
    pre["columns"][0].update(mean=0, scale=1)
    check_preprocessing(pre)
    pre["columns"][0]["scale"] = 2.0
    message = refused(check_preprocessing, pre, "preprocessing.columns[0].mean")
    assert message.endswith("got (0, 2.0).")


def test_a_list_of_the_history_one_short_is_refused_naming_it_and_the_epochs(fitted):
    history = copy.deepcopy(fitted[0]["history"])
    epochs = len(history["loss"])
    check_history(history)
    assert epochs == 8 and len(history["val_loss"]) == 8
    for name in ("val_loss", "lr", "grad_norm", "update_cosine"):
        short = dict(history, **{name: history[name][:-1]})
        message = refused(check_history, short, f"history.{name}")
        assert message == (
            f"'history.{name}' must be a list of 8 values, one per epoch of 'loss'; got '7 values'."
        )
    check_history(dict(history, val_loss=[], time=[], best_epoch=int(np.argmin(history["loss"]))))


def test_an_event_after_the_last_epoch_is_refused(fitted):
    history = copy.deepcopy(fitted[0]["history"])
    check_history(dict(history, events=[{"epoch": 0}, {"epoch": 7}]))
    message = refused(check_history, dict(history, events=[{"epoch": 0}, {"epoch": 8}]),
                      "history.events[1].epoch")  # fmt: skip
    assert "an epoch in [0, 8); got 8" in message


def test_the_best_epoch_is_the_one_of_the_lowest_validation_loss(fitted):
    history = copy.deepcopy(fitted[0]["history"])
    history["val_loss"] = [None, 3.0, 1.0, 2.0, 0.5, float("nan"), 0.7, 0.6]  # NaN: not the best
    check_history(dict(history, best_epoch=4))
    message = refused(check_history, dict(history, best_epoch=7), "history.best_epoch")
    assert "must be 4, the epoch of the lowest loss; got 7" in message
    history["val_loss"] = []  # no validation: the training loss's lowest
    best = int(np.argmin(history["loss"]))
    check_history(dict(history, best_epoch=best))
    refused(check_history, dict(history, best_epoch=best - 1), "history.best_epoch")


def test_a_diagnosis_of_another_number_of_epochs_is_refused(fitted):
    history = copy.deepcopy(fitted[0]["history"])
    assert history["diagnosis"]["evidence"]["epochs"] == 8
    history["diagnosis"]["evidence"]["epochs"] = 9
    message = refused(check_history, history, "history.diagnosis.evidence.epochs")
    assert "must be 8, as many as the losses; got 9" in message


def _wider(document):
    document["architecture"]["config"]["in_features"] = 7
    document["parameters"]["weight"]["shape"][0] = 7


AGREEING = [  # (what, how the document changes, the key the refusal names, the rule it says)
    ("a classifier without labels", _setting("labels", value=None), "labels", "the class labels of the Classifier"),
    ("a model kind params do not give", _setting("model_kind", value="mlp"), "model_kind", "'softmax', the model that params.model gives"),
    ("an init the estimator does not use", _setting("architecture", "config", "init", value="xavier"), "architecture.config.init", "'zeros' for the softmax model the estimator builds"),
    ("one input more than the preprocessing gives", _wider, "architecture.config.in_features", "6, the number of columns the preprocessing gives"),
    ("a regression loss", _setting("loss", value="mse"), "loss", "'cross_entropy': params.loss"),
    ("the preprocessing otherwise than params", _setting("params", "standardize", value=False), "preprocessing.standardize", "False, as params.standardize"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "key", "rule"), [c[1:] for c in AGREEING], ids=[c[0] for c in AGREEING]
)
def test_an_estimators_document_whose_parts_disagree_is_refused_naming_the_key(fitted, change, key, rule):  # fmt: skip
    document = copy.deepcopy(fitted[0])
    change(document)
    assert f"must be {rule}" in refused(check_model, document, key)
