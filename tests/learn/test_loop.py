"""Tests for descend.learn.loop: the epochs of forward pass, loss, backward pass and weight
update, against gradient descent worked out by hand; stopping is a callback's decision and a
resumed epoch continues from its cursor."""

from __future__ import annotations

import numpy as np
import pytest

from descend.learn.callbacks import Callback, Cursor
from descend.learn.loop import loop


class Counting(Callback):
    """Counts the hooks the loop calls; stops the run at ``stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.begun: list[int] = []
        self.batches = 0

    def on_epoch_begin(self, run):
        self.begun.append(run.epoch)

    def on_batch_end(self, run):
        self.batches += 1

    def on_epoch_end(self, run):
        if run.epoch == self.stop_at:
            run.stop("early_stopping")


def test_full_batch_is_the_lessons_gradient_descent(make_run):
    # mse (w - 1)^2, lr 0.1: w <- w - 0.1 * 2 (w - 1), so w_t = 1 - 0.8^t from w = 0
    run = make_run(lr=0.1)
    loop(run, [], epochs=5)
    t = np.arange(5)
    np.testing.assert_allclose(run.history.loss, 0.64**t, rtol=1e-14)  # at each epoch's start
    np.testing.assert_allclose(run.history.grad_norm, 2 * 0.8**t, rtol=1e-14)
    assert run.history.lr == [0.1] * 5
    assert run.model.weight.data[0, 0] == pytest.approx(1 - 0.8**5, rel=1e-14)
    assert run.epoch_start[0][0, 0] == pytest.approx(1 - 0.8**4, rel=1e-14)
    assert run.history.stop_reason is None  # the loop records no reason: callbacks do


def test_minibatches_step_once_per_batch_and_record_their_mean_loss(make_run):
    x = np.array([1.0, 2.0, 3.0])
    run = make_run(lr=0.05, X=x[:, None], y=2 * x)
    counting = Counting()
    loop(run, [counting], epochs=2, batch_size=1, shuffle=False)
    w, expected = 0.0, []
    for _ in range(2):  # (w x - 2 x)^2 = x^2 (w - 2)^2, one row at a time, in order
        losses = []
        for xi in x:
            losses.append(xi**2 * (w - 2) ** 2)
            w -= 0.05 * 2 * xi**2 * (w - 2)
        expected.append(np.mean(losses))
    np.testing.assert_allclose(run.history.loss, expected, rtol=1e-13)
    assert run.model.weight.data[0, 0] == pytest.approx(w, rel=1e-13)
    assert counting.batches == 6 and counting.begun == [0, 1]
    assert run.cursor == Cursor()  # each epoch's cursor is left behind at its end


def test_a_callbacks_stop_ends_the_loop_after_that_epoch(make_run):
    run = make_run()
    loop(run, [Counting(stop_at=2)], epochs=100)
    assert run.history.epochs == 3 and run.epoch == 2
    assert run.history.stop_reason == "early_stopping"


def test_a_run_that_had_stopped_takes_no_step(make_run):
    run = make_run()
    run.stop("converged")
    loop(run, [], epochs=10)
    assert run.history.epochs == 0 and run.model.weight.data[0, 0] == 0.0


def test_a_resumed_epoch_continues_from_its_cursor(make_run):
    x = np.array([1.0, 2.0, 3.0])
    run = make_run(lr=0.05, X=x[:, None], y=2 * x)
    run.model.weight.data[...] = 0.5  # as if two batches had been taken
    run.cursor = Cursor(batch=2, total=7.0, seen=2.0)
    counting = Counting()
    loop(run, [counting], epochs=1, batch_size=1, shuffle=False)
    last = 3.0**2 * (0.5 - 2) ** 2  # the third row's loss at w = 0.5
    assert run.history.loss == [pytest.approx((7.0 + last) / 3, rel=1e-14)]
    assert counting.batches == 1 and counting.begun == []  # the epoch had begun already
    w = 0.5 - 0.05 * 2 * 9.0 * (0.5 - 2)
    assert run.model.weight.data[0, 0] == pytest.approx(w, rel=1e-14)


def test_clipping_scales_the_step_and_records_the_norm_before_it(make_run):
    run = make_run(lr=0.1)
    loop(run, [], epochs=1, clip_norm=0.5)  # the gradient at w = 0 is -2, clipped to -0.5
    assert run.history.grad_norm == [2.0]
    step = 0.1 * 2.0 * 0.5 / (2.0 + 1e-6)  # scaled by max_norm / (norm + 1e-6), as in PyTorch
    assert run.model.weight.data[0, 0] == pytest.approx(step, rel=1e-14)
