"""The curvature of a loss: L, mu and the condition number, against their definitions."""

import math

import numpy as np
import pytest

from descend import nn
from descend.learn.blocks import ArrayBlocks
from descend.understand import curvature as curvature_module
from descend.understand.curvature import curvature, update_curvature


def quadratic(kappa, L=2.0, n=200, d=5, seed=0):
    """X, y whose mse (no bias) has Hessian eigenvalues geomspace(L / kappa, L, d)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, d)))
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s = np.sqrt(np.geomspace(L / kappa, L, d) * n / 2)
    X = U @ np.diag(s) @ V.T
    return X, X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)


@pytest.mark.parametrize("kappa", [1, 10, 1000])
def test_the_curvature_of_a_quadratic_is_the_eigenvalues_of_its_hessian(kappa):
    X, y = quadratic(kappa)
    c = curvature(nn.Linear(5, 1, bias=False), X, y)
    assert pytest.approx(2.0, rel=1e-10) == c.L
    assert c.mu == pytest.approx(2.0 / kappa, rel=1e-8)
    assert c.condition == pytest.approx(kappa, rel=1e-8)


def test_alpha_adds_to_the_weights_curvature_not_the_bias():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3)) * [1.0, 3.0, 10.0] + 4.0
    A = np.c_[X, np.ones(300)]
    H = 2 * A.T @ A / 300 + np.diag([0.5, 0.5, 0.5, 0.0])
    c = curvature(nn.Linear(3, 1), X, X[:, 0], alpha=0.5)
    assert (c.L, c.mu) == pytest.approx(tuple(np.linalg.eigvalsh(H)[[-1, 0]]), rel=1e-10)
    assert c.scale_ratio == pytest.approx(math.sqrt(H[2, 2] / H[0, 0]), rel=1e-12)


def test_logistic_curvature_is_a_quarter_of_the_design_at_zero_and_local_when_trained():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2))
    t = (X[:, 0] + rng.normal(size=400) > 0).astype(float)
    A = np.c_[X, np.ones(400)]
    model = nn.Linear(2, 1, init="zeros")
    at_zero = curvature(model, X, t, "bce_with_logits")
    assert pytest.approx(np.linalg.eigvalsh(A.T @ A / 400)[-1] / 4, rel=1e-10) == at_zero.L
    model.weight.data[:, 0] = [2.0, 0.0]
    p = 1 / (1 + np.exp(-2 * X[:, 0]))
    local = np.linalg.eigvalsh((A * (p * (1 - p))[:, None]).T @ A / 400)[0]
    trained = curvature(model, X, t, "bce_with_logits", at_weights=True)
    assert trained.mu == pytest.approx(local, rel=1e-10) and trained.mu < at_zero.mu


def test_power_iteration_and_a_sample_of_rows_for_large_data(monkeypatch):
    X, y = quadratic(10, n=2000)
    exact = curvature(nn.Linear(5, 1, bias=False), X, y)
    monkeypatch.setattr(curvature_module, "EXACT_COLUMNS", 2)  # too wide: power iteration
    powered = curvature(nn.Linear(5, 1, bias=False), X, y)
    assert powered.method == "power iteration" and math.isnan(powered.mu)
    assert pytest.approx(exact.L, rel=1e-5) == powered.L and powered.L <= exact.L * (1 + 1e-12)
    monkeypatch.setattr(curvature_module, "EXACT_COLUMNS", 1000)
    monkeypatch.setattr(curvature_module, "EXACT_WORK", 1000)  # too many rows: a sample
    sampled = curvature(nn.Linear(5, 1, bias=False), X, y)
    assert sampled.rows == 200 and "200 sampled rows" in sampled.method
    assert 0.5 < sampled.L / exact.L < 2 and 0.3 < sampled.mu / exact.mu < 3


def test_update_curvature_is_the_rayleigh_quotient_along_the_direction():
    X, y = quadratic(100)
    model = nn.Linear(5, 1, bias=False, init="zeros")
    H = 2 * X.T @ X / len(X)
    g = -2 * X.T @ y / len(X)  # the gradient at zero weights
    step = [-0.1 * g[:, None]]  # plain gradient descent with lr = 0.1
    c, ratio = update_curvature(model, ArrayBlocks(X, y), "mse", step)
    assert c == pytest.approx(g @ H @ g / (g @ g), rel=1e-8)
    assert ratio == pytest.approx(0.1 * c, rel=1e-8)  # lr x c: below 1, the step undershoots
    assert np.all(model.weight.data == 0)  # the weights are put back
    assert all(math.isnan(v) for v in update_curvature(model, ArrayBlocks(X, y), "mse", [0 * g]))
