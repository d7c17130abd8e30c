"""The exact optimum of a linear, logistic or softmax model, and how far a trained one is from it.

The one place least squares is solved (``least_squares``) and the logistic and
huber optima found (Newton's method; the softmax one in ``multinomial.py``):
``optimisation_gap`` measures the loss a trained ``nn.Linear`` reached against
that optimum; ``fit``, the CLI's demo and ``sweep.descent_paths`` call it here.
All include the L2 penalty ``(alpha / 2) |w|^2`` (biases left out) when ``alpha``
is given, so the gap of a regularised run is exact too.

The curvature of the same losses (L, mu, the condition number) is in
``curvature.py``; both build on the design blocks of ``design.py``: everything is
summed over row blocks of ``X`` with a column of ones for the bias, so X is never
copied whole.

>>> import numpy as np
>>> least_squares(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0])).round(6)
array([2., 1.])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .._validation import non_negative, validate_params
from ..data import to_array
from ..engine.backend import xp
from ..errors import InputError
from ..learn import losses
from ..learn.nn import Linear
from .design import (
    Blocks,
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
from .multinomial import softmax_losses

LOSSES = (losses.mse, losses.bce_with_logits, losses.cross_entropy, losses.huber)
"""The losses whose exact optimum is known for a single nn.Linear (huber: its default delta, 1)."""
HUBER_DELTA = 1.0
"""The delta of ``losses.huber`` by name: squared below it, linear above."""

PERFECT = 1e-12
"""Optimum / reached below which a perfect fit is possible (no share of the optimum to speak of)."""
ROUNDING = 1e-9
"""Optimisation gap (relative to the optimum) below which the optimum is reached, up to rounding."""


@dataclass
class OptimisationGap:
    """The loss reached against the exact optimum of a linear or logistic model.

    ``absolute = reached - optimum`` (0 when rounding puts reached below the
    optimum) and ``relative = absolute / optimum``: the gap as a share of the optimum.
    """

    reached: float
    optimum: float
    absolute: float
    relative: float
    method: str
    weights: Any = field(default=None, repr=False, compare=False)
    """The optimum's weights (the bias as their last row; None for least squares and for
    more columns than rows): where the diagnosis measures the smallest curvature."""

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain data."""
        return {k: v for k, v in asdict(self).items() if k != "weights"}

    def __str__(self) -> str:
        if self.relative <= ROUNDING or self.reached <= self.optimum:
            return (
                f"Optimisation gap: none. The loss reached, {self.reached:.6g}, is the exact "
                f"optimum {self.optimum:.6g} ({self.method}), up to rounding."
            )
        if math.isfinite(self.relative):
            share = f" ({share_of_optimum(self.relative)})"
        else:
            share = " (a perfect fit is possible)"
        return (
            f"Optimisation gap: the loss reached, {self.reached:.6g}, is {self.absolute:.3g}"
            f"{share} above the exact optimum {self.optimum:.6g} ({self.method})."
        )


def percent(x: float) -> str:
    """A share as a readable percentage: 0.0042 -> '0.42%'."""
    return f"{100 * x:.2g}%" if abs(x) < 0.01 else f"{100 * x:.3g}%"


def share_of_optimum(relative: float) -> str:
    """The gap relative to the optimum, in words: '4.1% of the optimum', '3.81 times the optimum'."""
    if relative < 1:
        return f"{percent(relative)} of the optimum"
    return f"{relative:.3g} times the optimum"


def _least_squares(blocks: Blocks, alpha: float = 0.0, with_bias: bool = True) -> Any:
    """The weights of (ridge) least squares, from the normal equations summed over blocks.

    The mean over rows and k outputs of the squared error plus (alpha / 2) |w|^2 is
    least at ``(A^T W A + (alpha k S / 2) P) theta = A^T W Y`` (S: the total weight).
    """
    with xp.errstate(over="ignore", invalid="ignore"):
        gram = sum(A.T @ (A if w is None else A * w[:, None]) for A, _, w in blocks())
        moment = sum(A.T @ (Yb if w is None else Yb * w[:, None]) for A, Yb, w in blocks())
    if alpha:
        total = sum(len(A) if w is None else float(w.sum()) for A, _, w in blocks())
        ridge = 0.5 * alpha * moment.shape[1] * total
        gram = gram + xp.diag(ridge * penalised(len(gram), with_bias))
    return solve(gram, moment, "least-squares optimum")


