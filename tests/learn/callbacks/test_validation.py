"""Tests for descend.learn.callbacks.validation: ValidationLoss records the loss of the
weights on the held-out rows after each epoch, without a graph."""

from __future__ import annotations

from descend.learn.blocks import ArrayBlocks
from descend.learn.callbacks import ValidationLoss


def test_the_validation_loss_is_the_mean_loss_on_the_held_out_rows(make_run):
    run = make_run()
    held_out = ArrayBlocks([[2.0], [0.0], [1.0]], [3.0, 1.0, 0.5])
    callback = ValidationLoss(held_out)
    run.model.weight.data[...] = 0.5  # predictions 1, 0, 0.5: errors -2, -1, 0
    callback.on_epoch_end(run)
    run.model.weight.data[...] = 1.5  # predictions 3, 0, 1.5: errors 0, -1, 1
    callback.on_epoch_end(run)
    assert run.history.val_loss == [5.0 / 3.0, 2.0 / 3.0]
    assert run.model.weight.grad is None  # no graph, no gradient
