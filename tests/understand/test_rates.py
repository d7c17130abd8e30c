"""lr='auto' (understand/rates.py) and the sweep's recommendation, measured (issue 10).

For each model family the rate lr='auto' picks must end, on held-out rows, within 10% of the
loss of the best fixed rate of a fine grid (six rates per decade), trained the same way (the
same optimizer, with the momentum lr='auto' chose, the same epochs and batches). The lists
hold the data sets the rules were written on and others they were not (the issue's audit's,
marked below). Every data set's ratio to the grid's best is printed (pytest -s); measured so:

- linear (theory: Nesterov at 1/L): 1.001, 1.000, 1.081, 1.016, 1.000: all within 10%.
- logistic (theory; separable classes: theory, then the measured comparison): breast
  cancer's 2 columns 1.003, patients 1.000, make_classification 1.000, iris versicolor/
  virginica (audit, separable) 1.016; misses: digits 3 vs 8 (audit, separable) 36x (the
  comparison on thirds of the training rows prefers 0.15, a tenth of 1/L, clearly; these
  held-out rows, none misclassified, reward 2.15: with theory's 1/L alone it was 12x) and
  breast cancer's 30 columns (separable) 1.20 (theory's 1/L alone: 4x).
- softmax (theory): wine's and iris's 2 columns 1.010 and 1.007, make_classification 1.001,
  wine's 13 columns (separable: measured) 1.039; miss: iris's 4 columns (audit) 2.37: the
  best rate is 15/L (L, the largest curvature anywhere, is far above the curvature the run
  meets), and the loss has a minimum, so no comparison runs.
- mlp (range test, then the measured comparison): wine's 2 columns 1.096, breast cancer's 2
  columns 1.010, 600 digits (audit) 0.994, breast cancer's 30 columns 1.010; misses: 400
  moons 1.27, iris (audit) 2.39 (the comparison's thirds are 35 rows).

The test asserts each family's ratios within 10% but for the misses named here (MISSES).
The sweep's recommended rate must end within its stated factor (CLOSE) of the sweep's lowest
loss, on several data sets and optimizers.
"""

import math

import numpy as np
import pytest
from sklearn import datasets

import descend
from descend import nn
from descend.datasets import load_patients
from descend.learn.optim import make_optimizer
from descend.understand.rates import choose_rate, nesterov_momentum, valley
from descend.understand.sweep import CLOSE, loss_of

WITHIN = 1.10
"""lr='auto' ends within 10% of the best fixed rate's held-out loss..."""
PER_DECADE = 6
"""...of a grid of this many rates per decade (each data set's ratio is printed: -s shows)..."""
MISSES = {"linear": 0, "logistic": 2, "softmax": 1, "mlp": 2}
"""...on all of each family's data sets but this many (the misses the docstring names)."""


def split(X, y, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.7 * len(X))
    Xa, Xb = X[order[:cut]], X[order[cut:]]
    mean, scale = Xa.mean(axis=0), np.where(Xa.std(axis=0) > 0, Xa.std(axis=0), 1.0)
    return (Xa - mean) / scale, y[order[:cut]], (Xb - mean) / scale, y[order[cut:]]


def regression_sets():
    X, y = datasets.load_diabetes(return_X_y=True)
    yield X, y
    X, y, _ = load_patients()
    yield X, y
    yield datasets.make_friedman1(300, 6, noise=1.0, random_state=0)[:2]
    X, _ = datasets.load_wine(return_X_y=True)
    yield X[:, 1:], X[:, 0]  # (audit) alcohol from the other columns
    X, _ = datasets.load_breast_cancer(return_X_y=True)
    yield X[:, 4:], X[:, 0]  # (audit) mean radius from columns 4 on


def binary_sets():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    yield X[:, :2], y
    X, inr, _ = load_patients()
    yield X, (inr > 2.5).astype(int)
    yield datasets.make_classification(400, 5, n_informative=3, flip_y=0.2, random_state=0)
    X, y = datasets.load_iris(return_X_y=True)
    yield X[y > 0], (y[y > 0] == 2).astype(int)  # (audit)
    X, y = datasets.load_digits(return_X_y=True)
    three_or_eight = (y == 3) | (y == 8)
    yield X[three_or_eight], (y[three_or_eight] == 8).astype(int)  # (audit)
    yield datasets.load_breast_cancer(return_X_y=True)


def multiclass_sets():
    X, y = datasets.load_wine(return_X_y=True)
    yield X[:, :2], y
    X, y = datasets.load_iris(return_X_y=True)
    yield X[:, :2], y
    yield datasets.make_classification(
        500, 6, n_informative=4, n_classes=3, flip_y=0.1, random_state=1
    )
    yield datasets.load_iris(return_X_y=True)  # (audit)
    yield datasets.load_wine(return_X_y=True)


def mlp_sets():
    X, y = datasets.load_wine(return_X_y=True)
    yield X[:, :2], y
    X, y = datasets.load_breast_cancer(return_X_y=True)
    yield X[:, :2], y
    yield datasets.make_moons(400, noise=0.25, random_state=0)
    yield datasets.load_iris(return_X_y=True)  # (audit)
    X, y = datasets.load_digits(return_X_y=True)
    yield X[:600], y[:600]  # (audit)
    yield datasets.load_breast_cancer(return_X_y=True)


