"""Composites: functions built only from primitives, so they need no VJP of their own.

>>> import descend
>>> descend.softmax(descend.tensor([0.0, 0.0])).numpy()
array([0.5, 0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from . import ops
from .backend import xp
from .tensor import Tensor


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, without overflow: shift by the (constant) max first."""
    x = _tensor(x)
    top = xp.max(x.data, axis=axis, keepdims=True)
    shift = Tensor._constant(xp.where(xp.isfinite(top), top, 0))  # a row of -inf stays -inf
    out = ops.log(ops.sum(ops.exp(x - shift), axis=axis, keepdims=True)) + shift
    if keepdims:
        return out
    return ops.reshape(out, ops.reduced_shape(x.shape, axis))


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, stable for logits of any size (one primitive)."""
    return ops.log_softmax(_tensor(x), axis=axis)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``; rows sum to 1."""
    return ops.exp(log_softmax(x, axis=axis))


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` (NumPy's definition, ``ddof`` as in NumPy)."""
    x = _tensor(x)
    centred = x - ops.mean(x, axis=axis, keepdims=True)
    n = ops._count(x.shape, axis)
    return ops.sum(centred * centred, axis=axis, keepdims=keepdims) / (n - ddof)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope * x``."""
    x = _tensor(x)
    return ops.where(x.data > 0, x, negative_slope * x)


def gelu(x: Any) -> Tensor:
    """Gaussian error linear unit (the tanh approximation used by GPT-2 and PyTorch)."""
    x = _tensor(x)
    return 0.5 * x * (1 + ops.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), stable for x of any size."""
    x = _tensor(x)
    # maximum, not relu: its tie at 0 passes half the gradient, and softplus'(0) = 1/2
    return ops.maximum(x, 0.0) + ops.log1p(ops.exp(-ops.abs(x)))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    items = [_tensor(t) for t in tensors]
    if not items:
        raise InputError("stack: needs at least one tensor; got an empty sequence.")
    ndim = items[0].ndim + 1
    position = axis % ndim
    lifted = [ops.reshape(t, t.shape[:position] + (1,) + t.shape[position:]) for t in items]
    return ops.concatenate(*lifted, axis=position)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (NumPy's signature)."""
    if not len(tensors):
        raise InputError("concatenate: needs at least one tensor; got an empty sequence.")
    return ops.concatenate(*tensors, axis=axis)
