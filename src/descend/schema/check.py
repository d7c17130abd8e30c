"""How the parts of a model file agree, and the one check of a whole document.

``check_model`` walks the document's rules (``document``), reads the network from
the architecture, checks the table of weights against the arrays in the archive,
and for an estimator runs AGREEMENTS: one small function per cross-reference
(the labels and the outputs, the model kind and params, the network the estimator
builds, the input width and the preprocessing, the loss).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

from ..learn.history import PER_EPOCH, History
from ..learn.losses import LOSSES
from ..models import CLASSIFIER_LOSSES, REGRESSION_LOSSES
from .document import (
    COMMON,
    DOCUMENT,
    MODEL_KINDS,
    Budget,
    Network,
    Shape,
    check_parameters,
    network,
)
from .rules import SchemaError


def check_model(meta: Any, arrays: dict[str, tuple[Shape, str]] | None = None) -> Network:
    """Check a model file's JSON document completely, and the headers of the arrays in its
    archive (name -> (shape, dtype string)) against it; returns the architecture's Network.
    Raises one SchemaError. Without ``arrays`` the document's own table of weights stands in."""
    if type(meta) is not dict:
        raise SchemaError("(document)", "a JSON object", type(meta).__name__)
    for name in ("format", "format_version"):
        if name not in meta:
            raise SchemaError(name, COMMON[name].rule, missing=True)
        COMMON[name].check(meta[name], name)
    DOCUMENT.check(meta, "")
    table = meta["parameters"]
    net = network(meta["architecture"], budget=Budget(len(table if arrays is None else arrays)))
    check_parameters(meta["parameters"], net, arrays)
    if meta["kind"] == "estimator":
        check_preprocessing(meta["preprocessing"])
        check_history(meta["history"])
        for agree in AGREEMENTS:
            agree(meta, net)
    return net


# ----- how the parts of an estimator's file agree ---------------------------------------------
def check_preprocessing(pre: dict[str, Any], key: str = "preprocessing") -> None:
    """A saved Preprocessor's parts agree: distinct names, fill values iff imputing, ..."""
    columns = pre["columns"]
    names = [c["name"] for c in columns]
    if len(set(names)) < len(names):
        repeated = next(n for n, count in collections.Counter(names).items() if count > 1)
        raise SchemaError(f"{key}.columns", "a list of columns with distinct names", repeated)
    kinds = {c["name"]: c["kind"] for c in columns}
    forced = pre["categorical"]
    if len(set(forced)) < len(forced) or any(kinds.get(n) != "categorical" for n in forced):
        raise SchemaError(f"{key}.categorical", "distinct names of categorical columns", forced)
    for i, column in enumerate(columns):
        at = f"{key}.columns[{i}]"
        if ("fill_value" in column) != (pre["impute"] is not None):
            rule = (
                "present exactly when impute is set" if pre["impute"] else "absent: impute is null"
            )
            raise SchemaError(f"{at}.fill_value", rule, column.get("fill_value"))
        if column["kind"] == "categorical":
            if not pre["one_hot"]:
                raise SchemaError(f"{at}.kind", "'numeric': one_hot is false", column["kind"])
            if "fill_value" in column and column["fill_value"] not in column["categories"]:
                raise SchemaError(
                    f"{at}.fill_value", "one of the column's categories", column["fill_value"]
                )
        elif not pre["standardize"] and (column["mean"], column["scale"]) != (0, 1):
            rule = "mean 0 and scale 1: standardize is false"
            raise SchemaError(f"{at}.mean", rule, (column["mean"], column["scale"]))


def width(pre: dict[str, Any]) -> int:
    """The number of columns a saved Preprocessor's transform gives."""
    return sum(1 if c["kind"] == "numeric" else len(c["categories"]) for c in pre["columns"])


def check_history(history: dict[str, Any], key: str = "history") -> None:
    """A saved History's records agree: one value per epoch in each list, the best epoch..."""
    epochs = len(history.get("loss", []))
    for name in (*PER_EPOCH, "lr"):
        n = len(history.get(name, []))
        if n != epochs and not (name in ("val_loss", "time") and n == 0):  # time: not saved
            rule = f"a list of {epochs} values, one per epoch of 'loss'"
            raise SchemaError(f"{key}.{name}", rule, f"{n} values")
    for i, event in enumerate(history.get("events", [])):
        if event["epoch"] >= max(epochs, 1):
            raise SchemaError(
                f"{key}.events[{i}].epoch", f"an epoch in [0, {epochs})", event["epoch"]
            )
    if "best_epoch" in history:
        loss, val_loss = ([_nan(v) for v in history.get(n, [])] for n in ("loss", "val_loss"))
        best = History(loss=loss, val_loss=val_loss)
        if history["best_epoch"] != best.best_epoch:
            rule = f"{best.best_epoch}, the epoch of the lowest loss"
            raise SchemaError(f"{key}.best_epoch", rule, history["best_epoch"])
    evidence = (history.get("diagnosis") or {}).get("evidence", {})
    if "epochs" in evidence and evidence["epochs"] != epochs:
        raise SchemaError(
            f"{key}.diagnosis.evidence.epochs",
            f"{epochs}, as many as the losses",
            evidence["epochs"],
        )


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _n_classes(meta: dict[str, Any]) -> int:
    return len(meta["labels"]["classes"]) if meta["labels"] is not None else 0


