"""The update rules of the optimizers, as pure functions on arrays (optax's idea)::

    new_param, new_state = sgd_update(param, grad, state, lr=..., momentum=..., ...)

Each reads ``state`` (a dict of arrays, ``{}`` before the first step) and returns a
new one, changing neither. With ``inplace=True`` (what ``Optimizer.step()`` passes)
the same math writes the new values into ``param`` and the state's arrays instead.
The rules are PyTorch's, step for step (``torch.optim.SGD`` with dampening 0,
``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``).
"""

from __future__ import annotations

import math
from typing import Any

from ..engine.backend import xp

State = dict[str, Any]
"""One parameter's optimizer state: named arrays, plus an int ``step`` where the rule counts."""


# ----- the update rules, as pure functions on arrays --------------------------------
def _scaled(state: State, key: str, param: Any, factor: float, inplace: bool) -> Any:
    """``state[key] * factor`` (zeros shaped like ``param`` before the first step):
    a new array, or the state's own array scaled in place when ``inplace``."""
    value = state.get(key)
    if value is None:
        return xp.zeros_like(param)
    return xp.multiply(value, factor, out=value if inplace else None)


def _apply(param: Any, step: Any, inplace: bool) -> Any:
    """``param - step``: a new array, or ``param`` itself changed when ``inplace``."""
    return xp.subtract(param, step, out=param if inplace else None)


def sgd_update(
    param: Any,
    grad: Any,
    state: State,
    *,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
    inplace: bool = False,
) -> tuple[Any, State]:
    """One SGD step: v = momentum*v + g (v = g at first), p -= lr*v (or lr*(g + momentum*v)).

    >>> sgd_update(xp.array([1.0]), xp.array([2.0]), {}, lr=0.1, momentum=0.0,
    ...            nesterov=False, weight_decay=0.0)
    (array([0.8]), {})
    """
    if weight_decay:
        grad = grad + weight_decay * param
    if not momentum:
        return _apply(param, lr * grad, inplace), state
    if "velocity" in state:
        velocity = _scaled(state, "velocity", param, momentum, inplace)
        velocity += grad
    else:
        velocity = xp.array(grad, copy=True)
    direction = grad + momentum * velocity if nesterov else velocity
    return _apply(param, lr * direction, inplace), {"velocity": velocity}


def adam_update(
    param: Any,
    grad: Any,
    state: State,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    inplace: bool = False,
) -> tuple[Any, State]:
    """One Adam step (Kingma & Ba, with bias correction; weight decay as an L2 term in g).

    >>> p, s = adam_update(xp.array([1.0]), xp.array([2.0]), {}, lr=0.1, betas=(0.9, 0.999),
    ...                    eps=1e-8, weight_decay=0.0, amsgrad=False)
    >>> p.round(6), s["step"]
    (array([0.9]), 1)
    """
    beta1, beta2 = betas
    if weight_decay:
        grad = grad + weight_decay * param
    step = state.get("step", 0) + 1
    exp_avg = _scaled(state, "exp_avg", param, beta1, inplace)
    exp_avg += (1 - beta1) * grad
    exp_avg_sq = _scaled(state, "exp_avg_sq", param, beta2, inplace)
    square = (1 - beta2) * grad  # (1 - beta2) * grad * grad, the second product in place
    square *= grad
    exp_avg_sq += square
    new_state = {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    second_moment = exp_avg_sq
    if amsgrad:
        previous = state.get("max_exp_avg_sq")
        second_moment = (
            xp.maximum(previous, exp_avg_sq, out=previous if inplace else None)
            if previous is not None
            else xp.array(exp_avg_sq, copy=True)
        )
        new_state["max_exp_avg_sq"] = second_moment
    # sqrt(v / c) + eps = (sqrt(v) + eps sqrt(c)) / sqrt(c), c = 1 - beta2^t: the bias
    # correction of v moves into the step size (Kingma & Ba, section 2), one op fewer
    correction = math.sqrt(1 - beta2**step)
    denom = xp.sqrt(second_moment)
    denom += eps * correction
    update = xp.divide(exp_avg, denom, out=denom)  # denom is ours: no new array
    update *= lr * correction / (1 - beta1**step)
    return _apply(param, update, inplace), new_state


def adamw_update(
    param: Any,
    grad: Any,
    state: State,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    inplace: bool = False,
) -> tuple[Any, State]:
    """One AdamW step: p *= 1 - lr*weight_decay (decoupled), then Adam without decay.

    >>> p, _ = adamw_update(xp.array([1.0]), xp.array([0.0]), {}, lr=0.1, betas=(0.9, 0.999),
    ...                     eps=1e-8, weight_decay=0.5, amsgrad=False)
    >>> p
    array([0.95])
    """
    decayed = xp.multiply(param, 1 - lr * weight_decay, out=param if inplace else None)
    return adam_update(
        decayed,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=0.0,
        amsgrad=amsgrad,
        inplace=inplace,
    )


def rmsprop_update(
    param: Any,
    grad: Any,
    state: State,
    *,
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    centered: bool,
    weight_decay: float,
    inplace: bool = False,
) -> tuple[Any, State]:
    """One RMSprop step: s = alpha*s + (1-alpha)*g*g, p -= lr*g/(sqrt(s) + eps).

    >>> p, s = rmsprop_update(xp.array([1.0]), xp.array([2.0]), {}, lr=0.1, alpha=0.75,
    ...                       eps=0.0, momentum=0.0, centered=False, weight_decay=0.0)
    >>> p, s["square_avg"]
    (array([0.8]), array([1.]))
    """
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg = _scaled(state, "square_avg", param, alpha, inplace)
    square_avg += (1 - alpha) * grad * grad
    new_state = {"square_avg": square_avg}
    if centered:
        grad_avg = _scaled(state, "grad_avg", param, alpha, inplace)
        grad_avg += (1 - alpha) * grad
        new_state["grad_avg"] = grad_avg
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    direction = grad / avg
    if momentum:
        velocity = _scaled(state, "velocity", param, momentum, inplace)
        velocity += direction
        direction = new_state["velocity"] = velocity
    return _apply(param, lr * direction, inplace), new_state


def adagrad_update(
    param: Any,
    grad: Any,
    state: State,
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    initial_accumulator_value: float,
    eps: float,
    inplace: bool = False,
) -> tuple[Any, State]:
    """One Adagrad step: s += g*g, p -= lr/(1 + (t-1)*lr_decay) * g/(sqrt(s) + eps).

    >>> p, s = adagrad_update(xp.array([1.0]), xp.array([2.0]), {}, lr=0.1, lr_decay=0.0,
    ...                       weight_decay=0.0, initial_accumulator_value=0.0, eps=0.0)
    >>> p, s["sum_sq"]
    (array([0.9]), array([4.]))
    """
    if weight_decay:
        grad = grad + weight_decay * param
    step = state.get("step", 0) + 1
    sum_sq = state.get("sum_sq")
    if sum_sq is None:
        sum_sq = xp.full_like(param, initial_accumulator_value)
    sum_sq = xp.add(sum_sq, grad * grad, out=sum_sq if inplace else None)
    step_lr = lr / (1 + (step - 1) * lr_decay)
    denom = xp.sqrt(sum_sq)
    denom += eps
    return _apply(param, step_lr * (grad / denom), inplace), {"step": step, "sum_sq": sum_sq}
