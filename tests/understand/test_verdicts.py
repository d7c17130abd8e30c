"""Each verdict against theory or a measured outcome (issue 10): on quadratics whose L and mu are
known, and on real data sets, for linear, logistic, softmax and MLP models under SGD, momentum
and Adam. Where a verdict suggests settings, the next run takes them and must be better by the
measure the verdict named."""

import math

import numpy as np
import pytest
from sklearn import datasets

import descend
from descend import nn
from descend.understand.diagnose import Diagnosis

from .test_curvature import quadratic

TOL = 1e-5  # fit's default tol: converged means within it of the optimum


def standardised(X):
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-12)


def run(model, X, y, **settings):
    history = descend.fit(model, X, y, verbose=False, **settings)
    return history, Diagnosis.from_dict(history.diagnosis)


def follow(diagnosis, settings):
    """The next run's settings: the last ones with the diagnosis' suggestion applied."""
    assert diagnosis.suggested, diagnosis.suggestion
    return {**settings, **diagnosis.suggested}


def gap(diagnosis):
    return diagnosis.gap.relative


# ----- quadratics: L = 2, mu = 2 / kappa -------------------------------------------------------
def line(kappa):
    return nn.Linear(5, 1, bias=False, init="zeros")


@pytest.mark.parametrize(("kappa", "lr"), [(1, 0.45), (10, 0.75)])
def test_enough_epochs_at_the_rate_from_theory_converge_within_tol(kappa, lr):
    X, y = quadratic(kappa)
    h, d = run(line(kappa), X, y, optimizer="sgd", epochs=300)
    assert h.settings["lr"] == lr  # lr='auto': 0.9 x 2/(L + mu), at most 1.5/L
    assert d.verdict == "converged" and gap(d) <= TOL
    assert h.stop_reason == "converged"  # the gradient bound, not a slow loss


def test_too_few_epochs_are_still_improving_and_the_epochs_suggested_suffice():
    X, y = quadratic(10)
    settings = {"optimizer": "sgd", "lr": 0.5, "epochs": 30}  # 1/L
    _, d = run(line(10), X, y, **settings)
    assert d.verdict == "still_improving" and gap(d) > TOL
    # theory: the gap shrinks by (1 - lr mu)^2 = 0.81 per epoch; from ~0.002 to 1e-5 takes ~25
    assert 45 <= d.suggested["epochs"] <= 100
    _, after = run(line(10), X, y, **follow(d, settings))
    assert after.verdict == "converged" and gap(after) <= TOL


def test_an_ill_conditioned_quadratic_is_a_slow_valley_and_momentum_crosses_it():
    X, y = quadratic(1000)
    settings = {"optimizer": "sgd", "epochs": 300}
    h, d = run(line(1000), X, y, **settings)
    assert d.verdict == "slow_valley" and gap(d) > TOL
    assert d.evidence["condition_number"] == pytest.approx(1000, rel=1e-6)
    assert d.suggested["optimizer"] == "nesterov" and d.suggested["lr"] == 0.5  # 1/L
    assert "condition number 1e+03" in d.explanation
    h2, after = run(line(1000), X, y, **follow(d, settings))
    assert h2.settings["momentum"] == 0.9  # Nesterov's by name: theory's epochs count on it
    assert after.verdict == "converged" and gap(after) <= TOL


def test_a_rate_between_1_over_l_and_2_over_l_zig_zags_and_the_rate_suggested_does_not():
    X, y = quadratic(10)  # 1.9/L is above 2/(L + mu): the steep direction dominates
    settings = {"optimizer": "sgd", "lr": 0.95, "epochs": 30}  # 100 would reach tol anyway
    _, d = run(line(10), X, y, **settings)
    assert d.verdict == "oscillating" and d.evidence["update_cosine"] < -0.5 and gap(d) > TOL
    assert d.suggested["lr"] <= 0.5  # below 1/L
    _, after = run(line(10), X, y, **follow(d, settings))
    assert after.evidence["update_cosine"] > 0.5  # the measure named: the steps go straight


def test_a_rate_above_2_over_l_diverges_and_the_rate_suggested_converges():
    X, y = quadratic(10)
    settings = {"optimizer": "sgd", "lr": 1.1, "epochs": 300}
    h, d = run(line(10), X, y, **settings)
    assert d.verdict == "diverged" and h.stop_reason == "diverged"
    assert d.suggested["lr"] == 0.5  # 1/L, estimated from the growth of the loss
    h2, after = run(line(10), X, y, **follow(d, settings))
    assert after.verdict == "converged" and h2.final_loss < h.final_loss


