"""The curvature of a loss: the facts gradient descent depends on.

``curvature`` gives, for a single ``nn.Linear`` with ``mse``, ``bce_with_logits``,
``cross_entropy`` or ``huber``: L, the largest eigenvalue of the Hessian (steps above 2/L
diverge, 1/L is the largest rate at which no direction zig-zags), mu, the
smallest (the flattest direction), and the condition number L / mu (how long
and narrow the valley is). The Hessian is summed over row blocks
(``optimum.design_blocks``) and its eigenvalues computed when it is small, or L
found by power iteration over the blocks when it is not.
``update_curvature`` measures, for any model, the curvature along one direction
(a run's last update) by central differences of gradients.

>>> import numpy as np
>>> from descend import nn
>>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])   # mse (w - 1)^2
>>> curvature(nn.Linear(1, 1, bias=False), X, y).L
2.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .._validation import Boolean, non_negative, validate_params
from ..engine.backend import xp
from ..errors import InputError
from ..learn import losses
from ..learn.blocks import ArrayBlocks, mean_gradient
from ..learn.nn import Linear
from ..learn.penalty import L2
from .design import Blocks, GapUnknown, design_blocks, penalised, problem
from .multinomial import MAX_WEIGHTS, targets
from .multinomial import hessian as multinomial_hessian
from .optimum import HUBER_DELTA

EXACT_WORK = 5e7
"""Multiply-adds up to which the Hessian of a linear model is formed from all rows (above it, from
every k-th row, at least SAMPLE_PER_COLUMN rows per column)."""
SAMPLE_PER_COLUMN = 40
"""Rows per column of the sample the Hessian is formed from when all rows cost too much: its
extreme eigenvalues are then within a few tens of percent of the whole data's."""
EXACT_COLUMNS = 1000
"""Columns up to which the Hessian is formed and its eigenvalues computed; above, power iteration."""


