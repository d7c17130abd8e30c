"""The exact optimum: least squares and Newton's method, and the gap of a trained model."""

import math

import numpy as np
import pytest

import descend
from descend import nn
from descend.datasets import load_patients
from descend.errors import InputError
from descend.understand.optimum import (
    OptimisationGap,
    least_squares,
    linear_gap,
    logistic_optimum,
    optimisation_gap,
)


def patients(standardise=True):
    X, y, _ = load_patients()
    return ((X - X.mean(axis=0)) / X.std(axis=0) if standardise else X), y


def test_least_squares_is_numpy_lstsq_with_a_column_of_ones():
    X, y = patients(standardise=False)
    expected = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    np.testing.assert_allclose(least_squares(X, y), expected, rtol=1e-8)
    assert least_squares(X, y[:, None]).shape == (4, 1)
    np.testing.assert_allclose(
        least_squares(X, y, bias=False), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-8
    )


def test_gap_against_least_squares_computed_directly():
    X, y = patients()
    model = nn.Linear(3, 1, init="zeros")
    descend.fit(model, X, y, lr=0.01, epochs=50, tol=None, verbose=False)
    gap = optimisation_gap(model, X, y)
    A = np.c_[X, np.ones(len(X))]
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    optimum = np.mean((A @ theta - y) ** 2)
    reached = descend.evaluate_loss(model, X, y)
    assert gap.optimum == pytest.approx(optimum, rel=1e-12)
    assert gap.reached == pytest.approx(reached, rel=1e-12)
    assert gap.absolute == pytest.approx(reached - optimum, rel=1e-9)
    assert gap.relative == pytest.approx((reached - optimum) / optimum, rel=1e-9)
    model.weight.data[:, 0], model.bias.data[:] = theta[:3], theta[3]
    assert optimisation_gap(model, X, y).absolute < 1e-15
    exact = nn.Linear(1, 1, bias=False, init="zeros")  # y = x: a perfect fit exists
    gap = optimisation_gap(exact, [[1.0], [2.0]], [1.0, 2.0])
    assert gap.optimum < 1e-30 and gap.reached == 2.5 and math.isinf(gap.relative)
    assert "(a perfect fit is possible)" in str(gap)


def test_gap_with_sample_weights_without_bias_and_several_outputs():
    rng = np.random.default_rng(1)
    X, Y, w = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), rng.uniform(0.5, 2, 30)
    model = nn.Linear(2, 2, bias=False, seed=0)
    gap = optimisation_gap(model, X, Y, sample_weight=w)
    theta = np.linalg.lstsq(X * np.sqrt(w)[:, None], Y * np.sqrt(w)[:, None], rcond=None)[0]
    per_row = lambda th: ((X @ th - Y) ** 2).mean(axis=1)  # noqa: E731
    assert gap.optimum == pytest.approx(np.average(per_row(theta), weights=w), rel=1e-10)
    assert gap.reached == pytest.approx(np.average(per_row(model.weight.data), weights=w))


def test_logistic_gap_against_scikit_learn():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y = patients()
    t = (y > 2.5).astype(float)
    clf = sklearn.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, t)
    p = clf.predict_proba(X)[:, 1]
    optimum = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    model = nn.Linear(3, 1, init="zeros")
    descend.fit(model, X, t, loss="bce_with_logits", lr=0.5, epochs=30, tol=None, verbose=False)
    gap = optimisation_gap(model, X, t, "bce_with_logits")
    assert gap.optimum == pytest.approx(optimum, rel=1e-8)
    assert gap.reached == pytest.approx(descend.evaluate_loss(model, X, t, "bce_with_logits"))
    assert gap.method == "Newton's method" and gap.relative > 0.01


def test_logistic_gap_on_separable_data_tends_to_zero():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    gap = optimisation_gap(nn.Linear(1, 1, init="zeros"), X, [0, 0, 1, 1], "bce_with_logits")
    assert gap.optimum < 1e-6 and gap.reached == pytest.approx(math.log(2))
    assert gap.relative > 1e6


