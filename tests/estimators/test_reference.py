"""descend against scikit-learn's own linear models on real data sets (bundled with
scikit-learn, no download), with the same L2 penalty.

``alpha`` means what it means in scikit-learn for the columns the model sees (after
standardisation): ``Regressor(model='linear', alpha=a)`` is
``make_pipeline(StandardScaler(), Ridge(alpha=a))`` (one target or several) and
``Classifier(model='logistic' or 'softmax', alpha=a)`` is
``make_pipeline(StandardScaler(), LogisticRegression(C=1/a))`` (two classes or more).
The coefficients are compared in the units of the data's columns (``coef_``), to 1e-4
absolute, at settings that converge both sides well below it:

- descend: Nesterov's steps at the rate and momentum of the curvature (``lr='auto'``),
  ``tol=None`` and 1000 epochs for Ridge, 4000 for the classifiers (a softmax of two
  classes is the slowest: its two rows of weights share one direction);
- scikit-learn: ``Ridge`` is solved exactly; ``LogisticRegression`` by Newton's method
  (``solver='newton-cg'``, ``tol=1e-12``): lbfgs, the default, stops with a gradient of
  about 1e-5, 1.6e-4 away on breast_cancer's coefficients.
"""

from __future__ import annotations

import numpy as np
import pytest

from descend.estimators import Classifier, Regressor

datasets = pytest.importorskip("sklearn.datasets")
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

CONVERGED = {"tol": None, "optimizer": "nesterov", "lr": "auto"}
RIDGE_EPOCHS, LOGISTIC_EPOCHS = 1000, 4000
EXACT_LOGISTIC = {"solver": "newton-cg", "tol": 1e-12, "max_iter": 10_000}


def in_original_units(pipeline):
    """(coef, intercept) of a StandardScaler + linear model pipeline, in X's units."""
    scaler, model = pipeline[0], pipeline[-1]
    coef = np.atleast_2d(model.coef_) / scaler.scale_
    return coef, np.atleast_1d(model.intercept_) - coef @ scaler.mean_


def assert_same_model(ours, reference):
    coef, intercept = in_original_units(reference)
    assert np.shape(ours.coef_) == np.shape(reference[-1].coef_)
    np.testing.assert_allclose(np.atleast_2d(ours.coef_), coef, rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.atleast_1d(ours.intercept_), intercept, rtol=0, atol=1e-4)


def wine_class_0(return_X_y):
    X, y = datasets.load_wine(return_X_y=return_X_y)
    return X, (y == 0).astype(int)


@pytest.mark.parametrize("alpha", [1.0, 30.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_linear_regressor_with_alpha_is_ridge(alpha, weighted):
    X, y = datasets.load_diabetes(return_X_y=True)
    weight = np.random.default_rng(0).integers(1, 4, size=len(y)) if weighted else None
    ours = Regressor(model="linear", alpha=alpha, epochs=RIDGE_EPOCHS, **CONVERGED)
    ours.fit(X, y, sample_weight=weight)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(
        X, y, standardscaler__sample_weight=weight, ridge__sample_weight=weight
    )
    assert_same_model(ours, reference)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-6)


@pytest.mark.parametrize("alpha", [1.0, 10.0])
def test_a_linear_regressor_of_several_targets_is_ridge_of_each(alpha):
    X, Y = datasets.load_linnerud(return_X_y=True)  # 20 rows, 3 targets
    ours = Regressor(model="linear", alpha=alpha, epochs=RIDGE_EPOCHS, **CONVERGED).fit(X, Y)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(X, Y)
    assert ours.coef_.shape == (3, 3) and ours.intercept_.shape == (3,)
    assert_same_model(ours, reference)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-6)


@pytest.mark.parametrize(
    ("load", "model"),
    [
        (datasets.load_breast_cancer, "logistic"),
        (wine_class_0, "logistic"),
        (datasets.load_breast_cancer, "softmax"),  # two classes: LogisticRegression's shape
        (datasets.load_iris, "softmax"),
        (datasets.load_wine, "softmax"),
    ],
)
def test_a_classifier_with_alpha_is_logistic_regression_with_c_one_over_alpha(load, model):
    X, y = load(return_X_y=True)
    alpha = 1.0
    ours = Classifier(model=model, alpha=alpha, epochs=LOGISTIC_EPOCHS, **CONVERGED).fit(X, y)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=1 / alpha, **EXACT_LOGISTIC))
    reference.fit(X, y)
    assert_same_model(ours, reference)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(
        ours.decision_function(X), reference.decision_function(X), rtol=1e-6, atol=1e-6
    )


def test_without_standardisation_a_linear_regressor_with_alpha_is_ridge_itself():
    X, y = datasets.load_diabetes(return_X_y=True)
    ours = Regressor(model="linear", alpha=1.0, standardize=False, epochs=RIDGE_EPOCHS)
    ours.set_params(**CONVERGED).fit(X, y)
    assert_same_model_raw(ours, Ridge(alpha=1.0).fit(X, y))


def assert_same_model_raw(ours, reference):
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, rtol=0, atol=1e-4)
