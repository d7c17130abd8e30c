"""Tests for descend.learn.callbacks.early_stopping: EarlyStopping stops when the monitored
loss has not improved for ``patience`` epochs and puts back the weights of the best one."""

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.learn.callbacks import Callback, EarlyStopping
from tests.learn.lines import line_data


class Scripted(Callback):
    """Overwrites the val_loss history to script an early-stopping scenario."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, run):
        run.history.val_loss[-1] = self.values[run.epoch]


def test_early_stopping_restores_the_best_weights():
    X, y = line_data()
    seen = []

    class Remember(Callback):
        def on_epoch_end(self, run):
            seen.append(run.snapshot())

    values = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 1.0]
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(
        model,
        X,
        y,
        lr=0.05,
        epochs=8,
        validation=(X, y),
        verbose=False,
        callbacks=[
            Scripted(values),
            Remember(),
            EarlyStopping(patience=3, restore_best_weights=True),
        ],
    )
    assert h.stop_reason == "early_stopping"
    assert h.epochs == 6
    assert "epoch 2" in h.stop_message
    np.testing.assert_array_equal(model.weight.data, seen[2][0])


def test_early_stopping_needs_validation_for_val_loss():
    X, y = line_data()
    with pytest.raises(InputError, match="monitors 'val_loss' but fit got no validation"):
        descend.fit(nn.Linear(2, 1), X, y, verbose=False, callbacks=[EarlyStopping()])


def test_early_stopping_on_the_training_loss_restores_the_weights_that_loss_belongs_to():
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(
        model,
        X,
        y,
        lr=1.1,
        epochs=50,
        verbose=False,
        tol=None,  # zig-zags upward
        callbacks=[EarlyStopping(monitor="loss", patience=3)],
    )
    assert h.stop_reason == "early_stopping"
    assert h.final_loss == pytest.approx(min(h.loss), rel=1e-12)
