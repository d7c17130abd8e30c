"""The design matrix of a linear model, block by block: what the exact optimum (``optimum.py``,
``multinomial.py``) and the curvature (``curvature.py``) are computed from.

``A @ theta`` is the lesson's ``X @ weights + bias`` as one product: A is a block of X with a
column of ones for the bias, theta the weights with the bias as its last row. Everything is
summed over row blocks, so X is never copied whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..data import row_blocks, to_array
from ..engine.backend import xp
from ..errors import InputError
from ..learn.nn import Linear

Blocks = Callable[[], Iterator[tuple[Any, Any, Any]]]
"""Each call starts a new pass over the rows: blocks (A, Y, weights) of the design matrix."""


class GapUnknown(InputError):
    """The exact optimum cannot be computed in floating point (the message says why)."""


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


def row_space(X: Any, Y: Any, weight: Any, with_bias: bool) -> Blocks:
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
    """The (weighted) mean over all rows of ``per_row(A, Y)`` (one value per row)."""
    total = count = 0.0
    for A, Yb, w in blocks():
        values = xp.reshape(per_row(A, Yb), (len(A),))  # (n, 1) * (n,) would broadcast
        total += float(values.sum() if w is None else (values * w).sum())
        count += len(values) if w is None else float(w.sum())
    return total / count


def squared_error(theta: Any) -> Any:
    """Per row: the mean over outputs of (A theta - Y)^2."""
    return lambda A, Yb: ((A @ theta - Yb) ** 2).mean(axis=1)


def cross_entropy(theta: Any) -> Any:
    """Per row: the binary cross-entropy of the logit z = A theta (theta: one column) against
    t, max(z, 0) - z t + log(1 + e^-|z|)."""

    def per_row(A: Any, t: Any) -> Any:
        z = (A @ theta).reshape(len(A))
        t = xp.reshape(t, (len(A),))
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    return per_row


# ----- the optimum -------------------------------------------------------------------------
def solve(matrix: Any, right: Any, what: str) -> Any:
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


def penalised(columns: int, with_bias: bool) -> Any:
    """The diagonal of P: 1 for each weight, 0 for the bias (the penalty leaves it out)."""
    mask = xp.ones(columns)
    if with_bias:
        mask[-1] = 0.0
    return mask


def penalty(theta: Any, alpha: float, with_bias: bool) -> float:
    """(alpha / 2) |w|^2 of the weights in theta (its last row is the bias, with ``with_bias``)."""
    weights = theta[:-1] if with_bias else theta
    return 0.5 * alpha * float((weights**2).sum()) if alpha else 0.0


def problem(
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


def backtrack(
    objective: Callable[[Any], float], theta: Any, loss: float, direction: Any
) -> tuple[Any, float, float]:
    """(theta, loss, gain) after the longest step along -direction (halved from 1) that does
    not raise the loss; theta as it was (gain 0) when none does. Newton's method for every
    loss here (logistic, huber, softmax) steps this way."""
    step = 1.0
    while step > 1e-10:
        trial = theta - step * direction
        trial_loss = objective(trial)
        if trial_loss <= loss:
            return trial, trial_loss, loss - trial_loss
        step /= 2
    return theta, loss, 0.0
