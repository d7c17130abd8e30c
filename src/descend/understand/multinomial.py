"""The exact optimum of a softmax model (``cross_entropy`` on a single ``nn.Linear``), and its
Hessian: what ``optimum.optimisation_gap`` and ``curvature.curvature`` know of it.

The mean softmax cross-entropy plus ``(alpha / 2) |W|^2`` (the bias left out) is convex in
the weights theta (one column per class, the bias as the last row), and its minimum is found
by Newton's method with backtracking, the Hessian summed over row blocks of the design matrix
(``design.design_blocks``). Adding the same vector to every class's column changes no
probability: the loss is flat along those directions (the Hessian is singular there), so each
Newton step is the minimum-norm solution of its system (``lstsq``), which never moves along
them, and the curvature's mu is the smallest eigenvalue of the directions that change the loss.

When every row's class has the largest logit (hard labels, no alpha), the data are
separable: scaling theta up drives every row's loss, and the mean, to 0, so the optimum is 0
and the loss has no minimum. Newton's method stops there with that proof.

>>> import numpy as np
>>> X = np.array([[-1.0], [0.0], [1.0], [0.5]]); zero = np.zeros((2, 2))
>>> round(softmax_losses(X, np.array([0, 1, 1, 0]), None, zero, 0.0, True)[1], 5)  # the optimum
0.55173
>>> softmax_losses(X, np.array([0, 0, 1, 1]), None, zero, 0.0, True)[:2]  # separable: log 2, 0
(0.6931471805599453, 0.0)
"""

from __future__ import annotations

import math
from typing import Any

from ..engine.backend import xp
from .design import (
    Blocks,
    GapUnknown,
    backtrack,
    design_blocks,
    mean_over_rows,
    penalised,
    penalty,
    row_space,
    solve,
)

MAX_WEIGHTS = 1000
"""Weights (columns x classes) up to which the exact optimum is computed: each Newton step
forms and solves their Hessian."""
NEWTON_STEPS = 100
"""Newton steps at most (a minimum that exists is reached in about ten)."""


def targets(Y: Any, classes: int) -> Any:
    """The class probabilities per row (n, classes): one-hot rows for class indices."""
    if Y.shape[1] == classes and classes > 1:
        return Y
    T = xp.zeros((len(Y), classes))
    T[xp.arange(len(Y)), Y[:, 0].astype(int)] = 1.0
    return T


def _probabilities(Z: Any) -> Any:
    shifted = Z - Z.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(theta: Any) -> Any:
    """Per row: the softmax cross-entropy of logits ``A theta`` against probabilities T."""

    def per_row(A: Any, T: Any) -> Any:
        Z = A @ theta
        top = Z.max(axis=1, keepdims=True)
        log_sum = top[:, 0] + xp.log(xp.exp(Z - top).sum(axis=1))
        return log_sum - (T * Z).sum(axis=1)

    return per_row


def derivatives(blocks: Blocks, theta: Any) -> tuple[Any, Any]:
    """(gradient, Hessian) of the mean softmax cross-entropy at theta (D x k): the gradient
    ``A^T W (P - T) / S`` and the Hessian ``sum_i w_i (a_i a_i^T) (x) (diag(p_i) - p_i p_i^T)
    / S``, its rows and columns in theta's order (weight j, class c at j k + c)."""
    D, k = theta.shape
    grad, H, count = xp.zeros((D, k)), xp.zeros((D * k, D * k)), 0.0
    H4 = H.reshape(D, k, D, k)  # a view: H[j k + c, j' k + c'] = H4[j, c, j', c']
    for A, T, w in blocks():
        ww = xp.ones(len(A)) if w is None else w
        P = _probabilities(A @ theta)
        grad += A.T @ (ww[:, None] * (P - T))
        count += float(ww.sum())
        B = (A[:, :, None] * P[:, None, :]).reshape(len(A), D * k)
        diagonal = (A.T @ (ww[:, None] * B)).reshape(D, D, k)  # [j', j, c]
        for c in range(k):
            H4[:, c, :, c] += diagonal[:, :, c].T
        Bw = B if w is None else B * xp.sqrt(ww)[:, None]
        H -= Bw.T @ Bw  # one matrix with its own transpose: half the work (syrk)
    return grad / count, H / count


