"""How good a model's predictions are: regression and classification metrics in NumPy.

The definitions are scikit-learn's, so the numbers can be checked against it.

>>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["mae"]
0.3333333333333333
>>> proba = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
>>> classification_metrics([0, 1, 1], proba)["accuracy"]
0.6666666666666666
"""

from __future__ import annotations

import math
from typing import Any

from ..engine.backend import xp


def r2_score(truth: Any, prediction: Any, sample_weight: Any = None) -> float:
    """Coefficient of determination, averaged over outputs: ``r2_score([1, 2, 3], [1, 2, 3])`` -> 1.0.

    1 is perfect, 0 is as good as predicting the mean; a constant truth scores 0
    unless predicted exactly.
    """
    truth = xp.asarray(truth, dtype=float)
    truth = truth.reshape(len(truth), -1)
    prediction = xp.asarray(prediction, dtype=float).reshape(len(truth), -1)
    w = xp.ones(len(truth)) if sample_weight is None else xp.asarray(sample_weight, dtype=float)
    residual = (w[:, None] * (truth - prediction) ** 2).sum(axis=0)
    centred = truth - xp.average(truth, axis=0, weights=w)
    total = (w[:, None] * centred**2).sum(axis=0)
    scores = xp.where(total > 0, 1 - residual / xp.where(total > 0, total, 1), 0.0)
    return float(scores.mean())


def regression_metrics(truth: Any, prediction: Any) -> dict[str, float]:
    """mse, rmse, mae and r2 of predicted numbers against the true ones."""
    truth = xp.asarray(truth, dtype=float)
    error = xp.asarray(prediction, dtype=float).reshape(truth.shape) - truth
    mse = float(xp.mean(error**2))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(xp.mean(xp.abs(error))),
        "r2": r2_score(truth, error + truth),
    }


def confusion_matrix(truth: Any, predicted: Any, n_classes: int) -> Any:
    """Counts of (true class, predicted class) pairs; row i is true class i, column j predicted j."""
    counts = xp.zeros((n_classes, n_classes), dtype=xp.int64)
    xp.add.at(counts, (xp.asarray(truth), xp.asarray(predicted)), 1)
    return counts


def f1_macro(counts: Any) -> float:
    """The mean F1 score over the classes that occur (as truth or prediction) in a confusion matrix."""
    hits = xp.diag(counts).astype(float)
    true, predicted = counts.sum(axis=1), counts.sum(axis=0)
    occurs = (true + predicted) > 0
    f1 = 2 * hits[occurs] / (true[occurs] + predicted[occurs])
    return float(f1.mean())


def classification_metrics(truth: Any, proba: Any) -> dict[str, Any]:
    """accuracy, log_loss, f1_macro and the confusion matrix of class probabilities.

    ``truth`` holds class indices 0..k-1 and ``proba`` one column per class.
    Probabilities are clipped to [eps, 1 - eps] before the logarithm, as in
    scikit-learn, so a confident mistake costs about 36 rather than infinity.
    """
    truth = xp.asarray(truth)
    proba = xp.asarray(proba, dtype=float)
    predicted = proba.argmax(axis=1)
    eps = xp.finfo(proba.dtype).eps
    chosen = xp.clip(proba[xp.arange(len(truth)), truth], eps, 1 - eps)
    counts = confusion_matrix(truth, predicted, proba.shape[1])
    return {
        "accuracy": float(xp.mean(predicted == truth)),
        "log_loss": float(-xp.mean(xp.log(chosen))),
        "f1_macro": f1_macro(counts),
        "confusion_matrix": counts.tolist(),
    }
