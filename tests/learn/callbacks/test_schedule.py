"""Tests for descend.learn.callbacks.schedule: LearningRateSchedule sets the optimizer's rate
before each epoch from the schedule, the base rate and the loss of the epoch before."""

from __future__ import annotations

import pytest

from descend.learn.callbacks import LearningRateSchedule
from descend.learn.schedules import ReduceOnPlateau, Schedule, StepDecay


def test_a_step_decay_halves_the_rate_every_two_epochs_and_leaves_the_base(make_run):
    run = make_run(lr=0.4)
    callback = LearningRateSchedule(StepDecay(step_size=2, gamma=0.5))
    rates = []
    for epoch in range(5):
        run.epoch = epoch
        callback.on_epoch_begin(run)
        rates.append(run.optimizer.lr)
    assert rates == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1], rel=1e-15)
    assert run.optimizer.base_lr == 0.4


class Seen(Schedule):
    """Remembers what it was called with; the rate is the base rate over (epoch + 1)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, epoch, base_lr, loss=None):
        self.calls.append((epoch, base_lr, loss))
        return base_lr / (epoch + 1)


def test_the_schedule_sees_the_loss_of_the_epoch_before_and_a_cut_base(make_run):
    run = make_run(lr=0.3)
    seen = Seen()
    callback = LearningRateSchedule(seen)
    callback.on_epoch_begin(run)  # epoch 0: no loss yet
    run.history.record(loss=2.5)
    run.epoch = 1
    run.optimizer.set_lr(0.03, base=0.03)  # what a recovery does: it cuts the base rate
    callback.on_epoch_begin(run)
    assert seen.calls == [(0, 0.3, None), (1, 0.03, 2.5)]
    assert run.optimizer.lr == pytest.approx(0.015, rel=1e-15)


def test_a_plateau_schedule_continues_from_its_saved_state(make_run):
    first = LearningRateSchedule(ReduceOnPlateau(factor=0.5, patience=1))
    run = make_run(lr=1.0)
    for epoch, loss in enumerate([None, 1.0, 1.0, 1.0]):
        run.epoch = epoch
        if loss is not None:
            run.history.record(loss=loss)
        first.on_epoch_begin(run)
    later = LearningRateSchedule(ReduceOnPlateau(factor=0.5, patience=1))
    later.load_state_dict(first.state_dict())
    assert later.schedule.state_dict() == first.schedule.state_dict()
    again = make_run(lr=1.0)
    again.history.record(loss=1.0)
    again.epoch = 4
    first.on_epoch_begin(run)
    later.on_epoch_begin(again)
    assert again.optimizer.lr == run.optimizer.lr < 1.0
