"""Optimizers: parameters, the learning rate, per-parameter state, and ``step()``.

The math of each optimizer is one pure function in ``learn/updates.py``
(``sgd_update``, ``adam_update``, ...), which this module also exports.
An ``Optimizer`` holds the parameters (a list of Tensors), the learning rate
``lr`` (it owns it: schedules, recovery and users change it with ``set_lr``), and one state dict per parameter.
``step()`` calls the pure function for every parameter that has a gradient,
in place: ``p.data`` keeps its memory, so other references to the array see
the new weights.

>>> import descend
>>> w = descend.tensor([1.0, 2.0], requires_grad=True)
>>> optimizer = SGD([w], lr=0.1)
>>> (w * w).sum().backward(); optimizer.step(); w
tensor([0.8, 1.6], requires_grad=True)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from .._validation import (
    Boolean,
    Constraints,
    Interval,
    Pair,
    Requires,
    by_name,
    check,
    non_negative,
    positive,
    register,
)
from ..engine.backend import xp
from ..engine.tensor import Tensor
from ..errors import InputError
from .updates import (
    State,
    adagrad_update,
    adam_update,
    adamw_update,
    rmsprop_update,
    sgd_update,
)


# ----- optimizers: parameters, state, step() ----------------------------------------
def _tensors(params: Any, owner: str) -> list[Tensor]:
    """A single Tensor or an iterable of Tensors, as a list; InputError for anything else."""
    if isinstance(params, Tensor):
        return [params]
    if not isinstance(params, Iterable):
        raise InputError(
            f"{owner} expects a list of Tensors but got {type(params).__name__}; "
            "pass the model's parameters, such as model.parameters()."
        )
    tensors = list(params)
    for i, p in enumerate(tensors):
        if not isinstance(p, Tensor):
            raise InputError(
                f"Parameter {i} given to {owner} is a {type(p).__name__}, not a Tensor."
            )
    return tensors


def _parameter_list(params: Any, owner: str) -> list[Tensor]:
    """``params`` as a list of distinct leaf Tensors that require gradients, or InputError."""
    if isinstance(params, Tensor):
        raise InputError(
            f"{owner} expects a list of parameters but got a single Tensor; "
            f"wrap it in a list: {owner}([w])."
        )
    if isinstance(params, (set, frozenset)):
        raise InputError(
            f"{owner} expects the parameters as a list but got a set, whose order changes "
            "from run to run (and the state must line up with the parameters). "
            "Pass a list in a fixed order, such as list(model.parameters())."
        )
    params = _tensors(params, owner)
    if not params:
        raise InputError(
            f"{owner} got an empty parameter list: there is nothing to optimize. "
            f"Pass the model's parameters, such as {owner}(model.parameters())."
        )
    seen: set[int] = set()
    for i, p in enumerate(params):
        if not p.requires_grad:
            raise InputError(
                f"Parameter {i} given to {owner} (shape {p.shape}) does not require gradients, "
                "so it would never change. Create it with requires_grad=True, or leave it out."
            )
        if not p.is_leaf:
            raise InputError(
                f"Parameter {i} given to {owner} (shape {p.shape}) was computed by an op "
                f"({p._op}); optimize the tensors you created, not results computed from them."
            )
        if id(p) in seen:
            raise InputError(
                f"Parameter {i} given to {owner} (shape {p.shape}) appears twice in the list; "
                "it would be updated twice per step. List each parameter once."
            )
        seen.add(id(p))
    return params


_STEPS = {"step_count": [non_negative(int)], "step": [non_negative(int)]}
_UNIT = Interval(float, 0, 1, "left")  # [0, 1): momentum, averaging rates


class Optimizer:
    """Base class: parameters, learning rate, per-parameter state; step() applies ``_update``.

    A subclass names its pure update function and its state keys, passes its
    hyperparameters to ``__init__`` by keyword, and checks them in ``_check``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> Adam([w]).state_dict()["hyperparameters"]["lr"]
    0.001
    """

    _update: ClassVar[Callable[..., tuple[Any, State]]]
    _state_keys: ClassVar[tuple[str, ...]]
    flat: Any = None
    """The FlatParameters (learn/flat.py) ``step()`` updates at once, or None: each in turn."""
    _constraints: ClassVar[Constraints] = {"lr": [positive()]}

    params: list[Tensor]
    state: list[State]
    step_count: int

    def __init__(self, params: Iterable[Tensor], lr: float, **hyperparameters: Any) -> None:
        self.params = _parameter_list(params, type(self).__name__)
        self._check({"lr": lr, **hyperparameters})
        self._lr = self._base_lr = float(lr)
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self._names = ("lr", *hyperparameters)
        self.state = [{} for _ in self.params]
        self.step_count = 0

    @property
    def lr(self) -> float:
        """The learning rate of the next steps (the optimizer is its one owner)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.set_lr(value)

    @property
    def base_lr(self) -> float:
        """The rate schedules scale from: the constructor's ``lr``, as cut by recoveries."""
        return self._base_lr

    def set_lr(self, lr: float, base: float | None = None) -> None:
        """The one way the learning rate changes: schedules, plateau cuts, divergence
        recovery and users all call it. ``base`` also moves the rate schedules scale from."""
        name = type(self).__name__
        check(name, {"lr": self._constraints["lr"]}, {"lr": lr})
        if base is not None:
            check(name, {"lr": self._constraints["lr"]}, {"lr": base})
            self._base_lr = float(base)
        self._lr = float(lr)

    _rules: ClassVar[tuple[Requires, ...]] = ()
    """Rules between hyperparameters (SGD: nesterov needs momentum)."""

    def _check(self, hyperparameters: dict[str, Any]) -> None:
        """Raise InputError for a hyperparameter outside its constraints or their rules."""
        check(type(self).__name__, self._constraints, hyperparameters, self._rules)

    def hyperparameters(self) -> dict[str, Any]:
        """The current hyperparameters by name, lr included: ``SGD([w]).hyperparameters()``."""
        return {name: getattr(self, name) for name in self._names}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place: ``loss.backward(); opt.step()``."""
        hyperparameters = self.hyperparameters()
        update = self._update
        state = self.state
        if self.flat is None or not self.flat.update(update, state, hyperparameters):
            for i, p in enumerate(self.params):
                grad = p.grad
                if grad is not None:  # the update writes p.data and the state arrays in place
                    _, state[i] = update(p.data, grad, state[i], **hyperparameters, inplace=True)
        self.step_count += 1

    def reset_state(self) -> None:
        """Forget the per-parameter state (momentum, averages), as after a divergence."""
        self.state = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad`` becomes None): ``opt.zero_grad()``."""
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """A snapshot to save: ``{'optimizer', 'hyperparameters', 'step_count', 'state'}``.

        Everything is JSON-able except the state arrays, which are copies.
        """
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step_count": self.step_count,
            "state": [{key: _copy(value) for key, value in s.items()} for s in self.state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue from a snapshot of ``state_dict()``; raise InputError if it does not fit."""
        name = type(self).__name__
        expected = ("optimizer", "hyperparameters", "step_count", "state")
        if not isinstance(state_dict, dict) or set(state_dict) != set(expected):
            found = (
                sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            )
            raise InputError(
                f"{name}.load_state_dict expects the dict made by state_dict(), with keys "
                f"{', '.join(expected)}; got {found}."
            )
        if state_dict["optimizer"] != name:
            raise InputError(
                f"This optimizer state was saved by {state_dict['optimizer']}; "
                f"it cannot be loaded into {name}. Make a {state_dict['optimizer']} instead."
            )
        hyperparameters = dict(state_dict["hyperparameters"])
        if set(hyperparameters) != set(self._names):
            raise InputError(
                f"The saved hyperparameters of {name} are {sorted(hyperparameters)}; "
                f"expected {sorted(self._names)}."
            )
        self._check(hyperparameters)
        check(f"{name}'s state", _STEPS, {"step_count": state_dict["step_count"]})
        saved = state_dict["state"]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self.params):
            count = len(saved) if isinstance(saved, (list, tuple)) else type(saved).__name__
            raise InputError(
                f"The saved state of {name} is for {count} parameters, but this optimizer "
                f"has {len(self.params)}. Load it into an optimizer over the same parameters."
            )
        states = [self._loaded_state(i, s) for i, s in enumerate(saved)]
        lr = hyperparameters.pop("lr")
        self.set_lr(lr, base=lr)  # the saved rate, and the schedules' base with it
        for key, value in hyperparameters.items():
            setattr(self, key, value)
        self.step_count = state_dict["step_count"]
        self.state = states

    def _loaded_state(self, i: int, saved: Any) -> State:
        """Parameter ``i``'s saved state, checked against the parameter and copied."""
        name, param = type(self).__name__, self.params[i].data
        if not isinstance(saved, dict) or not set(saved) <= set(self._state_keys):
            raise InputError(
                f"The saved state of parameter {i} of {name} has keys "
                f"{sorted(saved) if isinstance(saved, dict) else type(saved).__name__}; "
                f"{name} keeps only {', '.join(self._state_keys)}."
            )
        state: State = {}
        for key, value in saved.items():
            if key == "step":
                check(f"{name}'s state of parameter {i}", _STEPS, {"step": value})
                state[key] = int(value)
                continue
            array = xp.asarray(value)
            if array.shape != param.shape:
                raise InputError(
                    f"The saved {key!r} of parameter {i} of {name} has shape {array.shape}, "
                    f"but the parameter has shape {param.shape}. Load it into an optimizer "
                    "over the same model."
                )
            state[key] = xp.array(array, dtype=param.dtype, copy=True)
        return state

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings})"


