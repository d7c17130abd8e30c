"""Check analytical gradients against central differences, in float64.

>>> import descend
>>> descend.gradcheck(lambda x: (x * x).sum(), descend.tensor([1.0, 2.0]))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._validation import non_negative, positive, validate_params
from .backend import xp
from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with finite differences."""


def numerical_gradient(f: Callable[[], float], array: Any, eps: float = 1e-6) -> Any:
    """Central differences of the scalar ``f()`` with respect to each element of ``array``.

    ``array`` is changed in place during the computation and restored after.
    """
    grad = xp.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        flat_grad[i] = (up - down) / (2 * eps)
    return grad


@validate_params(
    {"eps": [positive()], "atol": [non_negative()], "rtol": [non_negative()],
     "seed": [non_negative(int)]}
)  # fmt: skip
def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backward() with central differences for every input of ``fn``.

    Inputs are copied to float64 tensors that require gradients. A non-scalar
    output is reduced with fixed random weights, so every element is checked.
    Returns True, or raises GradcheckError naming the input, the worst element
    and both values.
    """
    leaves = [Tensor(xp.array(_raw(x), dtype=xp.float64), requires_grad=True) for x in inputs]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor; it returned {type(out).__name__}.")
    weights = xp.random.default_rng(seed).standard_normal(out.shape)

    def scalar() -> float:
        with no_grad():
            return float((xp.asarray(fn(*leaves).data) * weights).sum())

    out.backward(xp.asarray(weights, dtype=out.dtype))
    for position, leaf in enumerate(leaves):
        analytical = leaf.grad if leaf.grad is not None else xp.zeros_like(leaf.data)
        numerical = numerical_gradient(scalar, leaf.data, eps)
        error = xp.abs(analytical - numerical) - (atol + rtol * xp.abs(numerical))
        error = xp.where(xp.isfinite(error), error, xp.inf)  # NaN or inf on either side fails
        if error.size and error.max() > 0:
            worst = xp.unravel_index(int(xp.argmax(error)), error.shape)
            where = f"element {tuple(int(i) for i in worst)}" if error.ndim else "its value"
            raise GradcheckError(
                f"gradcheck: input {position} (shape {leaf.shape}) disagrees at {where}: "
                f"backward() gives {analytical[worst]!r}, finite differences give "
                f"{numerical[worst]!r} (atol={atol}, rtol={rtol}, eps={eps})."
            )
    return True


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x
