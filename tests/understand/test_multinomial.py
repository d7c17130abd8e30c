"""Tests for descend.understand.multinomial: the softmax cross-entropy's gradient and Hessian
against finite differences, Newton's method to its minimum, and separable rows."""

from __future__ import annotations

import numpy as np
import pytest

from descend.understand.design import GapUnknown, design_blocks, mean_over_rows
from descend.understand.multinomial import (
    MAX_WEIGHTS,
    cross_entropy,
    derivatives,
    hessian,
    newton,
    separated,
    softmax_losses,
    targets,
)

RNG = np.random.default_rng(5)
X = RNG.normal(size=(40, 3))
LABELS = RNG.integers(0, 3, size=40)
T = targets(LABELS[:, None].astype(float), 3)
BLOCKS = design_blocks(X, T, None, with_bias=True)


def mean_loss(theta):
    return mean_over_rows(BLOCKS, cross_entropy(theta))


def test_labels_become_one_hot_rows_and_probabilities_stay():
    assert targets(np.array([[2.0], [0.0]]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    probabilities = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert targets(probabilities, 2) is probabilities


def test_the_gradient_and_hessian_are_the_finite_differences_of_the_loss():
    theta, eps = RNG.normal(size=(4, 3)), 1e-5
    grad, H = derivatives(BLOCKS, theta)
    numerical = np.zeros_like(theta)
    H_numerical = np.zeros_like(H)
    for i in range(theta.size):
        step = np.zeros(theta.size)
        step[i] = eps
        up, down = theta + step.reshape(theta.shape), theta - step.reshape(theta.shape)
        numerical.flat[i] = (mean_loss(up) - mean_loss(down)) / (2 * eps)
        H_numerical[:, i] = (derivatives(BLOCKS, up)[0] - derivatives(BLOCKS, down)[0]).ravel()
    np.testing.assert_allclose(grad, numerical, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(H, H_numerical / (2 * eps), rtol=1e-6, atol=1e-9)


def test_alpha_adds_to_the_curvature_of_the_weights_not_of_the_biases():
    theta = RNG.normal(size=(4, 3))
    extra = hessian(BLOCKS, theta, 0.5, with_bias=True) - derivatives(BLOCKS, theta)[1]
    np.testing.assert_allclose(np.diag(extra), [0.5] * 9 + [0.0] * 3, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(extra - np.diag(np.diag(extra)), 0.0, atol=1e-15)


def test_newton_reaches_a_point_where_the_gradient_vanishes():
    alpha = 0.1
    theta, optimum = newton(BLOCKS, 4, 3, alpha, with_bias=True)
    mask = np.ones((4, 3))
    mask[-1] = 0.0  # the biases are not penalised
    grad = derivatives(BLOCKS, theta)[0] + alpha * mask * theta
    assert np.abs(grad).max() < 1e-9
    assert optimum == pytest.approx(mean_loss(theta) + 0.5 * alpha * (theta[:-1] ** 2).sum())
    for _ in range(5):  # and no point nearby is lower
        near = theta + 1e-3 * RNG.normal(size=theta.shape)
        assert mean_loss(near) + 0.5 * alpha * (near[:-1] ** 2).sum() > optimum


def test_separable_rows_have_an_optimum_of_zero():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    blocks = design_blocks(x, targets(np.array([[0.0], [0.0], [1.0], [1.0]]), 2), None, True)
    theta = np.array([[-1.0, 1.0], [0.0, 0.0]])  # class 1 exactly where x > 0
    assert separated(blocks, theta) and not separated(blocks, -theta)
    assert newton(blocks, 2, 2, 0.0, with_bias=True)[1] == 0.0
    assert newton(blocks, 2, 2, 0.1, with_bias=True)[1] > 0.0  # alpha gives it a minimum


def test_too_many_weights_are_refused_with_the_reason():
    columns = MAX_WEIGHTS // 2 + 1
    with pytest.raises(GapUnknown, match=r"up to 1,000 weights .*this one has 1,002\."):
        softmax_losses(np.ones((3, columns - 1)), [0, 1, 0], None, np.zeros((columns, 2)), 0.0,
                       True)  # fmt: skip