def _copy(value: Any) -> Any:
    """A state value to hand out: arrays copied, the int step as is."""
    return value if isinstance(value, int) else xp.array(value, copy=True)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum: ``SGD(params, lr=0.1)``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
    """

    _update = staticmethod(sgd_update)
    _state_keys = ("velocity",)
    momentum: float
    nesterov: bool
    weight_decay: float

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )

    _constraints: ClassVar[Constraints] = {
        **Optimizer._constraints,
        "momentum": [_UNIT],
        "nesterov": [Boolean()],
        "weight_decay": [non_negative()],
    }

    _rules: ClassVar[tuple[Requires, ...]] = (
        Requires("nesterov", True, "momentum", lambda m: m > 0, "momentum > 0",
                 "Pass a momentum such as 0.9, or nesterov=False."),
    )  # fmt: skip


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), optionally AMSGrad: ``Adam(params, lr=0.001)``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> Adam([w], amsgrad=True).amsgrad
    True
    """

    _update = staticmethod(adam_update)
    _state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    amsgrad: bool

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

    _constraints: ClassVar[Constraints] = {
        **Optimizer._constraints,
        "betas": [Pair(_UNIT)],
        "eps": [positive()],
        "weight_decay": [non_negative()],
        "amsgrad": [Boolean()],
    }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``AdamW(params)``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> AdamW([w]).weight_decay
    0.01
    """

    _update = staticmethod(adamw_update)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum: ``RMSprop(params, lr=0.01)``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> RMSprop([w], centered=True).alpha
    0.99
    """

    _update = staticmethod(rmsprop_update)
    _state_keys = ("square_avg", "grad_avg", "velocity")
    alpha: float
    eps: float
    momentum: float
    centered: bool
    weight_decay: float

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr,
            alpha=alpha,
            eps=eps,
            momentum=momentum,
            centered=centered,
            weight_decay=weight_decay,
        )

    _constraints: ClassVar[Constraints] = {
        **Optimizer._constraints,
        "alpha": [_UNIT],
        "eps": [positive()],
        "momentum": [_UNIT],
        "centered": [Boolean()],
        "weight_decay": [non_negative()],
    }


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), optionally with a decaying rate: ``Adagrad(params)``.

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> Adagrad([w], lr_decay=0.01).eps
    1e-10
    """

    _update = staticmethod(adagrad_update)
    _state_keys = ("step", "sum_sq")
    lr_decay: float
    weight_decay: float
    initial_accumulator_value: float
    eps: float

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    _constraints: ClassVar[Constraints] = {
        **Optimizer._constraints,
        "lr_decay": [non_negative()],
        "weight_decay": [non_negative()],
        "initial_accumulator_value": [non_negative()],
        "eps": [positive()],
    }


# ----- gradient norms -----------------------------------------------------------------
def global_grad_norm(params: Tensor | Iterable[Tensor]) -> float:
    """The L2 norm of all gradients together, as if concatenated (None grads skipped).

    >>> import descend
    >>> a = descend.tensor([0.0, 0.0], requires_grad=True); a.grad = xp.array([3.0, 4.0])
    >>> global_grad_norm([a])
    5.0
    """
    grads = [p.grad for p in _tensors(params, "global_grad_norm") if p.grad is not None]
    return math.sqrt(sum(float(xp.vdot(g, g)) for g in grads))


def clip_grad_norm(params: Tensor | Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping. As ``torch.nn.utils.clip_grad_norm_``,
    gradients are multiplied by ``max_norm / (norm + 1e-6)`` when that is below 1.
    A non-finite norm is returned and the gradients are left alone.

    >>> import descend
    >>> a = descend.tensor([0.0, 0.0], requires_grad=True); a.grad = xp.array([3.0, 4.0])
    >>> clip_grad_norm([a], max_norm=1.0), a.grad.round(6)
    (5.0, array([0.6, 0.8]))
    """
    check("clip_grad_norm", {"max_norm": [positive()]}, {"max_norm": max_norm})
    tensors = _tensors(params, "clip_grad_norm")
    norm = global_grad_norm(tensors)
    scale = max_norm / (norm + 1e-6)
    if scale < 1 and math.isfinite(norm):
        for p in tensors:
            if p.grad is not None:
                p.grad *= scale
    return norm