def least_squares(
    X: Any, y: Any, sample_weight: Any = None, bias: bool = True, alpha: float = 0.0
) -> Any:
    """The weights (then the bias, with ``bias``) that minimise the (weighted) mean squared
    error of ``X @ weights + bias`` against y, plus ``(alpha / 2) |weights|^2``: one column
    per output, or a vector for 1-D y.

    The CLI's demo and ``descent_paths`` show these next to what gradient descent found.
    """
    X = to_array(X, name="X")
    Y = xp.asarray(y, dtype=xp.float64).reshape(len(X), -1)
    weight = None if sample_weight is None else to_array(sample_weight, "sample_weight", ndim=1)
    theta = _least_squares(design_blocks(X, Y, weight, bias), alpha, bias)
    return theta[:, 0] if xp.ndim(y) == 1 else theta


def logistic_optimum(
    X: Any, y: Any, sample_weight: Any = None, bias: bool = True, alpha: float = 0.0
) -> Any:
    """The weights (then the bias) that minimise the mean binary cross-entropy of the logits
    ``X @ weights + bias`` against y in {0, 1} (plus ``(alpha / 2) |weights|^2``), by Newton's
    method: one column per output, or a vector for 1-D y. For separable data without alpha
    there is no minimum: the weights after 100 Newton steps, whose loss is nearly 0."""
    X = to_array(X, name="X")
    Y = xp.asarray(y, dtype=xp.float64).reshape(len(X), -1)
    weight = None if sample_weight is None else to_array(sample_weight, "sample_weight", ndim=1)
    k = Y.shape[1]
    columns = [
        _newton_logistic(
            design_blocks(X, Y[:, j : j + 1], weight, bias), X.shape[1] + bias, ridge=k * alpha,
            with_bias=bias,
        )
        for j in range(k)
    ]  # fmt: skip
    theta = xp.hstack(columns)
    return theta[:, 0] if xp.ndim(y) == 1 else theta


def _newton_logistic(
    blocks: Blocks, columns: int, steps: int = 100, ridge: float = 0.0, with_bias: bool = True
) -> Any:
    """Minimise the mean binary cross-entropy (plus ``(ridge / 2) |w|^2``) by Newton's method
    with backtracking.

    One output at a time (``Y`` of each block has one column). For separable
    data without a ridge there is no minimum (the loss tends to 0 as the weights
    grow); the iterations then stop after ``steps`` with a loss close to 0.
    """
    mask = penalised(columns, with_bias)[:, None]

    def objective(theta: Any) -> float:
        return mean_over_rows(blocks, cross_entropy(theta)) + penalty(theta, ridge, with_bias)

    theta = xp.zeros((columns, 1))
    loss = objective(theta)
    for _ in range(steps):
        grad, hess, count = 0.0, 0.0, 0.0
        for A, t, w in blocks():
            p = 0.5 * (1 + xp.tanh(0.5 * (A @ theta)))  # the sigmoid, without overflow
            ww = xp.ones((len(A), 1)) if w is None else w[:, None]
            grad = grad + A.T @ (ww * (p - t))
            hess = hess + (A * (ww * p * (1 - p))).T @ A
            count += float(ww.sum())
        direction = solve(
            hess / count + xp.diag(ridge * mask[:, 0]),
            grad / count + ridge * mask * theta,
            "Newton step",
        )
        theta, loss, gain = backtrack(objective, theta, loss, direction)
        if not gain > 1e-15 * max(loss, 1e-300):
            break
    return theta


# ----- the gap --------------------------------------------------------------------------------
def _checked_linear(model: Any, loss: Any) -> Any:
    """The loss function, once model and loss are known to have a closed-form optimum."""
    loss_fn = losses.get_loss(loss)
    if not isinstance(model, Linear):
        raise InputError(
            f"optimisation_gap needs a single nn.Linear (a linear, logistic or softmax model); got "
            f"{type(model).__name__}. Deeper models have no closed-form optimum."
        )
    if loss_fn not in LOSSES:
        raise InputError(
            "optimisation_gap knows the exact optimum for the losses 'mse', "
            f"'bce_with_logits', 'cross_entropy' and 'huber'; got "
            f"{getattr(loss_fn, '__name__', loss_fn)!r}."
        )
    return loss_fn


