"""Tests for descend.learn.training: one run set up around the loop: the validation rows held
out once, the callbacks every run has in their order, where the lines go, and the loss of the
weights the run ends with."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descend.data import train_validation_split
from descend.errors import InputError
from descend.learn import losses, nn
from descend.learn.blocks import ArrayBlocks
from descend.learn.callbacks import (
    Checkpoint,
    Convergence,
    Divergence,
    EarlyStopping,
    EpochLog,
    LearningRateSchedule,
    UpdateCosine,
    ValidationLoss,
)
from descend.learn.schedules import StepDecay
from descend.learn.training import held_out, is_blocks, is_pair, printer, standard_callbacks, train

X = np.arange(20.0).reshape(10, 2)
Y = X @ np.array([1.0, -0.5])


def test_a_fraction_holds_out_the_rows_of_the_one_split():
    rows = ArrayBlocks(X, Y)
    training, validation = held_out(rows, 0.2, seed=3, dtype=None)
    train_rows, val_rows = train_validation_split(10, 0.2, seed=3)
    np.testing.assert_array_equal(validation.X, X[val_rows])
    np.testing.assert_array_equal(training.y, Y[train_rows])
    assert (training.n_rows, validation.n_rows) == (8, 2)
    assert held_out(rows, None, seed=3, dtype=None) == (rows, None)


def test_given_validation_rows_are_checked_against_the_columns_of_x():
    rows = ArrayBlocks(X, Y)
    training, validation = held_out(rows, (X[:3], Y[:3], [1.0, 2.0, 3.0]), 0, None)
    assert training is rows and validation.weight.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(InputError) as caught:
        held_out(rows, (np.ones((3, 3)), Y[:3]), 0, None)
    assert str(caught.value) == (
        "X_val has 3 columns but X has 2; validation data needs the same columns."
    )
    assert is_pair((X, Y)) and is_pair([X, Y, None]) and not is_pair((X,)) and not is_pair(X)
    assert is_blocks(rows) and not is_blocks((X, Y))


def test_the_callbacks_every_run_has_come_in_the_order_they_must_run(tmp_path):
    mine, checkpoint = EarlyStopping(monitor="loss"), Checkpoint(tmp_path / "run.ckpt")
    chosen = standard_callbacks(
        [checkpoint, mine], validation=ArrayBlocks(X, Y), schedule=StepDecay(2),
        tol=1e-5, patience=4, recover=True, log_every=5, epochs=20,
    )  # fmt: skip
    assert [type(cb) for cb in chosen] == [
        ValidationLoss, UpdateCosine, LearningRateSchedule, Divergence, EarlyStopping,
        Convergence, EpochLog, Checkpoint,
    ]  # fmt: skip
    assert chosen[4] is mine and chosen[-1] is checkpoint
    assert chosen[3].recover and (chosen[5].tol, chosen[5].patience) == (1e-5, 4)


def test_a_callback_of_the_users_takes_the_place_of_the_default_one():
    divergence, convergence = Divergence(factor=10.0), Convergence(tol=0.1)
    chosen = standard_callbacks(
        [convergence, divergence], validation=None, schedule=None, tol=1e-5, patience=10,
        recover=False, log_every=10, epochs=5,
    )  # fmt: skip
    assert [type(cb) for cb in chosen] == [UpdateCosine, Convergence, Divergence, EpochLog]
    assert chosen[1] is convergence and chosen[2] is divergence
    without_tol = standard_callbacks(
        [], validation=None, schedule=None, tol=None, patience=10, recover=False,
        log_every=10, epochs=5,
    )  # fmt: skip
    assert not any(isinstance(cb, Convergence) for cb in without_tol)


def test_lines_go_to_a_function_given_or_to_stdout_when_verbose(capsys):
    lines = []
    assert printer(lines.append) == lines.append
    printer(False)("not shown")
    printer(True)("shown")
    assert capsys.readouterr().out == "shown\n"


def test_a_run_records_its_settings_and_the_loss_of_the_weights_it_ends_with():
    model = nn.Linear(2, 1, init="zeros")
    data = ArrayBlocks(X / 10, Y / 10)
    history = train(
        model, data, losses.mse, "sgd", 0.05, epochs=4, tol=None, verbose=False,
        schedule="cosine", alpha=0.1,
    )  # fmt: skip
    assert history.settings["rows"] == 10 and history.settings["optimizer"] == "SGD"
    assert history.settings["alpha"] == 0.1 and history.stop_reason == "max_epochs"
    # a cosine by name anneals over the run's epochs: 0.05 (1 + cos(pi e / 4)) / 2
    expected = [0.05 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    np.testing.assert_allclose(history.lr, expected, rtol=1e-14)
    weights = model.weight.data
    data_loss = data.loss(model, losses.mse)
    assert history.final_loss == pytest.approx(data_loss + 0.05 * float((weights**2).sum()))
    assert history.final_loss < history.loss[0]