# ----- by name ------------------------------------------------------------------------
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": SGD,
    "momentum": functools.partial(SGD, momentum=0.9),
    "nesterov": functools.partial(SGD, momentum=0.9, nesterov=True),
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}
"""Optimizer factories by name; 'momentum' and 'nesterov' are SGD with momentum 0.9."""

for _cls in (SGD, Adam, AdamW, RMSprop, Adagrad):
    register(_cls, _cls._constraints)


def make_optimizer(
    name_or_optimizer: str | Optimizer,
    params: Iterable[Tensor],
    lr: float | None = None,
    **kwargs: Any,
) -> Optimizer:
    """An optimizer by name (case-insensitive), or the given Optimizer unchanged.

    ``lr=None`` keeps the optimizer's default rate; ``kwargs`` override the
    preset (``make_optimizer('momentum', params, 0.1, momentum=0.5)``).

    >>> import descend
    >>> w = descend.tensor([1.0], requires_grad=True)
    >>> make_optimizer("Nesterov", [w], lr=0.1)
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
    """
    if isinstance(name_or_optimizer, Optimizer):
        return name_or_optimizer
    cls = by_name(OPTIMIZERS, name_or_optimizer, "optimizer", "pass an Optimizer")
    if lr is not None:
        kwargs["lr"] = lr
    return cls(params, **kwargs)
