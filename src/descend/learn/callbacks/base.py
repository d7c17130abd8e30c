"""What a callback sees (``Run``) and the hooks it may override (``Callback``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..._validation import Satisfies
from ..history import History
from ..penalty import L2


@dataclass
class Cursor:
    """How far the current epoch has come: minibatches done, the sums of their losses and
    rows, the gradient norm of the last step; what a resumed run continues from."""

    batch: int = 0
    total: float = 0.0
    seen: float = 0.0
    norm: float = math.nan

    def advance(self, total: float, seen: float, norm: float) -> None:
        self.batch += 1
        self.total += total
        self.seen += seen
        self.norm = norm


class Run:
    """What a callback may see and do during training: the model, the optimizer, the
    training rows and their loss, the history so far, stopping, and snapshots of the weights."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        history: History,
        data: Any,
        loss_fn: Any,
        log: Callable[[str], None] = print,
        has_validation: bool = False,
        rng: Any = None,
        penalty: L2 | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.history = history
        self.data = data
        self.loss_fn = loss_fn
        self.params = model.parameters()
        self.log = log
        self.has_validation = has_validation
        self.callbacks: Sequence[Callback] = ()
        """Every callback of the run, in order (a checkpoint saves their state)."""
        self.rng = rng
        """The run's random numbers (the minibatch order), a NumPy Generator."""
        self.penalty = penalty or L2()
        self.penalised = self.penalty.weights(model) if self.penalty.alpha else []
        self.epoch = 0
        self.cursor = Cursor()
        self.epoch_start: list[Any] = self.snapshot()
        """The weights the current epoch started with (a full-batch epoch's loss is theirs)."""

    @property
    def stopping(self) -> bool:
        return self.history.stop_reason is not None

    def stop(self, reason: str, message: str = "") -> None:
        """End the run after this epoch with ``reason`` (one of History's stop reasons)."""
        if self.history.stop_reason is None:
            self.history.stop_reason = reason
            self.history.stop_message = message

    def snapshot(self) -> list[Any]:
        """A copy of every parameter's values."""
        return [p.data.copy() for p in self.params]

    def restore(self, snapshot: list[Any]) -> None:
        """Put the values of a snapshot back into the parameters (in place)."""
        for p, values in zip(self.params, snapshot):
            p.data[...] = values

    def evaluate(self) -> float:
        """The loss of the current weights on all the training rows (one pass, no graph),
        with the L2 penalty when there is one: the loss the run minimises."""
        return float(self.data.loss(self.model, self.loss_fn)) + self.penalty.value(self.penalised)


class Callback:
    """Base class: override any of the hooks; each receives the Run."""

    def on_train_begin(self, run: Run) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, run: Run) -> None:
        """Called before each epoch (``run.epoch`` is its number)."""

    def on_batch_end(self, run: Run) -> None:
        """Called after each minibatch step (``run.cursor`` counts them)."""

    def on_epoch_end(self, run: Run) -> None:
        """Called after each epoch, once its numbers are in the history."""

    def on_train_end(self, run: Run) -> None:
        """Called once after the last epoch (also after an interrupt), when
        ``history.final_loss`` holds the loss of the weights as they are."""

    def state_dict(self) -> dict[str, Any]:
        """What the callback has learned in this run (its attributes ending in ``_``), for a
        checkpoint: numbers, strings, None, arrays, and lists and dicts of them."""
        return {k: v for k, v in vars(self).items() if k.endswith("_")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state_dict()`` (called after ``on_train_begin`` of a resumed run)."""
        vars(self).update(state)


def are_callbacks(value: Any) -> bool:
    """A list or tuple of Callbacks (a run's ``callbacks`` parameter)."""
    return isinstance(value, (list, tuple)) and all(isinstance(cb, Callback) for cb in value)


CALLBACKS = Satisfies(are_callbacks, "a list of descend.callbacks.Callback", invalid=[1])
"""The constraint on a ``callbacks`` parameter (fit's, the estimators')."""


def recovered_now(run: Run) -> bool:
    """True when Divergence recovered in this epoch (put back older weights, cut the rate)."""
    events = run.history.events
    return (
        bool(events)
        and events[-1].get("epoch") == run.epoch
        and (events[-1].get("event") == "recovered")
    )
