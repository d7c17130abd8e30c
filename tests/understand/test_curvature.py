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


def test_the_softmax_mu_is_the_smallest_curvature_of_the_directions_that_change_the_loss():
    # issue 10: adding one vector to every class's weights changes nothing, so the Hessian
    # is singular; mu is the smallest eigenvalue of the others (central differences agree)
    from sklearn import datasets

    X, y = datasets.load_iris(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0))[:, :2]
    model = nn.Linear(2, 3, init="zeros")
    at_zero = curvature(model, X, y, "cross_entropy")
    A = np.c_[X, np.ones(len(X))]
    # at zero weights p = 1/3: the Hessian is (A^T A / n) (x) (I / 3 - 1 1^T / 9)
    assert at_zero.mu == pytest.approx(np.linalg.eigvalsh(A.T @ A / len(X))[0] / 3, rel=1e-9)
    model.weight.data[:] = np.array([[1.0, -0.5, 0.2], [0.3, 0.1, -2.0]])
    local = curvature(model, X, y, "cross_entropy", at_weights=True)
    z = A @ np.vstack([model.weight.data, model.bias.data[None, :]])
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    H = sum(np.kron(np.outer(a, a), np.diag(q) - np.outer(q, q)) for a, q in zip(A, p)) / len(A)
    values = np.linalg.eigvalsh(H)
    assert values[:3] == pytest.approx(0, abs=1e-12)  # one flat direction per weight row
    assert local.mu == pytest.approx(values[3], rel=1e-9) and local.mu < at_zero.mu
