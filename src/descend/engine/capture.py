"""Graph capture and replay: a training step's graph, run again on preallocated buffers.

On a small model a step costs more in Python and allocation than in arithmetic:
every op wraps its result and records its VJPs, backward walks the graph, and
every temporary is a new array. When a step repeats with the same shapes and
the same ops, all of that can be done once. A ``Tape`` holds the step as a few
fused kernels (a linear layer with its activation; a loss with its gradient),
each with buffers allocated for one batch size, and replays forward and
backward with ``out=`` arguments.

Every kernel performs the float operations of the eager ops it stands for, in
the same order, so a replayed step gives the eager step's loss and gradients
bit for bit. ``trace`` lists the ops an eager graph was built from, so that a
caller can check them against ``Tape.ops`` (and the results against the eager
step's) before it trusts a tape.

>>> import numpy as np
>>> from descend.engine.tensor import Tensor
>>> w, b = Tensor(np.ones((2, 1)), requires_grad=True), Tensor(np.zeros(1), requires_grad=True)
>>> tape = Tape([Dense(w, b, None, rows=3)], MeanSquaredError((3, 1), np.float64))
>>> x, target = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0], [1.0], [2.0]])
>>> float(tape.forward(x, target)), tape.ops
(0.0, ('linear', 'subtract', 'multiply', 'mean'))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .backend import xp
from .ops import row_max
from .tensor import Tensor


def trace(out: Tensor) -> tuple[str, ...]:
    """The ops of the graph that made ``out``, in the order they ran (leaves left out).

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> trace((x * x).sum())
    ('multiply', 'sum')
    """
    nodes: dict[int, Tensor] = {}
    stack = [out]
    while stack:
        node = stack.pop()
        if node._parents and id(node) not in nodes:
            nodes[id(node)] = node
            stack.extend(node._parents)
    return tuple(node._op for node in sorted(nodes.values(), key=lambda t: t._seq))


# ----- activations: forward and VJP in place, as ops.relu / ops.tanh / ops.sigmoid -----
class _Scratch:
    """Buffers an activation may use, the shape of the layer's output."""

    __slots__ = ("t", "u", "mask", "zeros")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.t = xp.empty(shape, dtype)
        self.u = xp.empty(shape, dtype)
        self.mask = xp.empty(shape, bool)
        self.zeros = xp.zeros(shape, dtype)


def _relu(z: Any, h: Any, s: _Scratch) -> None:
    xp.maximum(z, s.zeros, out=h)  # maximum(a, 0): the same values, without a scalar operand


def _relu_vjp(g: Any, z: Any, h: Any, s: _Scratch) -> None:
    xp.greater(z, s.zeros, out=s.mask)  # g * (a > 0): the same mask, without a scalar operand
    xp.multiply(g, s.mask, out=g)


def _tanh(z: Any, h: Any, s: _Scratch) -> None:
    xp.tanh(z, out=h)


def _tanh_vjp(g: Any, z: Any, h: Any, s: _Scratch) -> None:
    xp.multiply(h, h, out=s.t)  # g * (1 - out * out)
    xp.subtract(1, s.t, out=s.t)
    xp.multiply(g, s.t, out=g)


def _sigmoid(z: Any, h: Any, s: _Scratch) -> None:
    xp.abs(z, out=s.t)  # e = exp(-|a|); where(a >= 0, 1 / (1 + e), e / (1 + e))
    xp.negative(s.t, out=s.t)
    xp.exp(s.t, out=s.t)
    xp.add(1, s.t, out=s.u)
    xp.divide(s.t, s.u, out=h)
    xp.divide(1, s.u, out=s.t)
    xp.greater_equal(z, 0, out=s.mask)
    xp.copyto(h, s.t, where=s.mask)


def _sigmoid_vjp(g: Any, z: Any, h: Any, s: _Scratch) -> None:
    xp.multiply(g, h, out=g)  # g * out * (1 - out)
    xp.subtract(1, h, out=s.t)
    xp.multiply(g, s.t, out=g)


Forward = Callable[[Any, Any, _Scratch], None]
Vjp = Callable[[Any, Any, Any, _Scratch], None]
ACTIVATIONS: dict[str, tuple[Forward, Vjp]] = {
    "relu": (_relu, _relu_vjp),
    "tanh": (_tanh, _tanh_vjp),
    "sigmoid": (_sigmoid, _sigmoid_vjp),
}
"""Activation op name: (forward(z, h, scratch), vjp(g, z, h, scratch) writing into g)."""


