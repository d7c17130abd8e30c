"""Tests for descend.metrics, against scikit-learn's definitions."""

import doctest

import numpy as np
import pytest

import descend.understand.metrics as metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def test_docstrings():
    assert doctest.testmod(metrics).failed == 0


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    truth, prediction = rng.normal(size=50), rng.normal(size=50)
    result = metrics.regression_metrics(truth, prediction)
    mse = sklearn_metrics.mean_squared_error(truth, prediction)
    assert result["mse"] == pytest.approx(mse, rel=1e-12)
    assert result["rmse"] == pytest.approx(np.sqrt(mse), rel=1e-12)
    assert result["mae"] == pytest.approx(
        sklearn_metrics.mean_absolute_error(truth, prediction), rel=1e-12
    )
    assert result["r2"] == pytest.approx(sklearn_metrics.r2_score(truth, prediction), rel=1e-12)


def test_classification_metrics_match_scikit_learn_with_absent_classes_and_zero_probabilities():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), size=40)
    proba[:, 3] = 0.0  # class 3 never predicted ...
    proba /= proba.sum(axis=1, keepdims=True)
    truth = rng.integers(0, 3, size=40)  # ... and never true
    proba[0] = [0.0, 1.0, 0.0, 0.0]  # a certain mistake: clipped, not infinite
    truth[0] = 0
    result = metrics.classification_metrics(truth, proba)
    predicted = proba.argmax(axis=1)
    assert result["accuracy"] == sklearn_metrics.accuracy_score(truth, predicted)
    assert result["log_loss"] == pytest.approx(
        sklearn_metrics.log_loss(truth, proba, labels=[0, 1, 2, 3]), rel=1e-12
    )
    assert result["f1_macro"] == pytest.approx(
        sklearn_metrics.f1_score(truth, predicted, average="macro"), rel=1e-12
    )
    expected = sklearn_metrics.confusion_matrix(truth, predicted, labels=[0, 1, 2, 3])
    assert result["confusion_matrix"] == expected.tolist()