@dataclass
class Curvature:
    """The extreme curvatures of a loss: ``L`` (largest eigenvalue of the Hessian) and ``mu``
    (smallest; NaN when unknown), and how they were found.

    For ``mse`` the Hessian is the same everywhere (a quadratic); for the logistic and
    softmax losses ``L`` is its largest value anywhere (at logits 0), for huber's where every
    row is within delta, and ``mu`` the smallest eigenvalue at the weights given.
    """

    L: float
    mu: float
    method: str
    rows: int
    scale_ratio: float = math.nan
    """sqrt(largest / smallest diagonal entry of the Hessian over the weights): how many times
    larger one feature's scale (its root mean square) is than another's."""

    @property
    def condition(self) -> float:
        """L / mu: how many times steeper the steepest direction is than the flattest."""
        return self.L / self.mu if self.mu > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain data (the condition number included)."""
        return {**asdict(self), "condition": self.condition}

    def __str__(self) -> str:
        flat = f", mu = {self.mu:.3g}, condition number {self.condition:.3g}" if self.mu > 0 else ""
        return f"curvature L = {self.L:.4g}{flat} ({self.method})"


def _row_weights(loss_fn: Any, k: int) -> Callable[[Any, Any, Any], Any]:
    """The curvature of the loss per row and output, as a function of (A, Y, theta): the
    Hessian is ``A^T diag(that) A / S`` (S: the rows' total weight) for every output; theta
    None: its largest value anywhere."""
    if loss_fn is losses.mse:
        return lambda A, Y, theta: xp.full((len(A), 1), 2.0 / k)
    if loss_fn is losses.cross_entropy:  # the largest eigenvalue of diag(p) - p p^T
        return lambda A, Y, theta: xp.full((len(A), 1), 0.5)
    if loss_fn is losses.bce_with_logits:

        def sigmoid_slope(A: Any, Y: Any, theta: Any) -> Any:
            if theta is None:
                return xp.full((len(A), 1), 0.25 / k)  # its largest value, at z = 0
            p = 0.5 * (1 + xp.tanh(0.5 * (A @ theta)))
            return (p * (1 - p)).min(axis=1, keepdims=True) / k

        return sigmoid_slope
    if loss_fn is losses.huber:

        def within_delta(A: Any, Y: Any, theta: Any) -> Any:
            if theta is None:
                return xp.full((len(A), 1), 1.0 / k)  # every row within delta: r^2 / 2
            inside = xp.abs(A @ theta - Y) <= HUBER_DELTA  # beyond: linear, no curvature
            return inside.min(axis=1, keepdims=True) / k

        return within_delta
    raise InputError(
        "curvature knows the Hessian of 'mse', 'bce_with_logits', 'cross_entropy' and 'huber' "
        f"for a single nn.Linear; got {getattr(loss_fn, '__name__', loss_fn)!r}."
    )


def _sample(n: int, columns: int) -> Any:
    """All rows (None) when their Hessian is cheap, else every k-th row: a slice, so the
    sample is a view of X (no copy), drawn from all of it whatever order the rows are in."""
    if n * columns * columns <= EXACT_WORK:
        return None
    m = min(n, max(int(EXACT_WORK // (columns * columns)), SAMPLE_PER_COLUMN * columns))
    step = n // m
    return slice(0, step * m, step) if step > 1 else None


def _hessian(blocks: Blocks, per_row: Any, theta: Any, ridge: Any) -> Any:
    """``sum_blocks A^T diag(w c) A / sum w + diag(ridge)``."""
    total, count = 0.0, 0.0
    for A, Y, w in blocks():
        c = per_row(A, Y, theta) * (1.0 if w is None else w[:, None])
        if c.size and c.min() == c.max():  # one weight for every row: A^T A, symmetric (syrk)
            total = total + float(c.flat[0]) * (A.T @ A)  # half the work of (A * c).T @ A
        else:
            total = total + (A * c).T @ A
        count += len(A) if w is None else float(w.sum())
    return total / count + xp.diag(ridge)


def _power_iteration(
    blocks: Blocks, per_row: Any, theta: Any, ridge: Any, steps: int = 100, tol: float = 1e-6
) -> float:
    """The largest eigenvalue of the Hessian by power iteration, one pass over the blocks a
    step (the Rayleigh quotient: a lower bound that rises to L)."""
    v = xp.ones(len(ridge)) / math.sqrt(len(ridge))
    value = 0.0
    for _ in range(steps):
        hv, count = 0.0 * v, 0.0
        for A, Y, w in blocks():
            c = per_row(A, Y, theta)[:, 0] * (1.0 if w is None else w)
            hv = hv + A.T @ (c * (A @ v))
            count += len(A) if w is None else float(w.sum())
        hv = hv / count + ridge * v
        new = float(v @ hv)
        norm = float(xp.linalg.norm(hv))
        if norm == 0 or not math.isfinite(norm):
            return new
        v = hv / norm
        if abs(new - value) <= tol * abs(new):
            return new
        value = new
    return value


@validate_params({"alpha": [non_negative()], "at_weights": [Boolean()], "checked": [Boolean()]})
def curvature(
    model: Any,
    X: Any,
    y: Any,
    loss: Any = "mse",
    sample_weight: Any = None,
    alpha: float = 0.0,
    at_weights: bool = False,
    checked: bool = False,
) -> Curvature:
    """L, mu and the condition number of the loss of a single ``nn.Linear``:
    ``curvature(model, X, y).L``.

    The Hessian (plus alpha on the weights, not the bias) is formed over row blocks and
    its eigenvalues computed when it is small (up to EXACT_COLUMNS columns: from all
    rows, or a random sample of them when all would cost over EXACT_WORK); otherwise L
    comes from power iteration over the row blocks and mu stays unknown (NaN).
    ``at_weights``: the logistic, softmax or huber loss's mu at the model's weights (default:
    where its curvature is largest: zero logits; huber: every row within delta). The softmax loss's mu is that of the
    directions that change it (``multinomial.py``), up to MAX_WEIGHTS weights. ``checked``: X, y and the sample weights
    are training rows already checked (``ArrayBlocks``): no pass over them to check again.
    """
    loss_fn = losses.get_loss(loss)
    if not isinstance(model, Linear):
        raise InputError(
            f"curvature needs a single nn.Linear; got {type(model).__name__}. For other "
            "models, update_curvature measures the curvature along one direction."
        )
    X, Y, weight, theta = problem(
        model, X, y, sample_weight, loss_fn is losses.cross_entropy, checked
    )
    with_bias = model.bias is not None
    columns = X.shape[1] + with_bias
    per_row = _row_weights(loss_fn, Y.shape[1])
    ridge = alpha * penalised(columns, with_bias)
    rows = _sample(len(X), columns) if columns <= EXACT_COLUMNS else None
    if rows is not None:
        X, Y = X[rows], Y[rows]
        weight = None if weight is None else weight[rows]
    blocks = design_blocks(X, Y, weight, with_bias)
    where = theta if at_weights and loss_fn in (losses.bce_with_logits, losses.huber) else None
    with xp.errstate(over="ignore", invalid="ignore"):
        if columns > EXACT_COLUMNS:
            high = _power_iteration(blocks, per_row, None, ridge)
            return Curvature(high, math.nan, "power iteration", len(X))
        hessian = _hessian(blocks, per_row, where, ridge)
    how = "eigenvalues of the Hessian" + (f", {len(X):,} sampled rows" if rows is not None else "")
    softmax = loss_fn is losses.cross_entropy
    found = _from_hessian(hessian, not softmax, how, len(X), X.shape[1])
    if softmax and theta.size <= MAX_WEIGHTS:
        found.mu = _softmax_mu(X, Y, weight, theta if at_weights else 0 * theta, alpha, with_bias)
    return found


def _softmax_mu(X: Any, Y: Any, weight: Any, theta: Any, alpha: float, with_bias: bool) -> float:
    """The smallest curvature of the softmax loss at theta over the directions that change it
    (adding the same vector to every class's weights changes nothing: those eigenvalues,
    0 but for rounding, are left out)."""
    T = targets(Y, theta.shape[1])
    with xp.errstate(over="ignore", invalid="ignore"):
        values = xp.linalg.eigvalsh(
            multinomial_hessian(design_blocks(X, T, weight, with_bias), theta, alpha, with_bias)
        )
    curved = values[values > 1e-10 * values[-1]]
    return float(curved[0]) if len(curved) else math.nan


@validate_params({"alpha": [non_negative()]})
def stream_curvature(
    model: Any, blocks: Callable[[], Any], loss: Any = "mse", alpha: float = 0.0
) -> Curvature:
    """``curvature`` of rows that are not in memory (table files): the Hessian summed over
    every block ``blocks()`` yields, (X, y, weights) each, in one pass; at zero weights."""
    loss_fn = losses.get_loss(loss)
    if not isinstance(model, Linear):
        raise InputError(f"curvature needs a single nn.Linear; got {type(model).__name__}.")
    with_bias = model.bias is not None
    columns = model.in_features + with_bias
    if columns > EXACT_COLUMNS:
        raise InputError(
            f"The curvature of rows in files is formed for up to {EXACT_COLUMNS} columns; "
            f"this model has {columns}. Pass lr as a number."
        )

    def design() -> Any:
        for X, y, w in blocks():
            A = xp.asarray(X, dtype=xp.float64)
            if with_bias:
                A = xp.hstack([A, xp.ones((len(A), 1))])
            yield A, xp.asarray(y, dtype=xp.float64).reshape(len(A), -1), w

    first = next(iter(design()))
    per_row = _row_weights(loss_fn, first[1].shape[1] if loss_fn is not losses.cross_entropy else 1)
    with xp.errstate(over="ignore", invalid="ignore"):
        hessian = _hessian(design, per_row, None, alpha * penalised(columns, with_bias))
    rows = sum(len(X) for X, _, _ in blocks())
    knows_mu = loss_fn is not losses.cross_entropy
    return _from_hessian(
        hessian, knows_mu, "eigenvalues of the Hessian, row blocks", rows, model.in_features
    )


def _from_hessian(hessian: Any, knows_mu: bool, how: str, rows: int, weights: int) -> Curvature:
    """L, mu (the smallest eigenvalue above 1e-10 L: directions without curvature do not
    count) and the ratio of feature scales, from the Hessian itself."""
    if not bool(xp.isfinite(hessian).all()):
        raise GapUnknown(
            "The curvature is unknown: the Hessian overflows floating point (features of "
            "1e150 or more); standardise the features."
        )
    values = xp.linalg.eigvalsh(hessian)
    high = float(values[-1])
    curved = values[values > 1e-10 * high]
    mu = float(curved[0]) if knows_mu and len(curved) else math.nan
    diagonal = xp.diag(hessian)[:weights]
    low = float(diagonal.min()) if weights else 0.0
    ratio = math.sqrt(float(diagonal.max()) / low) if low > 0 else math.inf
    return Curvature(high, mu, how, rows, ratio)


UPDATE_ROWS = 1024
"""Rows (every k-th one, when there are more) ``update_curvature`` reads."""


def _set(params: list[Any], values: list[Any]) -> None:
    for p, v in zip(params, values):
        p.data[...] = v


def _mean_gradient(model: Any, rows: Any, loss_fn: Any, params: list[Any]) -> list[Any]:
    """The gradient of the mean loss over ``rows`` (an ArrayBlocks), one array per parameter."""
    mean_gradient(model, rows, loss_fn)
    return [xp.zeros_like(p.data) if p.grad is None else p.grad for p in params]


def update_curvature(
    model: Any, rows: Any, loss: Any, direction: list[Any], alpha: float = 0.0
) -> tuple[float, float]:
    """(c, ratio) along ``direction`` (one array per parameter: the last update of a run), for
    any model: c is the curvature ``d^T H d / |d|^2`` of the loss there, by central differences
    of gradients over ``rows`` (an ArrayBlocks; up to UPDATE_ROWS of them), and ratio how far
    that step went past the bottom of the loss along it: ``c |d|^2 / -(g . d)`` (1: it lands on
    the bottom; between 1 and 2 it overshoots and zig-zags; above 2 the loss grows).

    (NaN, NaN) for a zero or non-finite direction. The weights are put back as they were.
    """
    loss_fn = losses.get_loss(loss)
    params = model.parameters()
    length = math.sqrt(sum(float(xp.vdot(d, d)) for d in direction))
    if not (0 < length < math.inf) or not isinstance(rows, ArrayBlocks):
        return math.nan, math.nan
    if rows.n_rows > UPDATE_ROWS:  # every k-th row, copied together (BLAS wants them so)
        step = rows.n_rows // UPDATE_ROWS
        rows = rows.take(xp.arange(0, step * UPDATE_ROWS, step))
    unit = [d / length for d in direction]
    keep = [p.data.copy() for p in params]
    size = math.sqrt(sum(float(xp.vdot(k, k)) for k in keep))
    h = 1e-4 * max(1.0, size)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with xp.errstate(over="ignore", invalid="ignore"):
            _set(params, [k + h * u for k, u in zip(keep, unit)])
            up = _mean_gradient(model, rows, loss_fn, params)
            _set(params, [k - h * u for k, u in zip(keep, unit)])
            down = _mean_gradient(model, rows, loss_fn, params)
    finally:
        _set(params, keep)
        for p in params:
            p.grad = None
        if was_training:
            model.train()
    c = sum(float(xp.vdot(u, a - b)) for u, a, b in zip(unit, up, down)) / (2 * h)
    weights = {id(p) for p in L2.weights(model)}
    c += alpha * sum(float(xp.vdot(u, u)) for p, u in zip(params, unit) if id(p) in weights)
    slope = sum(float(xp.vdot(d, (a + b) / 2)) for d, a, b in zip(direction, up, down))
    slope += alpha * sum(
        float(xp.vdot(d, k)) for p, d, k in zip(params, direction, keep) if id(p) in weights
    )
    ratio = c * length**2 / -slope if slope < 0 else math.nan
    return (c, ratio) if math.isfinite(c) else (math.nan, math.nan)