# ----- a layer -------------------------------------------------------------------------
class Dense:
    """``x @ weight + bias`` (ops.linear; ops.matmul without a bias), then an activation.

    ``rows`` is the batch size the buffers are for; ``first`` marks the layer that
    reads the batch itself, whose input needs no gradient. The products are ``xp.dot``:
    on 2-D arrays it makes matmul's BLAS call, for half its overhead (matmul is a
    generalised ufunc: ~0.5 us more a call); the capture's comparison with eager
    (``learn/step.py``) turns down a tape whose products differ from matmul's.
    """

    def __init__(
        self,
        weight: Tensor,
        bias: Tensor | None,
        activation: str | None,
        rows: int,
        first: bool = True,
    ) -> None:
        n_in, n_out = weight.shape
        dtype = weight.dtype
        self.weight, self.bias, self.first = weight, bias, first
        self.act = ACTIVATIONS[activation] if activation else None
        self.ops = ("matmul" if bias is None else "linear",) + ((activation,) if activation else ())
        self.z = xp.empty((rows, n_out), dtype)
        self.h = xp.empty((rows, n_out), dtype) if activation else self.z
        self.scratch: Any = _Scratch((rows, n_out), dtype) if activation else None
        self.dx = None if first else xp.empty((rows, n_in), dtype)
        self.x: Any = None

    def forward(self, x: Any) -> Any:
        self.x = x
        z = self.z
        xp.dot(x, self.weight.data, z)
        if self.bias is not None:
            xp.add(z, self.bias.data, z)
        if self.act is not None:
            self.act[0](z, self.h, self.scratch)
        return self.h

    def backward(self, g: Any, grads: Sequence[Any]) -> Any:
        """Write the parameters' gradients into ``grads`` (weight, then bias); return the
        input's gradient (None for the first layer). ``g`` is overwritten."""
        if self.act is not None:
            self.act[1](g, self.z, self.h, self.scratch)
        xp.dot(self.x.T, g, grads[0])
        if self.bias is not None:
            xp.add.reduce(g, axis=0, out=grads[1])  # as g.sum(axis=0), minus the wrapper
        if self.first:
            return None
        return xp.dot(g, self.weight.data.T, self.dx)

    @property
    def n_params(self) -> int:
        return 1 if self.bias is None else 2


# ----- losses, reduced by their mean: the value, then the prediction's gradient ---------
class _MeanLoss:
    """What the three losses share: the per-element losses, the mean, and the mean's
    gradient (``ones / count``, as ``ops.mean``'s VJP makes it).

    ``dtypes`` are the float dtypes whose eager gradient keeps that dtype all the way
    down, the only ones a tape (one dtype throughout) can replay.
    """

    ops: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ("float16", "float32", "float64")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.per = xp.empty(shape, dtype)
        self.count = self.per.size
        self.scale = xp.ones((), dtype) / self.count
        self.grad = xp.empty(shape, dtype)

    def mean(self) -> Any:
        return xp.add.reduce(self.per, axis=None) / self.count  # as ops.mean


class MeanSquaredError(_MeanLoss):
    """losses.mse: mean((prediction - target)^2)."""

    ops = ("subtract", "multiply", "mean")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        super().__init__(shape, dtype)
        self.diff = xp.empty(shape, dtype)

    def forward(self, prediction: Any, target: Any) -> Any:
        xp.subtract(prediction, target, out=self.diff)
        xp.multiply(self.diff, self.diff, out=self.per)
        return self.mean()

    def backward(self) -> Any:
        xp.multiply(self.diff, self.scale, out=self.grad)  # d(diff * diff): g*diff + g*diff
        xp.add(self.grad, self.grad, out=self.grad)
        return self.grad


