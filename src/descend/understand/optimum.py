"""The exact optimum of a linear or logistic model, and how far a trained one is from it.

The one place least squares is solved (``least_squares``) and the logistic
optimum found (Newton's method): ``optimisation_gap`` measures the loss a
trained ``nn.Linear`` reached against that optimum; ``fit``, the CLI's demo
and ``sweep.descent_paths`` call it here. Both include the L2 penalty
``(alpha / 2) |w|^2`` (biases left out) when ``alpha`` is given, so the gap of a
regularised run is exact too.

The curvature of the same losses (L, mu, the condition number) is in
``curvature.py``, which builds on the design blocks and checks of this module.

Everything is summed over row blocks of ``X`` with a column of ones for the
bias, so X is never copied whole.

>>> import numpy as np
>>> least_squares(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0])).round(6)
array([2., 1.])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from .._validation import non_negative, validate_params
from ..data import row_blocks, to_array
from ..engine.backend import xp
from ..errors import InputError
from ..learn import losses
from ..learn.nn import Linear

PERFECT = 1e-12
"""Optimum / reached below which a perfect fit is possible (no share of the optimum to speak of)."""
ROUNDING = 1e-9
"""Optimisation gap (relative to the optimum) below which the optimum is reached, up to rounding."""

Blocks = Callable[[], Iterator[tuple[Any, Any, Any]]]
"""Each call starts a new pass over the rows: blocks (A, Y, weights) of the design matrix."""


class GapUnknown(InputError):
    """The exact optimum cannot be computed in floating point (the message says why)."""


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

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain data."""
        return asdict(self)

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