def separated(blocks: Blocks, theta: Any) -> bool:
    """True when every row of positive weight has its class's logit strictly the largest
    (hard labels): the data are separable, and scaling theta up drives the loss to 0."""
    for A, T, w in blocks():
        Z = A @ theta
        hard = ((T == 0) | (T == 1)).all(axis=1) & (T.sum(axis=1) == 1)
        if not bool(hard.all()):
            return False
        right = (Z * T).sum(axis=1)
        others = xp.where(T == 1, -xp.inf, Z).max(axis=1)
        counted = xp.ones(len(A), dtype=bool) if w is None else w > 0
        if not bool((right[counted] > others[counted]).all()):
            return False
    return True


def _free(columns: int, classes: int, alpha: float, with_bias: bool) -> Any:
    """The weights Newton's method moves: all but the last class's column (without alpha),
    or its bias (with alpha): the loss does not change along what is left out."""
    free = xp.ones((columns, classes), dtype=bool)
    if not alpha:
        free[:, -1] = False
    elif with_bias:
        free[-1, -1] = False
    return free.ravel()


def _step(H: Any, grad: Any, free: Any) -> Any:
    """The Newton direction H^-1 grad over the free weights (0 for the others)."""
    direction = xp.zeros(len(grad))
    inner = H[xp.ix_(free, free)]
    try:
        direction[free] = xp.linalg.solve(inner, grad[free])
    except xp.linalg.LinAlgError:  # singular (collinear columns): the minimum-norm step
        direction[free] = solve(inner, grad[free], "Newton step")
    return direction


def newton(
    blocks: Blocks, columns: int, classes: int, alpha: float, with_bias: bool, start: Any = None
) -> tuple[Any, float]:
    """(theta, optimum) of the mean softmax cross-entropy + (alpha / 2) |W|^2: Newton's method
    with backtracking, from ``start`` (trained weights) when its loss is below that of zero
    weights; the optimum is 0.0 once theta separates the rows (without alpha)."""
    mask = (penalised(columns, with_bias)[:, None] * xp.ones((1, classes))).ravel()
    free = _free(columns, classes, alpha, with_bias)

    def objective(theta: Any) -> float:
        return mean_over_rows(blocks, cross_entropy(theta)) + penalty(theta, alpha, with_bias)

    theta = xp.zeros((columns, classes))
    loss = objective(theta)
    if start is not None and bool(xp.isfinite(start).all()) and objective(start) < loss:
        theta, loss = start, objective(start)
    for _ in range(NEWTON_STEPS):
        if not alpha and separated(blocks, theta):
            return theta, 0.0
        grad, H = derivatives(blocks, theta)
        grad = grad.ravel() + alpha * mask * theta.ravel()
        direction = _step(H + xp.diag(alpha * mask), grad, free).reshape(columns, classes)
        theta, loss, gain = backtrack(objective, theta, loss, direction)
        if not gain > 1e-15 * max(loss, 1e-300):
            break
    return theta, loss


def softmax_losses(
    X: Any, Y: Any, weight: Any, theta: Any, alpha: float, with_bias: bool
) -> tuple[float, float, Any]:
    """(reached, optimum, the optimum's weights or None) of the mean softmax cross-entropy +
    (alpha / 2) |W|^2 of the weights theta (their bias as the last row with ``with_bias``) on
    rows X with labels or probabilities Y."""
    columns, classes = theta.shape
    if columns * classes > MAX_WEIGHTS:
        raise GapUnknown(
            f"The exact optimum of a softmax model is computed up to {MAX_WEIGHTS:,} weights "
            f"(Newton's method forms their Hessian); this one has {columns * classes:,}."
        )
    T = targets(xp.asarray(Y, dtype=xp.float64).reshape(len(X), -1), classes)
    blocks = design_blocks(X, T, weight, with_bias)
    reached = mean_over_rows(blocks, cross_entropy(theta)) + penalty(theta, alpha, with_bias)
    if len(X) < columns:  # wide (no alpha: optimisation_gap refuses it): in the rows' space
        space = row_space(X, T, weight, with_bias)
        best, optimum = None, newton(space, next(space())[0].shape[1], classes, 0.0, False)[1]
    else:
        best, optimum = newton(blocks, columns, classes, alpha, with_bias, theta)
    if not math.isfinite(optimum):
        raise GapUnknown("The exact optimum is unknown: Newton's method overflowed.")
    return reached, optimum, best


def hessian(blocks: Blocks, theta: Any, alpha: float, with_bias: bool) -> Any:
    """The Hessian of the mean softmax cross-entropy + (alpha / 2) |W|^2 at theta."""
    columns, classes = theta.shape
    mask = penalised(columns, with_bias)[:, None] * xp.ones((1, classes))
    return derivatives(blocks, theta)[1] + xp.diag(alpha * mask.ravel())
