"""An independent reading of a model file's document: what its model predicts.

``reference`` computes, in plain NumPy and without descend, what a document and its
arrays say the model predicts on X, and raises ``Inconsistent`` when the parts do not
fit together (a weight of the wrong shape, labels for other outputs, an array nothing
uses): the oracle ``model_files.replay`` judges an accepted crafted file by.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


# ----- an independent reading of a document --------------------------------------------------
class Inconsistent(Exception):
    """The document's parts do not fit together: no model is what it describes."""


def _activation(kind: str, config: dict[str, Any], z: np.ndarray) -> np.ndarray:
    if kind == "ReLU":
        return np.maximum(z, 0)
    if kind == "Tanh":
        return np.tanh(z)
    if kind == "Sigmoid":
        return 1 / (1 + np.exp(-z))
    if kind == "LeakyReLU":
        return np.where(z > 0, z, config["negative_slope"] * z)
    if kind == "GELU":
        return 0.5 * z * (1 + np.tanh(0.7978845608028654 * (z + 0.044715 * z**3)))
    if kind == "Softmax":
        e = np.exp(z - z.max(axis=config["axis"], keepdims=True))
        return e / e.sum(axis=config["axis"], keepdims=True)
    if kind == "Dropout":
        return z  # evaluation mode
    raise Inconsistent(f"unknown layer {kind!r}")


def _mlp_as_layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """MLP(sizes, activation, dropout) written out: Linear, activation, [Dropout], ..., Linear."""
    names = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU"}
    names["leaky_relu"] = "LeakyReLU"
    sizes, layers = config["sizes"], []
    for i in range(len(sizes) - 1):
        layers.append({"type": "Linear", "config": {"in_features": sizes[i], "bias": True}})
        layers[-1]["config"]["out_features"] = sizes[i + 1]
        if i < len(sizes) - 2:
            slope = {"negative_slope": 0.01}
            layers.append({"type": names[config["activation"]], "config": slope})
            if config["dropout"]:
                layers.append({"type": "Dropout", "config": {}})
    return layers


def _forward(spec: dict[str, Any], prefix: str, z: np.ndarray, used: set[str], arrays: Any) -> Any:
    kind, config = spec["type"], spec["config"]
    if kind in ("Sequential", "MLP"):
        layers = config["layers"] if kind == "Sequential" else _mlp_as_layers(config)
        for i, layer in enumerate(layers):
            z = _forward(layer, f"{prefix}{i}.", z, used, arrays)
        return z
    if kind != "Linear":
        return _activation(kind, config, z)
    weight = arrays[prefix + "weight"]
    used.add(prefix + "weight")
    if weight.shape != (config["in_features"], config["out_features"]) or z.shape[1] != len(weight):
        raise Inconsistent(f"{prefix}weight {weight.shape} does not fit {config} or {z.shape}")
    z = z @ weight.astype(float)
    if config["bias"]:
        bias = arrays[prefix + "bias"]
        used.add(prefix + "bias")
        if bias.shape != (config["out_features"],):
            raise Inconsistent(f"{prefix}bias {bias.shape}")
        z = z + bias.astype(float)
    return z


class OtherColumns(Exception):
    """The document describes a model of columns X does not have: predict refuses it."""


def _features(pre: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    names = [c["name"] for c in pre["columns"]]
    if len(set(names)) < len(names):
        raise Inconsistent("two columns of one name")
    parts = []
    for c in pre["columns"]:
        if c["name"] not in X.columns:
            raise OtherColumns(c["name"])
        values = X[c["name"]].to_numpy()
        if c["kind"] == "numeric":
            mean, scale = float(c["mean"]), float(c["scale"])
            if not (math.isfinite(mean) and math.isfinite(scale) and scale > 0):
                raise Inconsistent(f"scale {c['scale']}")
            parts.append(((values.astype(float) - mean) / scale)[:, None])
        else:
            parts.append(np.stack([values == v for v in c["categories"]], axis=1).astype(float))
    return np.hstack(parts)


def reference(model: Any, X: Any) -> dict[str, Any]:
    """What the document says its model predicts on X, read without descend."""
    meta, arrays, used = model.meta, model.arrays, set[str]()
    try:
        if meta["kind"] == "module":
            return {"forward": _forward(meta["architecture"], "", X, used, arrays)}
        z = _forward(meta["architecture"], "", _features(meta["preprocessing"], X), used, arrays)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as error:
        raise Inconsistent(f"{type(error).__name__}: {error}") from None
    if used != set(arrays):
        raise Inconsistent(f"arrays {sorted(set(arrays) - used)} are not used")
    labels = meta["labels"]
    if meta["estimator"] == "Regressor":
        if labels is not None:
            raise Inconsistent("a regressor with labels")
        return {"predict": z[:, 0] if z.shape[1] == 1 else z}
    classes = labels["classes"]
    if len(set(classes)) < len(classes) or len(classes) != (2 if z.shape[1] == 1 else z.shape[1]):
        raise Inconsistent(f"{len(classes)} labels for {z.shape[1]} outputs")
    if z.shape[1] == 1:
        p = 1 / (1 + np.exp(-z[:, 0]))
        proba = np.stack([1 - p, p], axis=1)
    else:
        proba = _activation("Softmax", {"axis": 1}, z)
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return {"predict": predicted, "predict_proba": proba}