@validate_params({"alpha": [non_negative()]})
def optimisation_gap(
    model: Any,
    X: Any,
    y: Any,
    loss: Any = "mse",
    sample_weight: Any = None,
    alpha: float = 0.0,
) -> OptimisationGap:
    """How far a trained ``nn.Linear`` is from the best weights: ``optimisation_gap(m, X, y)``.

    ``mse``: the optimum is least squares (with a column of ones for the bias).
    ``bce_with_logits``: Newton's method on the logistic loss, one output at a
    time; ``cross_entropy``: Newton's method on the softmax loss, all classes at once
    (``multinomial.py``; 0 for separable data); ``huber`` (delta 1): Newton's method from
    least squares, one output at a time. The loss reached is computed from the model's
    weights by the same formula, so the two are comparable; with ``alpha`` both include the L2
    penalty ``(alpha / 2) |w|^2`` the run minimised (``fit(alpha=...)``).
    """
    loss_fn = _checked_linear(model, loss)
    X, Y, weight, theta = problem(model, X, y, sample_weight, loss_fn is losses.cross_entropy)
    with_bias = model.bias is not None
    blocks = design_blocks(X, Y, weight, with_bias)
    wide = len(theta) > len(X)  # more columns than rows: solve in the rows' space
    if wide and alpha:
        raise GapUnknown(
            "The exact optimum is left out for a table with more columns than rows and "
            "alpha > 0 (it would take a (d + 1) x (d + 1) system)."
        )
    with xp.errstate(over="ignore", invalid="ignore"):
        if loss_fn is losses.mse:
            space = row_space(X, Y, weight, with_bias) if wide else blocks
            best = _least_squares(space, alpha, with_bias and not wide)
            reached = mean_over_rows(blocks, squared_error(theta)) + penalty(
                theta, alpha, with_bias
            )
            optimum = mean_over_rows(space, squared_error(best)) + penalty(best, alpha, with_bias)
            method = "least squares" if not alpha else "ridge least squares"
            best = None
        elif loss_fn is losses.cross_entropy:
            reached, optimum, best = softmax_losses(X, Y, weight, theta, alpha, with_bias)
            method = "Newton's method, softmax"
        elif loss_fn is losses.huber:
            reached, optimum, best = _columns(X, Y, weight, theta, alpha, with_bias, huber_loss)
            method = "Newton's method, huber"
        else:  # the loss is a mean over outputs too: add up each output's share
            reached, optimum, best = _columns(X, Y, weight, theta, alpha, with_bias, logistic)
            method = "Newton's method"
    return _gap(reached, optimum, method, best)


def _columns(
    X: Any, Y: Any, weight: Any, theta: Any, alpha: float, with_bias: bool, kind: Any
) -> tuple[float, float, Any]:
    """(reached, optimum, the optimum's weights or None) of a loss that is a mean over rows and
    k outputs (the binary cross-entropy, huber) + (alpha / 2) |w|^2: each output's optimum by
    Newton's method (``kind``: its per-row loss and ``newton``), with a ridge of k alpha on its
    mean loss, from the trained weights."""
    per_row, newton = kind
    k = Y.shape[1]
    reached = penalty(theta, alpha, with_bias)
    optimum, weights = 0.0, []
    for j in range(k):
        column = design_blocks(X, Y[:, j : j + 1], weight, with_bias)
        reached += mean_over_rows(column, per_row(theta[:, j : j + 1])) / k
        if len(theta) > len(X):  # wide (no alpha): Newton in the rows' space
            space = row_space(X, Y[:, j : j + 1], weight, with_bias)
            best = newton(space, next(space())[0].shape[1], with_bias=False)
            optimum += mean_over_rows(space, per_row(best)) / k
            continue
        best = newton(column, len(theta), ridge=k * alpha, with_bias=with_bias)
        optimum += mean_over_rows(column, per_row(best)) / k + penalty(best, alpha, with_bias)
        weights.append(best)
    return reached, optimum, xp.hstack(weights) if len(weights) == k else None


# ----- huber ----------------------------------------------------------------------------------
def huber_rows(theta: Any) -> Any:
    """Per row: the huber loss of the residual r = A theta - t (theta: one column), r^2 / 2
    up to HUBER_DELTA, linear above."""

    def per_row(A: Any, t: Any) -> Any:
        r = (A @ theta).reshape(len(A)) - xp.reshape(t, (len(A),))
        size = xp.abs(r)
        return xp.where(size <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (size - 0.5 * HUBER_DELTA))

    return per_row


