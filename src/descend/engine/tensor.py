"""Tensor: an array that remembers how it was made, and backward().

A Tensor holds ``data`` (an ndarray) and, after ``backward()``, ``grad`` (an
ndarray of the same shape). A Tensor made by an op keeps its ``parents`` and
one vector-Jacobian product (VJP) per parent; ``backward()`` walks that graph
from the output back to the leaves in reverse topological order.

>>> import descend
>>> w = descend.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward()
>>> w.grad
array([2., 4.])
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from typing import Any

from ..errors import InputError
from .backend import xp

Vjp = Callable[[Any], Any]


class _GradMode(threading.local):
    """Whether ops record the graph, per thread (a thread in ``no_grad`` leaves the others
    recording), True in every new thread."""

    enabled = True


_GRAD = _GradMode()
_creation = itertools.count()  # op results are numbered in the order they are made


def is_grad_enabled() -> bool:
    """Whether ops record the graph for backward(): ``descend.is_grad_enabled()`` -> True."""
    return bool(_GRAD.enabled)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording a graph, in this thread: ``with descend.no_grad(): ...``."""
    previous = _GRAD.enabled
    _GRAD.enabled = False
    try:
        yield
    finally:
        _GRAD.enabled = previous


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> x = Tensor([3.0], requires_grad=True)
    >>> (x ** 2).sum().backward(); x.grad
    array([6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjps", "_op", "_seq")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        array = xp.asarray(data, dtype=dtype)
        if requires_grad and array.dtype.kind not in "fc":
            raise TypeError(
                f"Only floating-point tensors can require gradients; got dtype {array.dtype}. "
                "Pass dtype=float or float data."
            )
        self.data: Any = array
        self.grad: Any = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._vjps: tuple[Vjp, ...] = ()
        self._op = ""
        self._seq = -1  # leaves have no number: nothing depends on their order

    @classmethod
    def _from_op(
        cls, data: Any, parents: tuple[Tensor, ...], vjps: tuple[Vjp, ...], op: str
    ) -> Tensor:
        """A non-leaf tensor made by op ``op`` (no validation: the hot path).

        ``_seq`` numbers it after every tensor it was made from, so the reverse of
        creation order is a topological order of any graph.
        """
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = True
        out._parents = parents
        out._vjps = vjps
        out._op = op
        out._seq = next(_creation)
        return out

    @classmethod
    def _constant(cls, data: Any) -> Tensor:
        """A tensor outside any graph (no validation: the hot path)."""
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = False
        out._parents = ()
        out._vjps = ()
        out._op = ""
        out._seq = -1
        return out

    # ----- array-like properties -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return self.data.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self.data.size  # type: ignore[no-any-return]

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return not self._parents

    def numpy(self) -> Any:
        """The data as an ndarray (shared, not copied): ``t.numpy()``."""
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number: ``t.item()``."""
        if self.data.size != 1:
            raise InputError(
                f"item() needs a tensor with exactly one element; this one has shape {self.shape}. "
                "Reduce it first, for example with .sum() or .mean()."
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph: gradients do not flow through it."""
        return Tensor._constant(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes None)."""
        self.grad = None

    def __len__(self) -> int:
        return len(self.data)

    __hash__ = object.__hash__  # identity, in C (defining __eq__ would remove it)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        out = self.data if dtype is None else self.data.astype(dtype)
        return out.copy() if copy and out is self.data else out

    def __repr__(self) -> str:
        body = repr(self.data)
        if body.startswith("array("):
            body = body[len("array(") : -1]
        body = body.replace("\n      ", "\n       ")
        if self.requires_grad:
            return f"tensor({body}, requires_grad=True)"
        return f"tensor({body})"

    # ----- backward -------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the gradient flowing in from above; it may be omitted only
        for a one-element tensor (a loss), where it is 1.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require gradients. "
                "Create the inputs with requires_grad=True and do not wrap the "
                "computation in no_grad()."
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs an explicit grad of "
                    "the same shape; only a one-element tensor (a loss) has an implicit "
                    "gradient of 1. Reduce it first (.sum() or .mean()) or pass grad=."
                )
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad)
            if grad.shape != self.shape:
                raise InputError(
                    f"backward(grad=...) got a gradient of shape {grad.shape} for a tensor of "
                    f"shape {self.shape}; they must match."
                )
        if not self._parents:
            _accumulate(self, grad)
            return
        # Walk the graph newest node first (a heap on creation number): every node
        # that uses a tensor is newer than it, so a tensor's gradient is complete
        # when it is popped. Leaves take each contribution as it comes.
        grads: dict[Tensor, Any] = {self: grad}
        heap = [(-self._seq, self)]
        while heap:
            node = heappop(heap)[1]
            g = grads.pop(node)
            for parent, vjp in zip(node._parents, node._vjps):
                contribution = vjp(g)
                if not parent._parents:
                    _accumulate(parent, contribution)
                elif parent in grads:
                    grads[parent] = grads[parent] + contribution
                else:
                    grads[parent] = contribution
                    heappush(heap, (-parent._seq, parent))

    # ----- operators (the ops live in ops.py and functional.py) -----------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.subtract(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.divide(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.power(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.power(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.negative(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # comparisons give boolean tensors outside the graph
    def __lt__(self, other: Any) -> Tensor:
        return Tensor._constant(self.data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._constant(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._constant(self.data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._constant(self.data >= _raw(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._constant(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._constant(self.data != _raw(other))

    # ----- methods with PyTorch's names -----------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _F.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return _ops.clip(self, min, max)

    clamp = clip

    def softmax(self, axis: int = -1) -> Tensor:
        return _F.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _F.log_softmax(self, axis=axis)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _F.logsumexp(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return _ops.transpose(self, None)


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _accumulate(leaf: Tensor, g: Any) -> None:
    """Add ``g`` into ``leaf.grad``, in the leaf's dtype, owning the memory."""
    if g.shape != leaf.data.shape:  # a 0-d result of a reduction, for instance
        g = xp.broadcast_to(g, leaf.data.shape)
    if leaf.grad is None:
        leaf.grad = xp.array(g, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad += g


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a tensor from a number, list or array: ``descend.tensor([1.0, 2.0])``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


from . import functional as _F  # noqa: E402  (circular by design: methods call the ops)
from . import ops as _ops  # noqa: E402
