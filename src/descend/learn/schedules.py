"""Learning-rate schedules: the rate for each epoch, from the base rate.

A schedule is called once at the start of every epoch (0-based) with the
base learning rate and the loss of the epoch before (None at epoch 0), and
returns the rate for that epoch; the ``LearningRateSchedule`` callback gives it to the
optimizer, which owns the rate::

    optimizer.set_lr(schedule(epoch, optimizer.base_lr, last_loss))

Every schedule but ``ReduceOnPlateau`` is a closed form in the epoch, as
PyTorch's ``_get_closed_form_lr`` and scikit-learn's ``invscaling``.

>>> schedule = StepDecay(step_size=2, gamma=0.5)
>>> [schedule(epoch, 0.1) for epoch in range(5)]
[0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import Any, ClassVar

from .._validation import Constraints, Interval, at_least, by_name, check, non_negative, register
from ..errors import InputError


class Schedule(abc.ABC):
    """Base class: ``schedule(epoch, base_lr, loss=None)`` is the rate for ``epoch``.

    >>> Constant()(epoch=7, base_lr=0.1)
    0.1
    """

    _constraints: ClassVar[Constraints] = {}

    @abc.abstractmethod
    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        """The learning rate for ``epoch`` (0-based), given the loss of the epoch before."""

    def state_dict(self) -> dict[str, Any]:
        """What the schedule has learned from the losses so far (nothing, here)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue from ``state_dict()``; a closed-form schedule keeps no state."""
        if state_dict != {}:
            raise InputError(
                f"{type(self).__name__} keeps no state, so its state_dict is {{}}; "
                f"got {state_dict!r}."
            )

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({settings})"


class Constant(Schedule):
    """The base rate at every epoch: ``Constant()(3, 0.1)`` is 0.1."""

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        return float(base_lr)


class StepDecay(Schedule):
    """``base_lr * gamma ** (epoch // step_size)`` (PyTorch's StepLR): ``StepDecay(10, 0.5)``.

    >>> StepDecay(step_size=10, gamma=0.5)(epoch=25, base_lr=1.0)
    0.25
    """

    _constraints: ClassVar[Constraints] = {
        "step_size": [at_least(1)],
        "gamma": [Interval(float, 0, 1, "right")],
    }

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        check("StepDecay", self._constraints, {"step_size": step_size, "gamma": gamma})
        self.step_size = step_size
        self.gamma = gamma

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        return float(base_lr * self.gamma ** (epoch // self.step_size))


class Exponential(Schedule):
    """``base_lr * gamma ** epoch`` (PyTorch's ExponentialLR): ``Exponential(0.95)``.

    >>> Exponential(gamma=0.5)(epoch=3, base_lr=1.0)
    0.125
    """

    _constraints: ClassVar[Constraints] = {"gamma": [Interval(float, 0, 1, "right")]}

    def __init__(self, gamma: float) -> None:
        check("Exponential", self._constraints, {"gamma": gamma})
        self.gamma = gamma

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        return float(base_lr * self.gamma**epoch)


class Cosine(Schedule):
    """Cosine annealing from base_lr to eta_min over t_max epochs (PyTorch's closed form).

    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2``; past
    ``t_max`` the rate rises again (a cosine is periodic), so set ``t_max`` to
    the number of epochs.

    >>> Cosine(t_max=10)(epoch=5, base_lr=0.2)
    0.1
    """

    _constraints: ClassVar[Constraints] = {"t_max": [at_least(1)], "eta_min": [non_negative()]}

    def __init__(self, t_max: int, eta_min: float = 0.0) -> None:
        check("Cosine", self._constraints, {"t_max": t_max, "eta_min": eta_min})
        self.t_max = t_max
        self.eta_min = eta_min

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.t_max)) / 2
        return float(self.eta_min + (base_lr - self.eta_min) * cosine)


class InverseScaling(Schedule):
    """``base_lr / (epoch + 1) ** power_t`` (scikit-learn's 'invscaling', t = epoch + 1).

    >>> InverseScaling(power_t=0.5)(epoch=3, base_lr=1.0)
    0.5
    """

    _constraints: ClassVar[Constraints] = {"power_t": [non_negative()]}

    def __init__(self, power_t: float = 0.25) -> None:
        check("InverseScaling", self._constraints, {"power_t": power_t})
        self.power_t = power_t

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        return float(base_lr / (epoch + 1) ** self.power_t)


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when the loss stops improving (PyTorch's, mode 'min', 'rel').

    A loss improves on the best so far when it is below ``best * (1 - threshold)``.
    After more than ``patience`` epochs without improvement the schedule cuts
    once more, and the next ``cooldown`` epochs are not counted. The rate is
    ``max(base_lr * factor ** cuts, min_lr)``: the schedule keeps the number of
    cuts, not a rate of its own, so a cut of the base (a divergence recovery)
    carries through. Call it once per epoch with the loss of the epoch before
    (None: nothing new to read); a second call for the same epoch counts nothing.

    >>> schedule = ReduceOnPlateau(factor=0.5, patience=1)
    >>> [schedule(epoch, 1.0, loss) for epoch, loss in enumerate([None, 3.0, 3.0, 3.0])]
    [1.0, 1.0, 1.0, 0.5]
    """

    _constraints: ClassVar[Constraints] = {
        "factor": [Interval(float, 0, 1, "neither")],
        "patience": [non_negative(int)],
        "threshold": [Interval(float, 0, 1, "left")],
        "min_lr": [non_negative()],
        "cooldown": [non_negative(int)],
    }

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        min_lr: float = 0.0,
        cooldown: int = 0,
    ) -> None:
        check("ReduceOnPlateau", self._constraints, dict(locals()))
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_lr = min_lr
        self.cooldown = cooldown
        self.cuts_ = 0
        self.best_ = math.inf
        self.num_bad_epochs_ = 0
        self.cooldown_counter_ = 0
        self.last_epoch_: int | None = None

    def __call__(self, epoch: int, base_lr: float, loss: float | None = None) -> float:
        if loss is not None and epoch != self.last_epoch_:
            self.last_epoch_ = epoch
            self._count(float(loss))
        return float(max(base_lr * self.factor**self.cuts_, self.min_lr))

    def _count(self, loss: float) -> None:
        if loss < self.best_ * (1 - self.threshold):
            self.best_ = loss
            self.num_bad_epochs_ = 0
        else:
            self.num_bad_epochs_ += 1
        if self.cooldown_counter_ > 0:
            self.cooldown_counter_ -= 1
            self.num_bad_epochs_ = 0
        if self.num_bad_epochs_ > self.patience:
            self.cuts_ += 1
            self.cooldown_counter_ = self.cooldown
            self.num_bad_epochs_ = 0

    _STATE = ("cuts", "best", "num_bad_epochs", "cooldown_counter", "last_epoch")

    def state_dict(self) -> dict[str, Any]:
        """The cuts, best loss and counters so far (``best`` is inf before the first loss)."""
        return {key: getattr(self, key + "_") for key in self._STATE}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue from ``state_dict()``; raise InputError if its keys differ."""
        if not isinstance(state_dict, dict) or set(state_dict) != set(self._STATE):
            raise InputError(
                f"ReduceOnPlateau.load_state_dict expects the dict made by state_dict(), "
                f"with keys {', '.join(self._STATE)}; got {state_dict!r}."
            )
        for key in self._STATE:
            setattr(self, key + "_", state_dict[key])


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "invscaling": InverseScaling,
    "plateau": ReduceOnPlateau,
}
"""Schedule classes by name."""

for _cls in SCHEDULES.values():
    if _cls is not Constant:
        register(_cls, _cls._constraints)


def make_schedule(name_or_schedule: str | Schedule, **kwargs: Any) -> Schedule:
    """A schedule by name (case-insensitive), or the given Schedule unchanged.

    >>> make_schedule("cosine", t_max=100)
    Cosine(t_max=100, eta_min=0.0)
    """
    if isinstance(name_or_schedule, Schedule):
        return name_or_schedule
    cls = by_name(SCHEDULES, name_or_schedule, "schedule", "pass a Schedule")
    needed = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in kwargs
    ]
    if needed:
        example = ", ".join(f"{name}=..." for name in needed)
        raise InputError(
            f"The schedule {name_or_schedule!r} needs {', '.join(repr(n) for n in needed)}; "
            f"pass schedule={cls.__name__}({example})."
        )
    return cls(**kwargs)
