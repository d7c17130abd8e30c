"""Tests for descend.learn.callbacks.convergence: Convergence stops a run whose loss has
stopped improving, and never one whose loss climbs or recovers."""

import numpy as np
import pytest

import descend
from descend import nn
from descend.learn.callbacks import Callback, Convergence
from tests.learn.lines import line_data


def test_convergence_stops_when_improvement_falls_below_tol():
    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1, init="zeros"),
        X,
        y,
        lr=0.1,
        epochs=10_000,
        verbose=False,
        callbacks=[Convergence(tol=1e-8, patience=3)],
    )
    assert h.stop_reason == "converged"
    assert h.epochs < 10_000
    last = np.array(h.loss[-4:])
    improvements = (last[:-1] - last[1:]) / last[:-1]
    assert (improvements[-3:] < 1e-8).all()


def test_a_slowly_climbing_loss_is_not_called_converged():
    class Climb(Callback):
        def on_epoch_end(self, run):
            run.history.loss[-1] = 1.0 + 1e-4 * run.epoch  # rises slowly, but by more than tol

    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1),
        X,
        y,
        lr=0.01,
        epochs=40,
        verbose=False,
        callbacks=[Climb(), Convergence(tol=1e-5, patience=5)],
    )
    assert h.stop_reason == "max_epochs"


def test_a_flat_loss_still_converges():
    class Flat(Callback):
        def on_epoch_end(self, run):
            run.history.loss[-1] = 1.0

    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1),
        X,
        y,
        lr=0.01,
        epochs=40,
        verbose=False,
        callbacks=[Flat(), Convergence(tol=1e-5, patience=5)],
    )
    # Convergence stopped it after 5 flat epochs; the diagnosis, which measures the gap to the
    # optimum of this linear model, records that as 'stalled' (short of converged)
    assert h.stop_reason == "stalled" and h.epochs == 6
    assert h.diagnosis["verdict"] != "converged" and h.diagnosis["gap"]["relative"] > 1e-5


def test_epochs_around_a_recovery_do_not_count_toward_convergence(capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(0, 5, (100, 2))
    y = 2 * X[:, 0] - X[:, 1] + rng.normal(0, 1, 100)
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(model, X, y, lr=1e6, recover=True, epochs=1000, log_every=1)
    # a recovery every other epoch is never converging; out of recoveries, the run diverged
    assert h.stop_reason == "diverged"
    assert [e["event"] for e in h.events] == ["recovered"] * 5 + ["diverged"]
    assert descend.train.evaluate_loss(model, X, y) == pytest.approx(h.final_loss)
    assert h.final_loss <= h.loss[0]
    out = capsys.readouterr().out
    for event in h.events:  # one line per epoch, even where a recovery is logged
        assert out.count(f"Epoch {event['epoch']:3d}:") == 1
    assert f"Try lr={h.diagnosis['suggested']['lr']:g}, as the diagnosis suggests." in out