# ----- real data sets ----------------------------------------------------------------------------
def test_diabetes_at_lr_0_1_is_a_slow_valley_not_converged():
    # the first case: correlated standardised features, full batch, lr 0.1
    X, y = datasets.load_diabetes(return_X_y=True)
    X = standardised(X)
    settings = {"optimizer": "sgd", "lr": 0.1, "epochs": 300}
    h, d = run(nn.Linear(10, 1, init="zeros"), X, y, **settings)
    assert h.stop_reason == "max_epochs"  # Convergence no longer calls the crawl converged
    assert d.verdict == "slow_valley" and gap(d) > TOL
    assert d.evidence["condition_number"] > 100
    _, after = run(nn.Linear(10, 1, init="zeros"), X, y, **follow(d, settings))
    assert after.verdict == "converged" and gap(after) <= TOL


def test_breast_cancer_is_separable_and_alpha_gives_the_loss_a_minimum():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X, t = standardised(X), y.astype(float)
    settings = {"loss": "bce_with_logits", "optimizer": "nesterov", "epochs": 300}
    _, d = run(nn.Linear(30, 1, init="zeros"), X, t, **settings)
    assert d.verdict == "separable" and d.gap.optimum < 1e-6  # Newton's method: loss -> 0
    assert d.suggested == {"alpha": pytest.approx(1 / len(X), rel=0.05)}
    assert "its loss has no minimum" in d.explanation
    _, after = run(nn.Linear(30, 1, init="zeros"), X, t, **follow(d, settings))
    # the measure named: now the loss has a minimum (0.1 here), and the run gets near it
    assert after.verdict != "separable" and after.gap.optimum > 0.05 and gap(after) < 1e-3


def test_wine_softmax_with_momentum_converges():
    X, y = datasets.load_wine(return_X_y=True)
    _, d = run(
        nn.Linear(2, 3, init="zeros"), standardised(X[:, :2]), y, loss="cross_entropy",
        optimizer="momentum", epochs=300,
    )  # fmt: skip
    assert d.verdict == "converged"


def digits(rows=600):
    X, y = datasets.load_digits(return_X_y=True)
    return standardised(X[:rows]), y[:rows]


def test_an_adam_mlp_whose_loss_jumps_by_factors_is_never_converged():
    # the second case: Adam at lr 1 on 10 classes
    X, y = digits()
    settings = {"loss": "cross_entropy", "optimizer": "adam", "lr": 1.0, "epochs": 15}
    settings["batch_size"] = 32
    h, d = run(nn.MLP([64, 32, 10], seed=0), X, y, **settings)
    assert d.verdict == "oscillating" and d.evidence["jump"] >= 2
    h2, _ = run(nn.MLP([64, 32, 10], seed=0), X, y, **follow(d, settings))
    assert h2.final_loss < h.final_loss / 10  # the weights returned, on all the rows


def test_minibatch_sgd_stops_at_a_noise_floor_and_a_smaller_rate_settles_closer():
    X, y = datasets.load_diabetes(return_X_y=True)
    X, y = standardised(X), (y - y.mean()) / y.std()
    settings = {"optimizer": "sgd", "lr": 0.1, "epochs": 40, "batch_size": 16}
    _, d = run(nn.Linear(10, 1, init="zeros"), X, y, **settings)
    assert d.verdict == "plateaued" and gap(d) > TOL
    _, after = run(nn.Linear(10, 1, init="zeros"), X, y, **follow(d, settings))
    assert gap(after) < gap(d) / 3  # the measure named: the gap to the exact optimum


def test_an_mlp_that_overfits_is_told_where_to_stop_and_stopping_there_is_better():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = X[:, 0] + rng.normal(0, 1.0, 60)  # few noisy rows, a large network
    held = (rng.normal(size=(200, 5)), None)
    held = (held[0], held[0][:, 0] + rng.normal(0, 1.0, 200))
    settings = {"optimizer": "adam", "lr": 0.01, "epochs": 300, "validation": held, "tol": None}
    h, d = run(nn.MLP([5, 64, 64, 1], seed=0), X, y, **settings)
    assert d.verdict == "overfitting"
    following = follow(d, settings)
    assert following["epochs"] < 300
    model = nn.MLP([5, 64, 64, 1], seed=0)
    run(model, X, y, **following)
    before = d.evidence["final_val_loss"]
    assert descend.evaluate_loss(model, *held) < 0.8 * before  # the measure: validation loss


