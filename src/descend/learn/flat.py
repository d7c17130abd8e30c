"""One buffer for all parameters, so the optimizer updates them in one pass.

An optimizer's rule is elementwise: the update of one weight depends on that
weight, its gradient and its own state, nothing else. So updating every
parameter at once, over one flat buffer that holds them all, gives the same
numbers, bit for bit, as updating each in turn, with a handful of array
operations instead of a handful per parameter (a small MLP has four
parameters; its Adam step goes from ~45 to ~20 us).

``FlatParameters(params)`` moves the values of ``params`` into one buffer and
makes each ``p.data`` a view of it (the values are unchanged; an array taken
from ``p.data`` before is no longer the parameter's), and keeps a second buffer
whose views are the gradients. ``attach(optimizer)`` makes the optimizer's
``step()`` use it: the state arrays become views of flat state buffers, so the
per-parameter ``optimizer.state`` stays what it always was, and any step taken
one parameter at a time (a gradient that is not a view, a state loaded from a
file) works on the same memory.

>>> import numpy as np, descend
>>> from descend.learn.optim import SGD
>>> a = descend.tensor([1.0, 2.0], requires_grad=True); b = descend.tensor([3.0], requires_grad=True)
>>> flat = FlatParameters([a, b]); opt = SGD([a, b], lr=0.5); flat.attach(opt)
True
>>> (a * b).sum().backward(); opt.step(); flat.data
array([-0.5,  0.5,  1.5])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from .._validation import Constraints, Satisfies, check, register
from ..engine.backend import xp
from ..engine.tensor import Tensor
from .optim import Optimizer
from .updates import (
    State,
    adagrad_update,
    adam_update,
    adamw_update,
    rmsprop_update,
    sgd_update,
)

ELEMENTWISE: tuple[Callable[..., Any], ...] = (
    sgd_update,
    adam_update,
    adamw_update,
    rmsprop_update,
    adagrad_update,
)
"""The update rules that treat each value on its own: only they may run over the buffer."""


class FlatParameters:
    """The parameters as views of one buffer (``data``), their gradients of another (``grad``).

    All parameters must share one dtype (``fits`` says whether they do).
    """

    def __init__(self, params: Sequence[Tensor]) -> None:
        check("FlatParameters", self._constraints, {"params": params})
        self.params = list(params)
        sizes = [p.data.size for p in self.params]
        ends = list(itertools.accumulate(sizes))
        self._slices = [slice(end - size, end) for size, end in zip(sizes, ends)]
        dtype = self.params[0].data.dtype
        self.data = xp.empty(ends[-1], dtype)
        self.grad = xp.zeros(ends[-1], dtype)
        self.views = self._views(self.data)
        self.grads = self._views(self.grad)
        for p, view in zip(self.params, self.views):
            view[...] = p.data
            p.data = view
        self._state: State = {}  # the flat state arrays the per-parameter state views
        self._split: dict[str, list[Any]] = {}  # their views, one per parameter
        self._states: list[State] | None = None  # the optimizer's list and dicts, as last set
        self._dicts: list[State] = []

    @staticmethod
    def fits(params: Sequence[Tensor]) -> bool:
        """Whether ``params`` can share a buffer: at least one, distinct, one float dtype."""
        if not params or len({id(p) for p in params}) != len(params):
            return False
        dtype = params[0].data.dtype
        return dtype.kind == "f" and all(p.data.dtype == dtype for p in params)

    _constraints: Constraints = {
        "params": [
            Satisfies(fits, "at least one tensor, each listed once, of one floating dtype", [])
        ]
    }

    def _views(self, buffer: Any) -> list[Any]:
        return [buffer[s].reshape(p.data.shape) for s, p in zip(self._slices, self.params)]

    def attach(self, optimizer: Optimizer) -> bool:
        """Let ``optimizer.step()`` update the buffer at once; False (and nothing changed)
        when its rule is not elementwise or it optimizes other parameters."""
        same = len(optimizer.params) == len(self.params) and all(
            a is b for a, b in zip(optimizer.params, self.params)
        )
        if not same or optimizer._update not in ELEMENTWISE:
            return False
        optimizer.flat = self
        return True

    # ----- the update -------------------------------------------------------------------
    def update(
        self, rule: Callable[..., Any], states: list[State], hyperparameters: dict[str, Any]
    ) -> bool:
        """One step of ``rule`` over the whole buffer, the state kept as per-parameter views.

        Returns False, having changed nothing, when a parameter no longer lives in the
        buffer, a gradient is missing, or the state does not line up (the parameters were
        stepped one at a time with different counts): the caller then updates each one.
        """
        if not self._in_buffer():
            return False
        current = self._is_current(states)
        state = self._state if current else self._merged(states)
        if state is None:
            return False
        _, new = rule(self.data, self.grad, state, **hyperparameters, inplace=True)
        self._hand_out(new, states, rebuild=not current)
        return True

    def _in_buffer(self) -> bool:
        """Whether every value and gradient is a view of the buffers; a gradient computed
        elsewhere (eager backward) is copied in."""
        stray = []
        for p, view, grad in zip(self.params, self.views, self.grads):
            if p.data is not view:
                return False
            if p.grad is not grad:
                if p.grad is None or p.grad.shape != grad.shape:
                    return False
                stray.append((p, grad))
        for p, grad in stray:
            xp.copyto(grad, p.grad)
            p.grad = grad
        return True

    def _is_current(self, states: list[State]) -> bool:
        """Whether ``states`` are the dicts this buffer last handed out, untouched since."""
        if states is not self._states or len(states) != len(self._dicts):
            return False
        return all(given is mine for given, mine in zip(states, self._dicts))

    def _merged(self, states: list[State]) -> State | None:
        """The flat state for per-parameter ``states``: their arrays where they are views
        of it already, copied in where not (None when they do not line up)."""
        if len(states) != len(self.params):
            return None
        keys = set(states[0])
        if any(set(s) != keys for s in states):
            return None
        merged: State = {}
        for key in keys:
            values = [s[key] for s in states]
            if isinstance(values[0], int):  # a step count: the same for every parameter
                if any(v != values[0] for v in values):
                    return None
                merged[key] = values[0]
            elif key in self._split and all(v is m for v, m in zip(values, self._split[key])):
                merged[key] = self._state[key]
            else:
                merged[key] = self._gathered(values)
                if merged[key] is None:
                    return None
        return merged

    def _gathered(self, values: list[Any]) -> Any:
        """One flat array from per-parameter arrays (None if one has the wrong shape)."""
        if any(xp.shape(v) != p.data.shape for v, p in zip(values, self.params)):
            return None
        flat = xp.empty_like(self.data)
        for view, value in zip(self._views(flat), values):
            view[...] = value
        return flat

    def _hand_out(self, new: State, states: list[State], rebuild: bool) -> None:
        """Make ``new`` the state: per-parameter views of its arrays in ``states``."""
        old, self._state = self._state, new
        changed = rebuild or new.keys() != old.keys()
        counts = []
        for key, value in new.items():
            if isinstance(value, int):
                counts.append((key, value))
            elif value is not old.get(key):
                self._split[key] = self._views(value)
                changed = True
        if changed:
            states[:] = [
                {k: v if isinstance(v, int) else self._split[k][i] for k, v in new.items()}
                for i in range(len(self.params))
            ]
            self._states, self._dicts = states, list(states)
            return
        for state in self._dicts:  # the same arrays: only the step counts move on
            for key, value in counts:
                state[key] = value


register(FlatParameters, FlatParameters._constraints)
