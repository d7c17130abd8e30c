"""L2 regularisation: (alpha / 2) |w|^2 over the weights, not the biases."""

import numpy as np
import pytest

import descend
from descend import nn
from descend.learn.penalty import L2


def test_the_penalty_counts_weights_not_biases_and_adds_alpha_w_to_their_gradients():
    model = nn.MLP([2, 3, 1], seed=0)
    weights = L2.weights(model)
    assert [p.shape for p in weights] == [(2, 3), (3, 1)]  # the two weight matrices
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    value = L2(0.5).add_gradient(weights)
    assert value == pytest.approx(0.25 * sum(float((p.data**2).sum()) for p in weights))
    for p in weights:
        np.testing.assert_allclose(p.grad, 0.5 * p.data)
    ids = {id(p) for p in weights}
    assert all(np.all(p.grad == 0) for p in model.parameters() if id(p) not in ids)
    assert L2(0.0).add_gradient(weights) == 0.0


def test_fit_with_alpha_records_the_penalised_loss_and_says_so(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, -2.0] + 0.3
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(model, X, y, lr=0.1, epochs=3, alpha=0.2, tol=None, log_every=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"Epoch   1: loss = {h.loss[1]:.4f} (all rows, with L2)"
    descend.fit(nn.Linear(2, 1), X, y, lr=0.1, epochs=1, batch_size=10, tol=None)
    assert capsys.readouterr().out.startswith("Epoch   0: loss = ")  # and which loss it is:
    descend.fit(nn.Linear(2, 1), X, y, lr=0.1, epochs=1, batch_size=10, tol=None)
    assert "(minibatch mean)" in capsys.readouterr().out.splitlines()[0]
    w = model.weight.data.ravel()
    mse = descend.evaluate_loss(model, X, y)
    assert h.final_loss == pytest.approx(mse + 0.1 * float(w @ w), rel=1e-12)
    assert "plus the L2 penalty (alpha / 2) |w|^2 with alpha=0.2" in h.loss_kind
    with pytest.raises(descend.errors.InputError, match="'alpha' parameter of fit"):
        descend.fit(model, X, y, alpha=-1.0, verbose=False)


def converged(model, X, y, **kwargs):
    descend.fit(model, X, y, alpha=0.05, optimizer="nesterov", epochs=3000, tol=None,
                verbose=False, **kwargs)  # fmt: skip
    return model


def test_alpha_with_k_targets_is_ridge_with_n_k_alpha_over_2():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    Y = X @ rng.normal(size=(3, 2)) + rng.normal(0, 0.5, size=(60, 2))  # k = 2 targets
    model = converged(nn.Linear(3, 2, init="zeros"), X, Y)
    ridge = linear_model.Ridge(alpha=60 * 2 * 0.05 / 2).fit(X, Y)
    np.testing.assert_allclose(model.weight.data.T, ridge.coef_, atol=1e-10)
    np.testing.assert_allclose(model.bias.data, ridge.intercept_, atol=1e-10)
    one = linear_model.Ridge(alpha=60 * 0.05 / 2).fit(X, Y)  # n alpha / 2 holds for one only
    assert np.abs(model.weight.data.T - one.coef_).max() > 1e-3


def test_a_softmax_of_two_classes_is_logistic_regression_with_c_2_over_n_alpha():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.normal(0, 1.0, 200) > 0).astype(int)
    softmax = converged(nn.Linear(3, 2, init="zeros"), X, y, loss="cross_entropy")
    logistic = converged(nn.Linear(3, 1, init="zeros"), X, y, loss="bce_with_logits")
    fit_c = {"tol": 1e-12, "max_iter": 10_000}
    two = linear_model.LogisticRegression(C=2 / (200 * 0.05), **fit_c).fit(X, y)
    one = linear_model.LogisticRegression(C=1 / (200 * 0.05), **fit_c).fit(X, y)
    difference = softmax.weight.data[:, 1] - softmax.weight.data[:, 0]
    np.testing.assert_allclose(difference, two.coef_[0], atol=1e-6)
    np.testing.assert_allclose(softmax.weight.data[:, 1], -softmax.weight.data[:, 0], atol=1e-8)
    np.testing.assert_allclose(logistic.weight.data[:, 0], one.coef_[0], atol=1e-6)
    assert np.abs(difference - one.coef_[0]).max() > 1e-3
