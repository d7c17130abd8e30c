"""LearningRateSchedule: set the optimizer's rate at the start of each epoch (Keras' callback)."""

from __future__ import annotations

from typing import Any

from ..schedules import Schedule
from .base import Callback, Run


class LearningRateSchedule(Callback):
    """Before each epoch, ``optimizer.set_lr(schedule(epoch, optimizer.base_lr, last_loss))``.

    The optimizer owns the rate; the schedule only computes it from the base rate
    (which a divergence recovery cuts) and the loss of the epoch before.
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, run: Run) -> None:
        loss = run.history.loss
        optimizer = run.optimizer
        optimizer.set_lr(self.schedule(run.epoch, optimizer.base_lr, loss[-1] if loss else None))

    def state_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.schedule.load_state_dict(state["schedule"])
