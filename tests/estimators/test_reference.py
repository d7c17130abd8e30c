"""descend against scikit-learn's own linear models on real data sets (bundled with
scikit-learn, no download), with the same L2 penalty.

``alpha`` means what it means in scikit-learn for the columns the model sees (after
standardisation): ``Regressor(model='linear', alpha=a)`` is
``make_pipeline(StandardScaler(), Ridge(alpha=a))`` and ``Classifier(model='logistic' or
'softmax', alpha=a)`` is ``make_pipeline(StandardScaler(), LogisticRegression(C=1/a))``.
The coefficients are compared in the units of the data's columns (``coef_``).
"""

from __future__ import annotations

import numpy as np
import pytest

from descend.estimators import Classifier, Regressor

datasets = pytest.importorskip("sklearn.datasets")
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

needs_alpha = pytest.mark.skipif(
    "alpha" not in Regressor().get_params(), reason="needs alpha (branch diagnose)"
)
CONVERGED = {"epochs": 1000, "tol": None, "optimizer": "nesterov", "lr": "auto"}


def in_original_units(pipeline):
    """(coef, intercept) of a StandardScaler + linear model pipeline, in X's units."""
    scaler, model = pipeline[0], pipeline[-1]
    coef = np.atleast_2d(model.coef_) / scaler.scale_
    return coef, np.atleast_1d(model.intercept_) - coef @ scaler.mean_


def assert_same_model(ours, reference):
    coef, intercept = in_original_units(reference)
    ours_coef = np.atleast_2d(ours.coef_)
    np.testing.assert_allclose(ours_coef, coef, rtol=1e-4, atol=1e-4 * np.abs(coef).max())
    np.testing.assert_allclose(
        np.atleast_1d(ours.intercept_), intercept, rtol=1e-4, atol=1e-4 * np.abs(intercept).max()
    )


@needs_alpha
@pytest.mark.parametrize("alpha", [1.0, 30.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_linear_regressor_with_alpha_is_ridge(alpha, weighted):
    X, y = datasets.load_diabetes(return_X_y=True)
    weight = np.random.default_rng(0).integers(1, 4, size=len(y)) if weighted else None
    ours = Regressor(model="linear", alpha=alpha, **CONVERGED).fit(X, y, sample_weight=weight)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(
        X, y, standardscaler__sample_weight=weight, ridge__sample_weight=weight
    )
    assert_same_model(ours, reference)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-4)


@needs_alpha
@pytest.mark.parametrize(
    ("load", "model"),
    [
        (datasets.load_breast_cancer, "logistic"),
        (datasets.load_iris, "softmax"),
        (datasets.load_wine, "softmax"),
    ],
)
def test_a_classifier_with_alpha_is_logistic_regression_with_c_one_over_alpha(load, model):
    X, y = load(return_X_y=True)
    alpha = 1.0
    ours = Classifier(model=model, alpha=alpha, **CONVERGED).fit(X, y)
    reference = make_pipeline(
        StandardScaler(), LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=100_000)
    ).fit(X, y)
    assert_same_model(ours, reference)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-4)
