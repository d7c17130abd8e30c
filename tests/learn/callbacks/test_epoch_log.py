"""Tests for descend.learn.callbacks.epoch_log: the lesson's ``Epoch  10: loss = ...`` lines,
every ``every`` epochs and for the last, naming which loss they show."""

from __future__ import annotations

import pytest

from descend.learn.callbacks import EpochLog


def epochs(run, log, losses, val_losses=None):
    """Record each epoch's loss (and validation loss) and let ``log`` see it."""
    for epoch, loss in enumerate(losses):
        run.epoch = epoch
        run.history.record(loss=loss)
        if val_losses is not None:
            run.history.record(val_loss=val_losses[epoch])
        log.on_epoch_end(run)


def test_a_line_every_ten_epochs_and_one_for_the_last(make_run):
    run = make_run(settings={"batch_size": None, "rows": 2})
    epochs(run, EpochLog(every=10, epochs=25), [1.0 / (e + 1) for e in range(25)])
    assert run.lines == [
        "Epoch   0: loss = 1.0000 (all rows)",
        "Epoch  10: loss = 0.0909 (all rows)",
        "Epoch  20: loss = 0.0476 (all rows)",
        "Epoch  24: loss = 0.0400 (all rows)",
    ]


@pytest.mark.parametrize(
    ("settings", "label"),
    [
        ({"batch_size": 1, "rows": 2}, "(minibatch mean)"),
        ({"batch_size": 2, "rows": 2}, "(all rows)"),  # one batch of every row
        ({"batch_size": None, "rows": 2, "alpha": 0.01}, "(all rows, with L2)"),
        ({"batch_size": 1, "rows": None, "alpha": 0.5}, "(minibatch mean, with L2)"),
    ],
)
def test_the_line_names_the_loss_it_shows(make_run, settings, label):
    run = make_run(settings=settings)
    epochs(run, EpochLog(every=1), [0.5])
    assert run.lines == [f"Epoch   0: loss = 0.5000 {label}"]


def test_the_validation_loss_is_shown_when_each_epoch_has_one(make_run):
    run = make_run()
    epochs(run, EpochLog(every=1), [0.5, 0.25], [0.75, 0.125])
    assert run.lines == [
        "Epoch   0: loss = 0.5000 (all rows), val_loss = 0.7500",
        "Epoch   1: loss = 0.2500 (all rows), val_loss = 0.1250",
    ]


def test_a_stopped_epoch_has_its_line_and_a_recovered_one_none(make_run):
    run = make_run()
    log = EpochLog(every=10)
    epochs(run, log, [1.0, 0.5, 0.25])
    run.history.events.append({"epoch": 3, "event": "recovered"})
    epochs_so_far = run.history.epochs
    run.epoch = epochs_so_far
    run.history.record(loss=9.0)
    log.on_epoch_end(run)  # its own line was printed by Divergence
    run.epoch += 1
    run.history.record(loss=0.125)
    run.stop("converged")
    log.on_epoch_end(run)
    assert run.lines == [
        "Epoch   0: loss = 1.0000 (all rows)",
        "Epoch   4: loss = 0.1250 (all rows)",
    ]


def test_every_zero_prints_nothing(make_run):
    run = make_run()
    epochs(run, EpochLog(every=0, epochs=3), [1.0, 0.5, 0.25])
    assert run.lines == []