# ----- the audit's cases (issue 10) ---------------------------------------------------------
def sklearn_softmax_optimum(X, y):
    from sklearn.linear_model import LogisticRegression

    p = LogisticRegression(C=np.inf, tol=1e-14, max_iter=100_000).fit(X, y).predict_proba(X)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def test_all_iris_rows_are_not_separable_however_long_the_run():
    # the audit: Classifier(model='softmax', epochs=5000) said 'separable' at loss 0.039745, as
    # the weights grew from zero (growth "inf"); the optimum is 0.0397, finite
    X, y = datasets.load_iris(return_X_y=True)
    estimator = descend.Classifier(model="softmax", epochs=2000).fit(X, y)
    d = estimator.diagnosis_
    optimum = sklearn_softmax_optimum(standardised(X), y)
    assert d.verdict != "separable" and d.gap.optimum == pytest.approx(optimum, rel=1e-6)
    assert math.isfinite(d.evidence["weight_growth"]) and d.evidence["weight_growth"] < 1.1
    assert d.verdict == "converged" or d.gap.relative > TOL  # converged only within tol


def test_separable_classes_are_found_with_minibatches_whose_loss_ticks_up():
    # the audit: wine's 13 columns and 500 digits, softmax with Adam on batches of 16: the
    # minibatch loss ticked up once, so 'separable' never fired ('epochs=460', then 'lr=0.1',
    # or 'converged, nothing to change' at a loss of 8e-8)
    wine_X, wine_y = datasets.load_wine(return_X_y=True)
    digits_X, digits_y = datasets.load_digits(return_X_y=True)
    both = ((standardised(wine_X), wine_y), (standardised(digits_X)[:500], digits_y[:500]))
    for X, y in both:
        k = int(y.max()) + 1
        settings = {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "batch_size": 16}
        h, d = run(nn.Linear(X.shape[1], k, init="zeros"), X, y, epochs=40, **settings)
        assert d.verdict == "separable" and d.gap.optimum == 0.0
        assert h.stop_reason != "converged"
        # alpha, or nothing, by the held-out rows (test_alphas.py follows such advice)
        assert "alpha" in d.suggested or "No alpha tried does better" in d.suggestion


def test_an_adam_mlp_at_lr_0_3_is_never_told_a_larger_rate():
    # the audit: the loss jumped at epochs 6-8, outside the last 5, so the verdict was
    # still_improving with "raise the learning rate to lr=3", which made things worse
    X, y = digits(900)
    settings = {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.3, "epochs": 20}
    h, d = run(nn.MLP([64, 32, 10], seed=0), X, y, batch_size=32, **settings)
    assert d.verdict in ("oscillating", "diverged")
    assert d.suggested.get("lr") == "auto" or d.suggested.get("lr", 0.3) < 0.3
    model = nn.MLP([64, 32, 10], seed=0)
    h2 = descend.fit(model, X, y, batch_size=32, verbose=False, **{**settings, **d.suggested})
    assert h2.final_loss < 0.1 * h.final_loss  # the loss of the weights returned, all rows


def test_an_iris_mlp_at_lr_0_1_gets_a_suggestion_it_can_follow():
    # the audit: still_improving with the valley's "standardise ... or momentum" (the features
    # were standardised, Adam has momentum) and an empty suggestion
    X, y = datasets.load_iris(return_X_y=True)
    estimator = descend.Classifier(model="mlp", lr=0.1).fit(X, y)
    d = estimator.diagnosis_
    assert d.suggested and "Standardise" not in d.suggestion
    again = descend.Classifier(model="mlp", **{"lr": 0.1, **d.suggested}).fit(X, y)
    if d.verdict == "separable":  # the measure named: the loss has a minimum now
        assert again.diagnosis_.verdict != "separable"
    else:
        assert again.history_.final_loss < estimator.history_.final_loss


def test_a_minibatch_run_stopped_short_of_the_optimum_is_stalled_not_converged():
    X, y = datasets.load_diabetes(return_X_y=True)
    X, y = standardised(X), (y - y.mean()) / y.std()
    settings = {"optimizer": "sgd", "lr": 0.05, "epochs": 100, "batch_size": 32}
    h, d = run(nn.Linear(10, 1, init="zeros"), X, y, **settings)
    assert d.verdict == "plateaued" and gap(d) > TOL
    assert h.stop_reason == "stalled" and "short of converged" in h.stop_message