def test_gap_is_only_for_linear_models_with_mse_or_logistic_loss():
    X, y = patients()
    assert linear_gap(nn.MLP([3, 4, 1], seed=0), X, y, "mse") is None
    assert linear_gap(nn.Linear(3, 1), X, y, "mae") is None
    with pytest.raises(InputError, match="needs a single nn.Linear"):
        optimisation_gap(nn.MLP([3, 4, 1], seed=0), X, y)
    with pytest.raises(InputError, match="knows the exact optimum for the losses"):
        optimisation_gap(nn.Linear(3, 1), X, y, "mae")
    assert linear_gap(nn.MLP([3, 4, 2], seed=0), X, (y > 2.5).astype(int), "cross_entropy") is None
    with pytest.raises(InputError, match="pass the data it was trained on"):
        optimisation_gap(nn.Linear(2, 1), X, y)


def test_the_gap_line_speaks_of_the_gap_not_of_the_loss_reached():
    gap = OptimisationGap(0.0918, 0.0223, 0.0695, 0.0695 / 0.0223, "least squares")
    assert "(3.12 times the optimum) above the exact optimum" in str(gap)
    small = OptimisationGap(0.0233, 0.0223, 0.001, 0.001 / 0.0223, "least squares")
    assert "(4.48% of the optimum) above" in str(small)
    below = OptimisationGap(0.0223 - 1e-18, 0.0223, 0.0, 0.0, "least squares")
    assert str(below).startswith("Optimisation gap: none. The loss reached")
    assert "is the exact optimum 0.0223 (least squares), up to rounding" in str(below)


def test_alpha_means_ridge_with_n_alpha_over_2_and_logistic_regression_with_c_1_over_n_alpha():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y = patients()
    n, alpha = len(X), 0.3
    ridge = sklearn.Ridge(alpha=n * alpha / 2).fit(X, y)
    np.testing.assert_allclose(
        least_squares(X, y, alpha=alpha), [*ridge.coef_, ridge.intercept_], rtol=1e-8
    )
    t = (y > 2.5).astype(float)
    clf = sklearn.LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10_000).fit(X, t)
    np.testing.assert_allclose(
        logistic_optimum(X, t, alpha=alpha), [*clf.coef_[0], clf.intercept_[0]], rtol=1e-5
    )
    model = nn.Linear(3, 1, init="zeros")  # its gap includes the penalty: 0 at the optimum
    theta = least_squares(X, y, alpha=alpha)
    model.weight.data[:, 0], model.bias.data[:] = theta[:3], theta[3]
    gap = optimisation_gap(model, X, y, alpha=alpha)
    assert gap.absolute < 1e-12 and gap.method == "ridge least squares"
    expected = np.mean((X @ theta[:3] + theta[3] - y) ** 2) + alpha / 2 * theta[:3] @ theta[:3]
    assert gap.optimum == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("name", "columns", "alpha"),
    [("iris", 4, 0.0), ("iris", 2, 0.0), ("wine", 2, 0.0), ("iris", 4, 0.01)],
)
def test_softmax_optimum_against_scikit_learn(name, columns, alpha):
    # issue 10: the softmax had no optimum, so a run 8.6% above it could say 'converged'
    sklearn = pytest.importorskip("sklearn")
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0))[:, :columns]
    C = np.inf if not alpha else 1 / (len(X) * alpha)
    clf = sklearn.linear_model.LogisticRegression(C=C, tol=1e-14, max_iter=100_000).fit(X, y)
    p = clf.predict_proba(X)[np.arange(len(y)), y]
    expected = -np.mean(np.log(p)) + alpha / 2 * np.sum(clf.coef_**2)
    model = nn.Linear(columns, 3, init="zeros")
    gap = optimisation_gap(model, X, y, "cross_entropy", alpha=alpha)
    assert gap.optimum == pytest.approx(expected, rel=1e-9)
    assert gap.reached == pytest.approx(math.log(3)) and gap.method == "Newton's method, softmax"
    # from trained weights (Newton starts there), the same optimum
    descend.fit(model, X, y, loss="cross_entropy", lr=0.5, epochs=50, tol=None, verbose=False,
                alpha=alpha)  # fmt: skip
    again = optimisation_gap(model, X, y, "cross_entropy", alpha=alpha)
    assert again.optimum == pytest.approx(expected, rel=1e-9) and again.reached < gap.reached