class BCEWithLogits(_MeanLoss):
    """losses.bce_with_logits: mean(softplus(z) - z*t), softplus(z) = max(z, 0) + log1p(e^-|z|).

    float64 only: ``ops.maximum``'s VJP weighs a tie at 0 by a float64 0.5, so below
    this loss a float32 model's eager gradient is float64.
    """

    ops = ("maximum", "abs", "negative", "exp", "log1p", "add", "multiply", "subtract", "mean")
    dtypes = ("float64",)

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        super().__init__(shape, dtype)
        self.z: Any = None
        self.target: Any = None
        self.e = xp.empty(shape, dtype)
        self.t = xp.empty(shape, dtype)
        self.u = xp.empty(shape, dtype)
        self.mask = xp.empty(shape, bool)
        self.zeros = xp.zeros(shape, dtype)
        self.neg_scale = -self.scale

    def forward(self, z: Any, target: Any) -> Any:
        self.z, self.target = z, target
        xp.maximum(z, self.zeros, out=self.per)  # maximum(z, 0.0)
        xp.abs(z, out=self.e)
        xp.negative(self.e, out=self.e)
        xp.exp(self.e, out=self.e)
        xp.log1p(self.e, out=self.t)
        xp.add(self.per, self.t, out=self.per)
        xp.multiply(z, target, out=self.t)
        xp.subtract(self.per, self.t, out=self.per)
        return self.mean()

    def backward(self) -> Any:
        # the eager VJPs in backward()'s order: multiply's, then softplus' log1p branch
        # (abs), then its maximum, whose tie at z = 0 passes half of g
        g, t, u = self.grad, self.t, self.u
        xp.multiply(self.neg_scale, self.target, out=g)  # subtract's -g, multiply's g * t
        xp.add(1, self.e, out=t)  # log1p: g / (1 + e)
        xp.divide(self.scale, t, out=t)
        xp.multiply(t, self.e, out=t)  # exp: g * out
        xp.negative(t, out=t)  # negative
        xp.sign(self.z, out=u)  # abs: g * sign(z)
        xp.multiply(t, u, out=t)
        xp.add(g, t, out=g)
        xp.equal(self.z, 0, out=self.mask)  # maximum: g * ((z > 0) + 0.5 * (z == 0))
        xp.multiply(0.5, self.mask, out=u)
        xp.greater(self.z, 0, out=self.mask)
        xp.add(self.mask, u, out=u)
        xp.multiply(self.scale, u, out=t)
        xp.add(g, t, out=g)
        return g


class SoftmaxCrossEntropy(_MeanLoss):
    """losses.cross_entropy with integer labels: ops.softmax_cross_entropy, then the mean.

    Row i's label is picked at ``i * classes + label`` of the flattened logits, the
    same elements as ``[arange(N), labels]`` picks. The row maxima are ``ops.row_max``'s,
    as eager's, into buffers of the kernel.
    """

    ops = ("softmax_cross_entropy", "mean")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        rows, classes = shape
        super().__init__((rows,), dtype)
        self.starts = xp.arange(rows) * classes
        self.picks = xp.empty(rows, xp.int64)
        self.top = xp.empty((rows, 1), dtype)
        self.shifted = xp.empty(shape, dtype)
        self.e = xp.empty(shape, dtype)
        self.total = xp.empty((rows, 1), dtype)
        self.grad = xp.empty(shape, dtype)
        self.flat_shifted, self.flat_grad = self.shifted.reshape(-1), self.grad.reshape(-1)
        self.flat_total = self.total.reshape(-1)
        self.columns = xp.empty((classes, rows), dtype) if classes < rows else None

    def forward(self, logits: Any, labels: Any) -> Any:
        """``labels``: int64 class indices in [0, classes), checked by the caller."""
        xp.add(self.starts, labels, out=self.picks)
        row_max(logits, self.top, self.columns)
        xp.subtract(logits, self.top, out=self.shifted)
        xp.exp(self.shifted, out=self.e)
        xp.add.reduce(self.e, axis=1, keepdims=True, out=self.total)
        xp.log(self.flat_total, out=self.per)
        xp.subtract(self.per, self.flat_shifted[self.picks], out=self.per)
        return self.mean()

    def backward(self) -> Any:
        grad = self.grad
        xp.divide(self.e, self.total, out=grad)  # softmax - one_hot, times the mean's g
        self.flat_grad[self.picks] -= 1
        xp.multiply(grad, self.scale, out=grad)
        return grad


# ----- the tape ------------------------------------------------------------------------
class LossKernel(Protocol):
    """What a tape needs of a loss: its ops, the value and the prediction's gradient."""

    ops: tuple[str, ...]

    def forward(self, prediction: Any, target: Any) -> Any: ...

    def backward(self) -> Any: ...


class Tape:
    """A step's layers and loss for one batch size: ``forward(x, target)`` gives the loss
    and ``backward(grads)`` writes every gradient. ``x`` and ``target`` are read, not
    copied: they must stay unchanged until ``backward``."""

    def __init__(self, layers: Sequence[Dense], loss: LossKernel) -> None:
        self.layers = list(layers)
        self.loss = loss
        self.ops = tuple(op for layer in layers for op in layer.ops) + loss.ops
        ends = list(itertools.accumulate(layer.n_params for layer in layers))
        self._spans = [(end - layer.n_params, end) for layer, end in zip(layers, ends)][::-1]

    def forward(self, x: Any, target: Any) -> Any:
        """The loss of the batch (a 0-d value, as eager's ``.data``)."""
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        return self.loss.forward(h, target)

    def backward(self, grads: Sequence[Any]) -> None:
        """Write the gradients of the last ``forward()`` into ``grads``: one array per
        parameter, in the layers' order (weight, then bias)."""
        g = self.loss.backward()
        for layer, (start, end) in zip(reversed(self.layers), self._spans):
            g = layer.backward(g, grads[start:end])