def _agree_labels(meta: dict[str, Any], net: Network) -> None:
    name, labels = meta["estimator"], meta["labels"]
    if name == "Regressor" and labels is not None:
        raise SchemaError("labels", "null: a Regressor predicts numbers", labels)
    if name == "Classifier" and labels is None:
        raise SchemaError("labels", "the class labels of the Classifier", labels)


def _seed(params: dict[str, Any]) -> int | None:
    """The seed the parameters give (random_state, or seed in older files)."""
    if ("seed" in params) == ("random_state" in params):
        rule = "present, or 'params.seed' in older files: exactly one of the two"
        raise SchemaError("params.random_state", rule, sorted(params))
    return params["seed"] if "seed" in params else params["random_state"]  # type: ignore[no-any-return]


def _agree_model_kind(meta: dict[str, Any], net: Network) -> None:
    name, kind, model = meta["estimator"], meta["model_kind"], meta["params"]["model"]
    if kind not in MODEL_KINDS[name]:
        raise SchemaError("model_kind", f"one of {MODEL_KINDS[name]} for a {name}", kind)
    if model == "auto":
        two = _n_classes(meta) == 2
        model = "linear" if name == "Regressor" else "logistic" if two else "softmax"
    if model != kind:
        raise SchemaError("model_kind", f"{model!r}, the model that params.model gives", kind)


def _agree_architecture(meta: dict[str, Any], net: Network) -> None:
    """The network is the one the estimator builds for its model kind and params."""
    kind, params, spec = meta["model_kind"], meta["params"], meta["architecture"]
    config = spec["config"]
    if kind == "mlp":
        hidden = [params["hidden"]] if type(params["hidden"]) is int else params["hidden"]
        expected = {"activation": params["activation"], "dropout": 0, "init": None}
        expected.update(dtype="float64", seed=_seed(params))
        if expected["seed"] is None:  # random_state None: a seed drawn at fit time
            expected.pop("seed")
        if spec["type"] == "MLP" and config["sizes"][1:-1] != hidden:
            rule = f"[inputs, {', '.join(map(str, hidden))}, outputs], as params.hidden says"
            raise SchemaError("architecture.config.sizes", rule, config["sizes"])
    else:
        _seed(params)
        expected = {"bias": True, "init": "zeros", "seed": None, "dtype": "float64"}
    layer = "MLP" if kind == "mlp" else "Linear"
    if spec["type"] != layer:
        raise SchemaError("architecture.type", f"{layer!r} for a {kind} model", spec["type"])
    for name, value in expected.items():
        if config[name] != value:
            rule = f"{value!r} for the {kind} model the estimator builds"
            raise SchemaError(f"architecture.config.{name}", rule, config[name])


def _agree_widths(meta: dict[str, Any], net: Network) -> None:
    """Inputs = the preprocessing's columns; outputs = one per class (one for two classes)."""
    columns = width(meta["preprocessing"])
    if net.inputs != columns:
        rule = f"{columns}, the number of columns the preprocessing gives"
        raise SchemaError(net.input_key, rule, net.inputs)
    n, kind = _n_classes(meta), meta["model_kind"]
    if meta["estimator"] == "Regressor":
        return
    if kind == "logistic" and n != 2:
        raise SchemaError(
            "labels.classes", "a list of 2 labels for a logistic model", meta["labels"]["classes"]
        )
    outputs = 1 if n == 2 and kind != "softmax" else n
    if net.outputs != outputs:
        rule = f"{outputs}: a {kind} classifier of {n} classes has {outputs} output(s)"
        raise SchemaError(net.output_key, rule, net.outputs)


def _agree_loss(meta: dict[str, Any], net: Network) -> None:
    """The loss is one the model's outputs take (descend.models' losses), as params say."""
    loss = meta["loss"]
    losses: tuple[str, ...] = REGRESSION_LOSSES
    if meta["estimator"] == "Classifier":
        one_output = _n_classes(meta) == 2 and meta["model_kind"] != "softmax"
        losses = CLASSIFIER_LOSSES[:1] if one_output else CLASSIFIER_LOSSES[1:]
    given = meta["params"]["loss"] or losses[0]
    if loss not in losses or loss != given:
        rule = f"{given!r}: params.loss, or the first of {losses} for this model"
        raise SchemaError("loss", rule, loss)
    recorded = meta["history"].get("settings", {}).get("loss")
    if recorded is not None and recorded != LOSSES[loss].__name__:
        raise SchemaError("history.settings.loss", f"{LOSSES[loss].__name__!r}, the loss", recorded)


def _agree_preprocessing(meta: dict[str, Any], net: Network) -> None:
    pre, params = meta["preprocessing"], meta["params"]
    for name in ("standardize", "impute", "categorical"):
        if pre[name] != params[name]:
            raise SchemaError(
                f"preprocessing.{name}", f"{params[name]!r}, as params.{name}", pre[name]
            )


AGREEMENTS: tuple[Callable[[dict[str, Any], Network], None], ...] = (
    _agree_labels,
    _agree_model_kind,
    _agree_architecture,
    _agree_widths,
    _agree_loss,
    _agree_preprocessing,
)
"""The cross-references of an estimator's file, checked in this order."""