def test_softmax_optimum_of_separable_rows_is_zero_and_of_all_iris_rows_is_not():
    from sklearn import datasets

    X, y = datasets.load_wine(return_X_y=True)  # 13 columns split the 3 cultivars
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    gap = optimisation_gap(nn.Linear(13, 3, init="zeros"), X, y, "cross_entropy")
    assert gap.optimum == 0.0 and gap.relative == math.inf
    X, y = datasets.load_iris(return_X_y=True)  # issue 10: all 150 rows are not separable
    gap = optimisation_gap(nn.Linear(4, 3, init="zeros"), X, y, "cross_entropy")
    assert gap.optimum == pytest.approx(0.03966, rel=1e-3)


def test_the_logistic_gap_with_sample_weights_is_the_weighted_mean_of_scikit_learns():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(400, 8, n_informative=2, n_redundant=5, flip_y=0.05, random_state=7)
    X, w = (X - X.mean(axis=0)) / X.std(axis=0), np.where(y == 1, 5.0, 1.0)
    model = nn.Linear(8, 1, init="zeros")
    descend.fit(
        model, X, y.astype(float), loss="bce_with_logits", optimizer="nesterov", lr=0.8,
        epochs=300, sample_weight=w, verbose=False,
    )  # fmt: skip
    gap = optimisation_gap(model, X, y.astype(float), "bce_with_logits", sample_weight=w)

    def weighted(coef, intercept):
        z = X @ coef + intercept
        return float(np.sum(w * (np.logaddexp(0, z) - y * z)) / w.sum())

    best = LogisticRegression(C=1e10, tol=1e-12, max_iter=20000).fit(X, y, sample_weight=w)
    assert gap.reached == pytest.approx(
        weighted(model.weight.data.ravel(), model.bias.data[0]), rel=1e-12
    )
    assert gap.optimum == pytest.approx(weighted(best.coef_.ravel(), best.intercept_[0]), rel=1e-9)
    assert gap.relative < 1e-8  # the run is on the optimum (it was reported 1.27% above it)


def test_the_huber_optimum_is_scipys_and_a_huber_run_is_not_converged_short_of_it():
    from scipy.optimize import minimize
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(axis=0)) / X.std(axis=0), (y - y.mean()) / y.std()
    A = np.c_[X, np.ones(len(X))]

    def huber(w):
        r = A @ w - y
        inside = np.abs(r) <= 1.0
        value = np.where(inside, 0.5 * r**2, np.abs(r) - 0.5).mean()
        return value, A.T @ np.where(inside, r, np.sign(r)) / len(y)

    start = np.linalg.lstsq(A, y, rcond=None)[0]
    best = minimize(
        huber, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-13, "ftol": 1e-16}
    )
    model = nn.Linear(10, 1, init="zeros")
    history = descend.fit(
        model, X, y, loss="huber", optimizer="sgd", lr=0.05, epochs=300, verbose=False
    )
    gap = optimisation_gap(model, X, y, "huber")
    assert gap.optimum == pytest.approx(best.fun, rel=1e-9)
    reached = huber(np.r_[model.weight.data.ravel(), model.bias.data])[0]
    assert gap.reached == pytest.approx(reached, rel=1e-12) and gap.relative > 1e-3
    d = history.diagnosis  # it was 'converged ... Nothing to change' at 0.69% above the optimum
    assert d["verdict"] != "converged" and history.stop_reason == "stalled"
    again = nn.Linear(10, 1, init="zeros")
    descend.fit(
        again,
        X,
        y,
        loss="huber",
        **{"optimizer": "sgd", "lr": 0.05, "epochs": 300, **d["suggested"]},
        verbose=False,
    )
    assert optimisation_gap(again, X, y, "huber").relative <= 1e-5  # what the advice aims at
