"""Every differentiable primitive: the forward pass and its VJPs side by side.

A primitive is a function on raw arrays that returns ``(out, vjps)``: the
result, and one vector-Jacobian product per differentiable (positional) input,
each mapping the gradient of the output to the gradient of that input.
``@primitive`` lifts it to Tensors and registers it in ``PRIMITIVES``.

One VJP per input (rather than one VJP returning every input's gradient) means
backward() computes only the gradients somebody needs: in ``X @ w`` with a
constant X, the N x d gradient of X is never formed.

>>> import descend
>>> x = descend.tensor([1.0, 2.0], requires_grad=True)
>>> descend.exp(x).sum().backward()
>>> x.grad.round(4)
array([2.7183, 7.3891])
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from . import tensor as _tensor
from .backend import ndarray, xp
from .tensor import Tensor

Primitive = Callable[..., Tensor]
PRIMITIVES: dict[str, Primitive] = {}
"""Every registered primitive by name; the gradient test has a row for each."""


def primitive(fn: Callable[..., tuple[Any, tuple[Any, ...]]]) -> Primitive:
    """Lift ``fn(*arrays, **options) -> (out, vjps)`` to Tensors and register it."""
    name = fn.__name__

    def op(*args: Any, **kwargs: Any) -> Tensor:
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        out, vjps = fn(*raw, **kwargs)
        if type(out) is not ndarray:
            out = xp.asarray(out)
        if _tensor._GRAD.enabled:
            parents = []
            fns = []
            for arg, vjp in zip(args, vjps):
                if vjp is not None and isinstance(arg, Tensor) and arg.requires_grad:
                    parents.append(arg)
                    fns.append(vjp)
            if parents:
                return Tensor._from_op(out, tuple(parents), tuple(fns), name)
        return Tensor._constant(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = fn.__doc__
    op.__wrapped__ = fn  # type: ignore[attr-defined]
    PRIMITIVES[name] = op
    return op


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
        if g.shape == shape:  # a bias added to every row, for instance
            return g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _shape(a: Any) -> tuple[int, ...]:
    return a.shape if hasattr(a, "shape") else ()


# ----- arithmetic ------------------------------------------------------------------
@primitive
def add(a: Any, b: Any) -> Any:
    """a + b."""
    return a + b, (
        lambda g: unbroadcast(g, a.shape),
        lambda g: unbroadcast(g, b.shape),
    )


@primitive
def subtract(a: Any, b: Any) -> Any:
    """a - b."""
    return a - b, (
        lambda g: unbroadcast(g, a.shape),
        lambda g: unbroadcast(-g, b.shape),
    )


@primitive
def multiply(a: Any, b: Any) -> Any:
    """a * b."""
    return a * b, (
        lambda g: unbroadcast(g * b, a.shape),
        lambda g: unbroadcast(g * a, b.shape),
    )


@primitive
def divide(a: Any, b: Any) -> Any:
    """a / b."""
    out = a / b
    return out, (
        lambda g: unbroadcast(g / b, a.shape),
        lambda g: unbroadcast(-g * out / b, b.shape),
    )


@primitive
def power(a: Any, b: Any) -> Any:
    """a ** b (the gradient for b needs a > 0)."""
    out = a**b
    return out, (
        lambda g: unbroadcast(g * b * a ** (b - 1), a.shape),
        lambda g: unbroadcast(g * out * xp.log(a), b.shape),
    )


@primitive
def negative(a: Any) -> Any:
    """-a."""
    return -a, (lambda g: -g,)


def _matmul_mismatch(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> str:
    """Why ``a @ b`` failed, in words (worked out only after NumPy refused)."""
    if not a_shape or not b_shape:
        return (
            f"matmul: both operands need at least one dimension; got shapes {a_shape} and "
            f"{b_shape}. Use * to multiply by a scalar."
        )
    inner_a = a_shape[-1]
    inner_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if inner_a == inner_b:
        return (
            f"matmul: the stacks of shapes {a_shape} and {b_shape} do not broadcast: the "
            "axes before the last two must be equal or 1."
        )
    return (
        f"matmul: shapes {a_shape} and {b_shape} do not align: {inner_a} != {inner_b} "
        "(the last axis of the first must match the second-to-last axis of the second)."
    )


@primitive
def matmul(a: Any, b: Any) -> Any:
    """a @ b for vectors, matrices and stacks of matrices (NumPy's rules)."""
    a, b = xp.asarray(a), xp.asarray(b)
    try:
        out = a @ b
    except ValueError:
        raise InputError(_matmul_mismatch(_shape(a), _shape(b))) from None
    a_shape, b_shape = a.shape, b.shape
    if len(a_shape) == 2 and len(b_shape) == 2:  # the common case, without reshapes
        return out, (lambda g: g @ b.T, lambda g: a.T @ g)
    if len(a_shape) == 2 and len(b_shape) == 1:
        return out, (lambda g: xp.outer(g, b), lambda g: g @ a)
    # general case: lift vectors to matrices, use the matrix rule, then undo the lift
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b

    def lift(g: Any) -> Any:  # b's axis first: vector @ vector has a 0-d g
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        return g

    return out, (
        lambda g: unbroadcast(lift(g) @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a_shape),
        lambda g: unbroadcast(xp.swapaxes(a2, -1, -2) @ lift(g), b2.shape).reshape(b_shape),
    )


@primitive
def linear(x: Any, weight: Any, bias: Any) -> Any:
    """x @ weight + bias: a Linear layer as one op (weight is (in, out), bias is (out,)).

    The matmul's and the bias's VJPs under one node: the layer every model has
    pays for one op instead of two. x may have any number of leading axes.
    """
    x, weight = xp.asarray(x), xp.asarray(weight)
    if weight.ndim != 2:
        raise InputError(f"linear: weight must be (in, out); got shape {weight.shape}.")
    try:
        out = x @ weight + bias
    except ValueError:
        raise InputError(_matmul_mismatch(_shape(x), _shape(weight))) from None

    def rows(a: Any) -> Any:  # leading axes flattened: one row per sample
        return a.reshape(-1, a.shape[-1])

    return out, (
        lambda g: g @ weight.T,
        lambda g: rows(x).T @ rows(g) if x.ndim != 1 else xp.outer(x, g),
        lambda g: unbroadcast(g, bias.shape),
    )


# ----- elementwise functions --------------------------------------------------------
@primitive
def exp(a: Any) -> Any:
    """e ** a."""
    out = xp.exp(a)
    return out, (lambda g: g * out,)


@primitive
def log(a: Any) -> Any:
    """Natural logarithm."""
    return xp.log(a), (lambda g: g / a,)


@primitive
def log1p(a: Any) -> Any:
    """log(1 + a), accurate for small a."""
    return xp.log1p(a), (lambda g: g / (1 + a),)


@primitive
def sqrt(a: Any) -> Any:
    """Square root."""
    out = xp.sqrt(a)
    return out, (lambda g: g / (2 * out),)


@primitive
def abs(a: Any) -> Any:  # noqa: A001 - NumPy's name
    """|a| (gradient 0 at 0)."""
    return xp.abs(a), (lambda g: g * xp.sign(a),)


@primitive
def tanh(a: Any) -> Any:
    """Hyperbolic tangent."""
    out = xp.tanh(a)
    return out, (lambda g: g * (1 - out * out),)


@primitive
def sigmoid(a: Any) -> Any:
    """1 / (1 + e^-a), computed without overflow for any a.

    A primitive rather than a composite: the composite's backward multiplies
    0 by an overflowed exp(1000) and returns NaN.
    """
    z = xp.exp(-xp.abs(a))
    out = xp.where(a >= 0, 1 / (1 + z), z / (1 + z))
    return out, (lambda g: g * out * (1 - out),)


@primitive
def relu(a: Any) -> Any:
    """max(a, 0) (gradient 0 at 0)."""
    return xp.maximum(a, 0), (lambda g: g * (a > 0),)


@primitive
def clip(a: Any, lo: Any = None, hi: Any = None) -> Any:
    """a limited to [lo, hi]; the gradient passes where a is inside."""
    out = xp.clip(a, lo, hi)
    return out, (lambda g: g * (out == a),)


@primitive
def maximum(a: Any, b: Any) -> Any:
    """Elementwise larger of a and b (a tie splits the gradient in half)."""
    share = (a > b) + 0.5 * (a == b)
    return xp.maximum(a, b), (
        lambda g: unbroadcast(g * share, _shape(a)),
        lambda g: unbroadcast(g * (1 - share), _shape(b)),
    )


@primitive
def minimum(a: Any, b: Any) -> Any:
    """Elementwise smaller of a and b (a tie splits the gradient in half)."""
    share = (a < b) + 0.5 * (a == b)
    return xp.minimum(a, b), (
        lambda g: unbroadcast(g * share, _shape(a)),
        lambda g: unbroadcast(g * (1 - share), _shape(b)),
    )


@primitive
def where(condition: Any, a: Any, b: Any) -> Any:
    """a where condition holds, else b (no gradient for the condition)."""
    condition = xp.asarray(condition, dtype=bool)
    return xp.where(condition, a, b), (
        None,
        lambda g: unbroadcast(xp.where(condition, g, 0), _shape(a)),
        lambda g: unbroadcast(xp.where(condition, 0, g), _shape(b)),
    )


def _log_softmax(a: Any, axis: int) -> Any:
    top = a.max(axis=axis, keepdims=True)
    shifted = a - xp.where(xp.isfinite(top), top, 0)  # a row of -inf stays -inf
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


@primitive
def log_softmax(a: Any, axis: int = -1) -> Any:
    """log(softmax(a)) along ``axis``: a minus its logsumexp, stable for logits of any size.

    A primitive rather than a composite of max, exp, sum and log: a classifier's
    loss pays for one VJP instead of eight.
    """
    out = _log_softmax(xp.asarray(a), axis)
    return out, (lambda g: g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)


def row_max(a: Any, out: Any = None, columns: Any = None) -> Any:
    """The largest value of each row of a 2-D array, as a column (into ``out``, given).

    A maximum is exact in any order, so with fewer columns than rows it is taken down
    the columns of a transposed copy (into ``columns``, given): a few long runs of
    ``maximum`` instead of one short run per row (587 x 10: ~5 us instead of ~29). Only
    the sign of a zero maximum can differ from ``a.max(axis=1)``'s (+0 against -0).
    """
    if a.shape[1] >= a.shape[0]:
        return xp.maximum.reduce(a, axis=1, keepdims=True, out=out)
    if columns is None:
        columns = xp.ascontiguousarray(a.T)
    else:
        xp.copyto(columns, a.T)
    top = xp.maximum.reduce(columns, axis=0, out=None if out is None else out.reshape(-1))
    return top.reshape(-1, 1) if out is None else out


@primitive
def softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """-log(softmax(logits))[i, labels[i]] for each row i of (N, C) logits and N int labels.

    The classifier's per-sample loss as one primitive (log_softmax, the pick of
    each row's label and the minus sign fused): its VJP is softmax - one_hot.
    """
    logits, labels = xp.asarray(logits), xp.asarray(labels)
    rows = xp.arange(len(labels))
    shifted = logits - row_max(logits)  # a zero maximum's sign changes neither result
    e = xp.exp(shifted)
    total = e.sum(axis=1, keepdims=True)

    def vjp(g: Any) -> Any:
        grad = e / total
        grad[rows, labels] -= 1
        grad *= g[:, None]
        return grad

    return xp.log(total[:, 0]) - shifted[rows, labels], (vjp, None)


# ----- reductions ------------------------------------------------------------------
def _expand(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Give a reduced gradient back the reduced axes (as length 1), ready to broadcast."""
    if keepdims or axis is None:
        return g if keepdims else g.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return xp.expand_dims(g, tuple(ax % len(shape) for ax in axes))


def reduced_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape left after reducing ``shape`` over ``axis`` without keepdims."""
    if axis is None:
        return ()
    axes = {ax % len(shape) for ax in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


@primitive
def sum(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, or None for all)."""
    a = xp.asarray(a)
    return a.sum(axis=axis, keepdims=keepdims), (
        lambda g: xp.broadcast_to(_expand(g, a.shape, axis, keepdims), a.shape),
    )


@primitive
def mean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean over ``axis`` (an int, a tuple, or None for all)."""
    a = xp.asarray(a)
    n = _count(a.shape, axis)
    return a.sum(axis=axis, keepdims=keepdims) / n, (  # as xp.mean computes it, minus its overhead
        lambda g: xp.broadcast_to(_expand(g, a.shape, axis, keepdims) / n, a.shape),
    )


def _extreme(a: Any, axis: Any, keepdims: bool, pick: Callable[..., Any]) -> Any:
    best = pick(a, axis=axis, keepdims=True)
    out = best if keepdims else pick(a, axis=axis, keepdims=False)

    def vjp(g: Any) -> Any:
        hits = a == best
        share = hits / hits.sum(axis=axis, keepdims=True)  # ties share the gradient
        return _expand(g, a.shape, axis, keepdims) * share

    return out, (vjp,)


@primitive
def max(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Largest value over ``axis`` (ties share the gradient equally)."""
    return _extreme(a, axis, keepdims, xp.max)


@primitive
def min(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Smallest value over ``axis`` (ties share the gradient equally)."""
    return _extreme(a, axis, keepdims, xp.min)


# ----- shape ------------------------------------------------------------------------
@primitive
def reshape(a: Any, shape: Any) -> Any:
    """The same values in a new shape (one entry may be -1)."""
    try:
        out = xp.reshape(a, shape)
    except ValueError:
        raise InputError(
            f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} values) into "
            f"{shape}; the new shape must hold the same number of values."
        ) from None
    return out, (lambda g: xp.reshape(g, a.shape),)


@primitive
def transpose(a: Any, axes: Any = None) -> Any:
    """Permute the axes (reverse them when ``axes`` is None)."""
    inverse = None if axes is None else tuple(xp.argsort([ax % a.ndim for ax in axes]))
    return xp.transpose(a, axes), (lambda g: xp.transpose(g, inverse),)


def _is_basic(index: Any) -> bool:
    """True when NumPy indexes with views only (no integer or boolean arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


@primitive
def getitem(a: Any, index: Any) -> Any:
    """a[index]: slices, integers, integer arrays (rows of a batch, class scores) and masks."""
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, Tensor):
        index = index.data

    def vjp(g: Any) -> Any:
        grad = xp.zeros(a.shape, dtype=g.dtype)
        if _is_basic(index):
            grad[index] = g
        else:  # repeated rows must add up
            xp.add.at(grad, index, g)
        return grad

    return a[index], (vjp,)


@primitive
def concatenate(*arrays: Any, axis: int = 0) -> Any:
    """Join tensors along an existing axis."""
    out = xp.concatenate(arrays, axis=axis)
    ends = xp.cumsum([x.shape[axis] for x in arrays])
    starts = xp.concatenate([[0], ends[:-1]])

    def piece(i: int) -> Callable[[Any], Any]:
        def vjp(g: Any) -> Any:
            index = [slice(None)] * g.ndim
            index[axis] = slice(int(starts[i]), int(ends[i]))
            return g[tuple(index)]

        return vjp

    return out, tuple(piece(i) for i in range(len(arrays)))
