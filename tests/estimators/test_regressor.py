"""Tests for descend.estimators.regressor: the Regressor against least squares, its
weights in the units of the columns, its scores and metrics."""

import numpy as np
import pytest

from descend.errors import InputError
from descend.estimators import Regressor
from descend.understand.metrics import r2_score
from tests.estimators.frames import patients_frame


def test_regressor_on_a_dataframe_matches_least_squares():
    frame, y = patients_frame()
    model = Regressor(epochs=3000, tol=None).fit(frame, y)
    assert list(model.feature_names_in_) == ["age", "weight", "creatinine", "sex"]
    design = np.c_[model.preprocessor_.transform(frame), np.ones(len(y))]
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.module_.weight.data.ravel(), exact[:-1], atol=1e-6)
    assert model.score(frame, y) == pytest.approx(r2_score(y, design @ exact), abs=1e-9)


def fitted_line(targets=1):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 2))
    Y = X @ rng.normal(size=(2, targets)) + rng.normal(0, 0.5, size=(90, targets))
    return (
        X,
        Y[:, 0] if targets == 1 else Y,
        Regressor(epochs=200).fit(X, Y[:, 0] if targets == 1 else Y),
    )


def test_the_metrics_are_those_of_the_predictions_against_the_truth():
    X, y, model = fitted_line()
    error = model.predict(X) - y
    metrics = model.metrics(X, y)
    assert metrics["mse"] == pytest.approx(np.mean(error**2), rel=1e-12)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-12)
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(error)), rel=1e-12)
    assert metrics["r2"] == pytest.approx(1 - np.sum(error**2) / np.sum((y - y.mean()) ** 2))
    with pytest.raises(InputError, match="this model is a regressor: it predicts numbers"):
        model.metrics(X, ["a"] * len(X))


def test_the_score_with_weights_is_the_weighted_r2():
    X, y, model = fitted_line()
    w = np.linspace(0.5, 2.0, len(y))
    error = model.predict(X) - y
    mean = np.average(y, weights=w)
    expected = 1 - np.sum(w * error**2) / np.sum(w * (y - mean) ** 2)
    assert model.score(X, y, sample_weight=w) == pytest.approx(expected, rel=1e-12)


def test_several_targets_give_a_column_each_and_a_weight_row_each():
    X, Y, model = fitted_line(targets=3)
    assert model.predict(X).shape == (90, 3)
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    np.testing.assert_allclose(X @ model.coef_.T + model.intercept_, model.predict(X), rtol=1e-9)
    with pytest.raises(InputError, match=r"y has 2 column\(s\) but the model predicts 3"):
        model.partial_fit(X, Y[:, :2])
