"""Tests for descend.understand.design: the design matrix [X, 1] of a linear model, block by
block, the losses and the penalty the exact optimum is computed from, and the checks that
keep floating point honest."""

from __future__ import annotations

import numpy as np
import pytest

from descend import nn
from descend.errors import InputError
from descend.understand.design import (
    GapUnknown,
    backtrack,
    cross_entropy,
    design_blocks,
    mean_over_rows,
    penalised,
    penalty,
    problem,
    row_space,
    solve,
    squared_error,
)

RNG = np.random.default_rng(11)


def test_the_blocks_are_x_with_a_column_of_ones_and_cover_every_row_once():
    X = RNG.normal(size=(150, 4095))  # 4,096 columns of A: 64 rows a block
    Y, w = RNG.normal(size=(150, 1)), RNG.uniform(size=150)
    blocks = list(design_blocks(X, Y, w, with_bias=True)())
    assert [len(A) for A, _, _ in blocks] == [64, 64, 22]
    A = np.vstack([A for A, _, _ in blocks])
    np.testing.assert_array_equal(A, np.hstack([X, np.ones((150, 1))]))
    np.testing.assert_array_equal(np.concatenate([b for _, _, b in blocks]), w)
    without = next(design_blocks(X[:5], Y[:5], None, with_bias=False)())
    np.testing.assert_array_equal(without[0], X[:5])
    assert without[2] is None


def test_the_mean_over_rows_is_weighted_by_the_sample_weights():
    X, Y = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [1.0], [1.0]])
    theta = np.array([[1.0], [0.5]])  # predictions 1.5, 2.5, 3.5: squared errors 0.25, 2.25, 6.25
    plain = design_blocks(X, Y, None, with_bias=True)
    weighted = design_blocks(X, Y, np.array([2.0, 0.0, 2.0]), with_bias=True)
    assert mean_over_rows(plain, squared_error(theta)) == pytest.approx(8.75 / 3, rel=1e-15)
    assert mean_over_rows(weighted, squared_error(theta)) == pytest.approx(3.25, rel=1e-15)


def test_the_binary_cross_entropy_is_log_1_plus_e_z_minus_z_t_even_at_1000():
    A, t = np.array([[1.0], [1.0], [1.0], [1.0]]), np.array([[1.0], [0.0], [1.0], [0.0]])
    for z in (-3.0, 0.5):
        expected = np.log1p(np.exp(z)) - z * t[:, 0]
        np.testing.assert_allclose(cross_entropy(np.array([[z]]))(A, t), expected)
    with np.errstate(over="raise"):
        far = cross_entropy(np.array([[1000.0]]))(A, t)
    np.testing.assert_allclose(far, [0.0, 1000.0, 0.0, 1000.0], atol=1e-300)


def test_the_penalty_counts_the_weights_and_leaves_the_bias_out():
    theta = np.array([[1.0, 2.0], [3.0, -1.0], [10.0, 10.0]])  # the last row: the biases
    assert penalty(theta, 0.5, with_bias=True) == pytest.approx(0.25 * 15.0, rel=1e-15)
    assert penalty(theta, 0.5, with_bias=False) == pytest.approx(0.25 * 215.0, rel=1e-15)
    assert penalty(theta, 0.0, with_bias=True) == 0.0
    assert penalised(3, True).tolist() == [1.0, 1.0, 0.0]


def test_the_row_space_spans_the_columns_of_a_wide_design():
    X, Y = RNG.normal(size=(5, 20)), RNG.normal(size=(5, 1))
    basis, Yb, _ = next(row_space(X, Y, None, with_bias=True)())
    A = np.hstack([X, np.ones((5, 1))])
    assert basis.shape == (5, 5) and Yb is Y
    np.testing.assert_allclose(basis.T @ basis, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(basis @ (basis.T @ A), A, atol=1e-12)  # every column reached


def test_solve_is_least_squares_on_finite_numbers_only():
    matrix, right = np.array([[2.0, 0.0], [0.0, 4.0], [0.0, 0.0]]), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(solve(matrix, right, "weights"), [0.5, 0.5])
    with pytest.raises(GapUnknown, match=r"computing the weights overflows floating point"):
        solve(np.where(matrix > 0, np.inf, 0.0), right, "weights")
    assert issubclass(GapUnknown, InputError)


def test_the_problem_stacks_the_bias_under_the_weights_and_checks_the_data():
    model = nn.Linear(2, 1)
    model.weight.data[...] = [[1.5], [-2.0]]
    model.bias.data[...] = [0.25]
    X, Y, weight, theta = problem(model, [[1.0, 2.0]], [3.0], None)
    assert theta.tolist() == [[1.5], [-2.0], [0.25]] and Y.tolist() == [[3.0]]
    with pytest.raises(InputError, match=r"X has 3 columns and y 1, but the model takes 2"):
        problem(model, np.ones((1, 3)), [3.0], None)
    with pytest.raises(GapUnknown, match=r"y holds NaN or infinite values"):
        problem(model, [[1.0, 2.0]], [np.inf], None)


def test_backtrack_halves_the_step_until_the_loss_does_not_rise_and_keeps_theta_otherwise():
    def objective(theta):
        return float(theta @ theta)

    theta = np.array([1.0, -2.0])
    # along 4 theta, the full step lands on -3 theta (9 times the loss); the half step on
    # -theta, the same loss: taken ("does not raise"), with no gain
    new, loss, gain = backtrack(objective, theta, objective(theta), 4 * theta)
    np.testing.assert_array_equal(new, -theta)
    assert loss == 5.0 and gain == 0.0
    new, loss, gain = backtrack(objective, theta, 5.0, 0.75 * theta)  # 1 - 0.75: a quarter
    np.testing.assert_allclose(new, 0.25 * theta)
    assert loss == pytest.approx(5 / 16) and gain == pytest.approx(5 - 5 / 16)
    same, loss, gain = backtrack(objective, theta, 5.0, -theta)  # uphill at every step size
    assert same is theta and loss == 5.0 and gain == 0.0