def _newton_huber(
    blocks: Blocks, columns: int, steps: int = 100, ridge: float = 0.0, with_bias: bool = True
) -> Any:
    """Minimise the mean huber loss (plus ``(ridge / 2) |w|^2``) by Newton's method with
    backtracking, from least squares: the loss is quadratic wherever the rows within delta of
    the fit stay the same, so once they settle a full step lands on the minimum. Its Hessian
    ``A^T W diag(|r| <= delta) A / S`` (singular when few rows are within delta: the
    minimum-norm step)."""
    mask = penalised(columns, with_bias)[:, None]

    def objective(theta: Any) -> float:
        return mean_over_rows(blocks, huber_rows(theta)) + penalty(theta, ridge, with_bias)

    theta = _least_squares(blocks, 2 * ridge, with_bias)  # the minimum of r^2 / 2 + ridge
    loss = objective(theta)
    for _ in range(steps):
        grad, hess, count = 0.0, 0.0, 0.0
        for A, t, w in blocks():
            r = A @ theta - t
            ww = xp.ones((len(A), 1)) if w is None else w[:, None]
            grad = grad + A.T @ (ww * xp.clip(r, -HUBER_DELTA, HUBER_DELTA))
            hess = hess + (A * (ww * (xp.abs(r) <= HUBER_DELTA))).T @ A
            count += float(ww.sum())
        direction = solve(
            hess / count + xp.diag(ridge * mask[:, 0]), grad / count + ridge * mask * theta,
            "Newton step",
        )  # fmt: skip
        theta, loss, gain = backtrack(objective, theta, loss, direction)
        if not gain > 1e-15 * max(loss, 1e-300):
            break
    return theta


logistic = (cross_entropy, _newton_logistic)
"""The binary cross-entropy's per-row loss and Newton's method, for ``_columns``."""
huber_loss = (huber_rows, _newton_huber)
"""The huber loss's per-row loss and Newton's method, for ``_columns``."""


def huber_optimum(
    X: Any, y: Any, sample_weight: Any = None, bias: bool = True, alpha: float = 0.0
) -> Any:
    """The weights (then the bias) that minimise the (weighted) mean huber loss (delta 1) of
    ``X @ weights + bias`` against y (plus ``(alpha / 2) |weights|^2``), by Newton's method:
    one column per output, or a vector for 1-D y."""
    X = to_array(X, name="X")
    Y = xp.asarray(y, dtype=xp.float64).reshape(len(X), -1)
    weight = None if sample_weight is None else to_array(sample_weight, "sample_weight", ndim=1)
    k = Y.shape[1]
    theta = xp.hstack([
        _newton_huber(design_blocks(X, Y[:, [j]], weight, bias), X.shape[1] + bias,
                      ridge=k * alpha, with_bias=bias)
        for j in range(k)
    ])  # fmt: skip
    return theta[:, 0] if xp.ndim(y) == 1 else theta


def _gap(reached: float, optimum: float, method: str, weights: Any = None) -> OptimisationGap:
    if not (math.isfinite(reached) and math.isfinite(optimum)):
        raise GapUnknown(
            "The exact optimum is unknown: the loss overflows floating point (features or "
            "targets of 1e150 or more); standardise the features."
        )
    absolute = max(reached - optimum, 0.0)
    if optimum > PERFECT * reached:
        relative = absolute / optimum
    else:  # a perfect fit is possible: no share of it to speak of
        relative = 0.0 if absolute == 0 else math.inf
    return OptimisationGap(reached, optimum, absolute, relative, method, weights)


def linear_gap_applies(model: Any, loss: Any) -> bool:
    """True for a single Linear trained with mse, bce_with_logits, cross_entropy or huber: its
    optimum is known."""
    return isinstance(model, Linear) and losses.get_loss(loss) in LOSSES


def linear_gap(
    model: Any, X: Any, y: Any, loss: Any, sample_weight: Any = None, alpha: float = 0.0
) -> OptimisationGap | None:
    """``optimisation_gap`` for a single Linear with a loss of LOSSES, else None."""
    return gap_and_note(model, X, y, loss, sample_weight, alpha)[0]


def gap_and_note(
    model: Any, X: Any, y: Any, loss: Any, sample_weight: Any = None, alpha: float = 0.0
) -> tuple[OptimisationGap | None, str]:
    """``linear_gap`` and, when the gap of a linear model cannot be computed, why not
    (for the diagnosis: it never stops a run)."""
    if not linear_gap_applies(model, loss):
        return None, ""
    if not all(bool(xp.isfinite(p.data).all()) for p in model.parameters()):
        return None, ""
    try:
        return optimisation_gap(model, X, y, loss, sample_weight, alpha), ""
    except GapUnknown as error:
        return None, str(error)