# ----- the design matrix, block by block ------------------------------------------------
def design_blocks(X: Any, Y: Any, weight: Any, with_bias: bool) -> Blocks:
    """Row blocks (A, Y, weights) of the lesson's ``X @ weights + bias`` written as one
    product ``A @ theta``: A is a block of X with a column of ones for the bias.

    Block by block, as fit does, so that X is never copied whole; each call of
    the result starts a new pass over the rows.
    """
    rows = max(64, (1 << 21) // (8 * (X.shape[1] + 1)))

    def each() -> Iterator[tuple[Any, Any, Any]]:
        for part in row_blocks(len(X), rows):
            A = xp.ascontiguousarray(X[part], dtype=xp.float64)  # a sample's rows: strided
            if with_bias:
                A = xp.hstack([A, xp.ones((len(A), 1))])
            yield A, Y[part], None if weight is None else weight[part]

    return each


def _row_space(X: Any, Y: Any, weight: Any, with_bias: bool) -> Blocks:
    """With more columns than rows: one block of an orthonormal basis of the span of A's
    columns in place of A. ``A @ theta`` reaches the same predictions, so the optimum (without
    a penalty) is the same, from at most n columns: an SVD of A costs n^2 (d + 1), where the
    normal equations would cost a (d + 1) x (d + 1) Gram matrix."""
    parts = list(design_blocks(X, Y, weight, with_bias)())
    A = xp.vstack([a for a, _, _ in parts])
    U, s, _ = xp.linalg.svd(A, full_matrices=False)
    basis = U[:, : int((s > s[0] * max(A.shape) * xp.finfo(A.dtype).eps).sum())]
    return lambda: iter([(basis, Y, weight)])


def mean_over_rows(blocks: Blocks, per_row: Any) -> float:
    """The (weighted) mean over all rows of ``per_row(A, Y)``."""
    total = count = 0.0
    for A, Yb, w in blocks():
        values = per_row(A, Yb)
        total += float(values.sum() if w is None else (values * w).sum())
        count += len(values) if w is None else float(w.sum())
    return total / count


def squared_error(theta: Any) -> Any:
    """Per row: the mean over outputs of (A theta - Y)^2."""
    return lambda A, Yb: ((A @ theta - Yb) ** 2).mean(axis=1)


def cross_entropy(theta: Any) -> Any:
    """Binary cross-entropy of logits z = A theta: max(z, 0) - z t + log(1 + e^-|z|)."""

    def per_row(A: Any, t: Any) -> Any:
        z = A @ theta
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    return per_row


# ----- the optimum -------------------------------------------------------------------------
def _solve(matrix: Any, right: Any, what: str) -> Any:
    """``lstsq(matrix, right)``, but only on finite numbers: LAPACK fails (and prints to the
    terminal) on infinities and NaN."""
    if not (bool(xp.isfinite(matrix).all()) and bool(xp.isfinite(right).all())):
        raise GapUnknown(
            f"The exact optimum is unknown: computing the {what} overflows floating point "
            "(features or targets of 1e150 or more); standardise the features."
        )
    try:
        return xp.linalg.lstsq(matrix, right, rcond=None)[0]
    except xp.linalg.LinAlgError as error:
        raise GapUnknown(
            f"The exact optimum is unknown: solving for the {what} failed ({error})."
        ) from error


def _penalised(columns: int, with_bias: bool) -> Any:
    """The diagonal of P: 1 for each weight, 0 for the bias (the penalty leaves it out)."""
    mask = xp.ones(columns)
    if with_bias:
        mask[-1] = 0.0
    return mask


def penalty(theta: Any, alpha: float, with_bias: bool) -> float:
    """(alpha / 2) |w|^2 of the weights in theta (its last row is the bias, with ``with_bias``)."""
    weights = theta[:-1] if with_bias else theta
    return 0.5 * alpha * float((weights**2).sum()) if alpha else 0.0


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
        gram = gram + xp.diag(ridge * _penalised(len(gram), with_bias))
    return _solve(gram, moment, "least-squares optimum")


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
    mask = _penalised(columns, with_bias)[:, None]

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
        direction = _solve(
            hess / count + xp.diag(ridge * mask[:, 0]),
            grad / count + ridge * mask * theta,
            "Newton step",
        )
        step, trial, trial_loss = 1.0, theta, loss
        while step > 1e-10:
            trial = theta - step * direction
            trial_loss = objective(trial)
            if trial_loss <= loss:
                break
            step /= 2
        if not trial_loss <= loss:
            break
        gain = loss - trial_loss
        theta, loss = trial, trial_loss
        if gain <= 1e-15 * max(loss, 1e-300):
            break
    return theta


# ----- the gap --------------------------------------------------------------------------------
def _checked_linear(model: Any, loss: Any) -> Any:
    """The loss function, once model and loss are known to have a closed-form optimum."""
    loss_fn = losses.get_loss(loss)
    if not isinstance(model, Linear):
        raise InputError(
            f"optimisation_gap needs a single nn.Linear (a linear or logistic model); got "
            f"{type(model).__name__}. Deeper models have no closed-form optimum."
        )
    if loss_fn not in (losses.mse, losses.bce_with_logits):
        raise InputError(
            "optimisation_gap knows the exact optimum for the losses 'mse' and "
            f"'bce_with_logits'; got {getattr(loss_fn, '__name__', loss_fn)!r}."
        )
    return loss_fn


def _problem(
    model: Linear,
    X: Any,
    y: Any,
    sample_weight: Any,
    labels: bool = False,
    checked: bool = False,
) -> tuple[Any, Any, Any, Any]:
    """(X, Y, weights, theta): the data and the model's weights stacked with its bias,
    checked against each other and for finite values (``labels``: y holds class indices, one
    column for all the model's outputs; ``checked``: X, y and the weights are rows already
    checked, as training has them, and need no pass over them)."""
    if not checked:
        X = to_array(X, name="X")  # finite, or an InputError
    Y = xp.asarray(y, dtype=xp.float64).reshape(len(X), -1)
    if sample_weight is not None and not checked:
        sample_weight = to_array(sample_weight, "sample_weight", ndim=1)
    weight = sample_weight
    theta = xp.asarray(model.weight.data, dtype=xp.float64)
    if model.bias is not None:
        theta = xp.vstack([theta, xp.asarray(model.bias.data, dtype=xp.float64)[None, :]])
    if (Y.shape[1] != theta.shape[1] and not labels) or X.shape[1] != model.in_features:
        raise InputError(
            f"optimisation_gap: X has {X.shape[1]} columns and y {Y.shape[1]}, but the model "
            f"takes {model.in_features} and gives {theta.shape[1]}; pass the data it was trained on."
        )
    given = () if checked else (("y", Y), ("sample_weight", weight))
    for name, values in (*given, ("weights", theta)):
        if values is not None and not bool(xp.isfinite(values).all()):
            raise GapUnknown(f"The exact optimum is unknown: {name} holds NaN or infinite values.")
    return X, Y, weight, theta


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
    time. The loss reached is computed from the model's weights by the same
    formula, so the two are comparable; with ``alpha`` both include the L2
    penalty ``(alpha / 2) |w|^2`` the run minimised (``fit(alpha=...)``).
    """
    loss_fn = _checked_linear(model, loss)
    X, Y, weight, theta = _problem(model, X, y, sample_weight)
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
            space = _row_space(X, Y, weight, with_bias) if wide else blocks
            best = _least_squares(space, alpha, with_bias and not wide)
            reached = mean_over_rows(blocks, squared_error(theta)) + penalty(
                theta, alpha, with_bias
            )
            optimum = mean_over_rows(space, squared_error(best)) + penalty(best, alpha, with_bias)
            method = "least squares" if not alpha else "ridge least squares"
        else:  # the loss is a mean over outputs too: add up each output's share
            reached, optimum = _logistic_losses(X, Y, weight, theta, alpha, with_bias)
            method = "Newton's method"
    return _gap(reached, optimum, method)


def _logistic_losses(
    X: Any, Y: Any, weight: Any, theta: Any, alpha: float, with_bias: bool
) -> tuple[float, float]:
    """(reached, optimum) of the mean binary cross-entropy over k outputs + (alpha / 2) |w|^2:
    each output's Newton optimum, with a ridge of k alpha on its mean loss."""
    k = Y.shape[1]
    reached = penalty(theta, alpha, with_bias)
    optimum = 0.0
    for j in range(k):
        column = design_blocks(X, Y[:, j : j + 1], weight, with_bias)
        reached += mean_over_rows(column, cross_entropy(theta[:, j : j + 1])) / k
        if len(theta) > len(X):  # wide (no alpha): Newton in the rows' space
            space = _row_space(X, Y[:, j : j + 1], weight, with_bias)
            best = _newton_logistic(space, next(space())[0].shape[1], with_bias=False)
            optimum += mean_over_rows(space, cross_entropy(best)) / k
            continue
        best = _newton_logistic(column, len(theta), ridge=k * alpha, with_bias=with_bias)
        optimum += mean_over_rows(column, cross_entropy(best)) / k + penalty(best, alpha, with_bias)
    return reached, optimum


def _gap(reached: float, optimum: float, method: str) -> OptimisationGap:
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
    return OptimisationGap(reached, optimum, absolute, relative, method)


def linear_gap_applies(model: Any, loss: Any) -> bool:
    """True for a single Linear trained with mse or bce_with_logits: its optimum is known."""
    return isinstance(model, Linear) and losses.get_loss(loss) in (
        losses.mse,
        losses.bce_with_logits,
    )


def linear_gap(
    model: Any, X: Any, y: Any, loss: Any, sample_weight: Any = None, alpha: float = 0.0
) -> OptimisationGap | None:
    """``optimisation_gap`` for a single Linear trained with mse or bce_with_logits, else None."""
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
