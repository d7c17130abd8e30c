"""Tests for descend.learn.callbacks.base: what a callback sees (Run, Cursor) and may do
(stop, snapshot and restore the weights, evaluate them), and the Callback base class."""

from __future__ import annotations

import numpy as np

from descend.learn.callbacks.base import Callback, Cursor, are_callbacks, recovered_now


def test_the_first_stop_is_the_one_recorded(make_run):
    run = make_run()
    assert not run.stopping
    run.stop("converged", "the loss stopped improving")
    run.stop("diverged", "too late")
    assert run.stopping
    assert (run.history.stop_reason, run.history.stop_message) == (
        "converged",
        "the loss stopped improving",
    )


def test_a_snapshot_is_a_copy_and_restore_writes_it_back_into_the_same_arrays(make_run):
    run = make_run()
    weight = run.model.weight
    weight.data[...] = 3.0
    snapshot = run.snapshot()
    weight.data[...] = 5.0
    assert snapshot[0].tolist() == [[3.0]]
    same_array = weight.data
    run.restore(snapshot)
    assert weight.data is same_array and weight.data.tolist() == [[3.0]]


def test_evaluate_is_the_mean_loss_of_the_weights_plus_the_penalty(make_run):
    plain, penalised = make_run(), make_run(alpha=0.5)
    for run in (plain, penalised):
        run.model.weight.data[...] = 2.0  # (2 - 1)^2 = 1; (0.5 / 2) * 2^2 = 1
    assert plain.evaluate() == 1.0
    assert penalised.evaluate() == 2.0


def test_the_cursor_adds_up_the_batches_and_keeps_the_last_norm():
    cursor = Cursor()
    cursor.advance(3.0, 2, 0.5)
    cursor.advance(1.5, 1, 0.25)
    assert (cursor.batch, cursor.total, cursor.seen, cursor.norm) == (2, 4.5, 3, 0.25)


class Counting(Callback):
    def __init__(self, patience: int = 3) -> None:
        self.patience = patience
        self.best_ = 1.5


def test_a_callback_saves_what_it_learned_and_not_its_settings():
    saved = Counting().state_dict()
    assert saved == {"best_": 1.5}
    later = Counting(patience=7)
    later.load_state_dict({"best_": 0.25})
    assert (later.patience, later.best_) == (7, 0.25)


def test_callbacks_are_a_list_or_tuple_of_callback_objects():
    assert are_callbacks([Counting()]) and are_callbacks((Counting(), Callback()))
    assert are_callbacks([])
    assert not are_callbacks(Counting()) and not are_callbacks([print])


def test_recovered_now_is_a_recovery_in_this_very_epoch(make_run):
    run = make_run()
    assert not recovered_now(run)
    run.epoch = 3
    run.history.events.append({"epoch": 3, "event": "recovered"})
    assert recovered_now(run)
    run.epoch = 4
    assert not recovered_now(run)
    run.history.events.append({"epoch": 4, "event": "diverged"})
    assert not recovered_now(run)
    np.testing.assert_array_equal(run.model.weight.data, [[0.0]])  # looking changes nothing