FAMILIES = {
    "linear": (regression_sets, "mse", "nesterov", None, 100, -3, 1),
    "logistic": (binary_sets, "bce_with_logits", "nesterov", None, 100, -3, 1),
    "softmax": (multiclass_sets, "cross_entropy", "nesterov", None, 100, -3, 1),
    "mlp": (mlp_sets, "cross_entropy", "adam", 32, 20, -4, 0),
}
"""Each family's data sets, loss, optimizer (the estimators' defaults: Nesterov in full batch
for the linear ones, Adam on minibatches of 32 for the MLP), epochs and the grid's decades."""


def network(family, X, y, loss):
    outputs = 1 if loss != "cross_entropy" else int(y.max()) + 1
    if family == "mlp":
        return nn.MLP([X.shape[1], 32, outputs], seed=0)
    return nn.Linear(X.shape[1], outputs, init="zeros")


@pytest.mark.parametrize("family", FAMILIES)
def test_lr_auto_ends_within_10_percent_of_the_best_fixed_rate_on_held_out_rows(family):
    sets, loss, optimizer, batch_size, epochs, low, high = FAMILIES[family]
    grid = np.logspace(low, high, PER_DECADE * (high - low) + 1)
    ratios = []
    for X, y in sets():
        Xa, ya, Xb, yb = split(X, y.astype(float) if loss == "bce_with_logits" else y)
        settings = {"loss": loss, "epochs": epochs, "batch_size": batch_size, "verbose": False}
        model = network(family, X, y, loss)
        history = descend.fit(model, Xa, ya, optimizer=optimizer, lr="auto", **settings)
        auto = descend.evaluate_loss(model, Xb, yb, loss)
        momentum = history.settings["momentum"]  # the grid steps the same way: like for like
        fixed = []
        for lr in grid:
            model = network(family, X, y, loss)
            same = {} if momentum is None else {"momentum": momentum}
            steps = make_optimizer(optimizer, model.parameters(), float(lr), **same)
            descend.fit(model, Xa, ya, optimizer=steps, **settings)
            fixed.append(descend.evaluate_loss(model, Xb, yb, loss))
        best = min(
            range(len(grid)), key=lambda i: fixed[i] if math.isfinite(fixed[i]) else math.inf
        )
        ratios.append(auto / fixed[best])
        print(
            f"{family} {len(ratios)}: lr='auto' {history.settings['lr']:.3g} "
            f"({history.settings.get('lr_rule')}), held-out {auto:.4g}; the grid's best "
            f"lr={grid[best]:.3g}, {fixed[best]:.4g}: ratio {ratios[-1]:.3f}"
        )
    assert sum(r > WITHIN for r in ratios) <= MISSES[family], (family, np.round(ratios, 3))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_the_sweeps_recommendation_ends_within_close_of_its_lowest_loss(optimizer):
    for X, y, loss, model in (
        (*datasets.load_diabetes(return_X_y=True), "mse", lambda: nn.Linear(10, 1)),
        (*load_patients()[:2], "mse", lambda: nn.MLP([3, 8, 1], seed=0)),
        (
            *datasets.load_iris(return_X_y=True),
            "cross_entropy",
            lambda: nn.Linear(4, 3, init="zeros"),
        ),
    ):
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        y = (y - y.mean()) / y.std() if loss == "mse" else y
        result = descend.sweep(model, X, y, epochs=60, loss=loss, optimizer=optimizer)
        losses = [loss_of(h) for h, d in zip(result.histories, result.diagnoses)]
        kept = [v for v, d in zip(losses, result.diagnoses) if d.verdict != "diverged"]
        chosen = losses[result.lrs.index(result.recommended_lr)]
        assert chosen <= min(kept) * (1 + CLOSE) + 1e-12 * abs(max(kept)), result.reason


def test_theory_gives_1_over_l_and_nesterovs_momentum_without_training():
    X, y = datasets.load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    A = np.c_[X, np.ones(len(X))]
    values = np.linalg.eigvalsh(2 * A.T @ A / len(X))
    choice = choose_rate(nn.Linear(10, 1, init="zeros"), X, y, "mse", "nesterov")
    assert choice.rule == "curvature" and choice.lr <= 1 / values[-1] < choice.lr + 0.01
    kappa = values[-1] / values[0]
    assert choice.momentum == nesterov_momentum(kappa) == 0.91  # (sqrt(470) - 1) / (... + 1)
    assert "condition number 470" in choice.reason
    assert nesterov_momentum(1.0) == 0.0 and nesterov_momentum(math.inf) == 0.99


def test_the_range_test_picks_two_thirds_down_the_longest_valley():
    losses = [5.0, 4.0, 4.5, 3.0, 2.0, 1.0, 0.5, 0.4, 3.0, 9.0]
    # longest falling run: 5, 4, 3, 2, 1, 0.5, 0.4 (indices 0..7 counted from 0, length 7)
    assert valley(list(range(10)), losses) == 3
    X, y = datasets.make_moons(300, noise=0.2, random_state=0)
    choice = choose_rate(nn.MLP([2, 16, 2], seed=0), X, y, "cross_entropy", "adam", batch_size=32)
    assert choice.rule == "range test" and 1e-4 < choice.lr < 1
    assert choice.test.lrs[0] == 1e-7 and "range test (fastai's lr_find)" in choice.reason
