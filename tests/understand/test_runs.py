"""Tests for descend.understand.runs: a run with its diagnosis: the gap to the exact optimum
where it is affordable, whether a classifier separates its rows, and a stop line that says
what the verdict says."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from descend.learn import losses, nn
from descend.learn.blocks import ArrayBlocks
from descend.learn.history import History
from descend.understand import runs

RNG = np.random.default_rng(2)
X = RNG.normal(size=(60, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + RNG.normal(0, 0.2, 60)


def least_squares_mse():
    A = np.column_stack([X, np.ones(60)])
    theta = np.linalg.lstsq(A, Y, rcond=None)[0]
    return float(np.mean((A @ theta - Y) ** 2))


def test_the_gap_is_measured_up_to_a_size_of_x_and_left_out_with_a_note_beyond(monkeypatch):
    rows, model = ArrayBlocks(X, Y), nn.Linear(3, 1, init="zeros")
    gap, note = runs.gap_of(model, rows, losses.mse)
    assert gap.optimum == pytest.approx(least_squares_mse(), rel=1e-12) and note == ""
    monkeypatch.setattr(runs, "GAP_MAX_VALUES", 179)  # X holds 180 values
    gap, note = runs.gap_of(model, rows, losses.mse)
    assert gap is None and "left out above 179 values of X" in note
    assert runs.gap_of(nn.MLP([3, 4, 1]), rows, losses.mse) == (None, "")  # no optimum known
    assert runs.gap_of(model, SimpleNamespace(n_rows=60), losses.mse) == (None, "")


def test_rows_are_in_reach_in_memory_or_when_small_enough_to_read_again(monkeypatch):
    model = nn.Linear(3, 1)
    assert runs.in_reach(ArrayBlocks(X, Y), model)
    files = SimpleNamespace(n_rows=1000, blocks=lambda: iter(()))
    assert runs.in_reach(files, model)
    monkeypatch.setattr(runs, "GAP_MAX_VALUES", 2999)
    assert not runs.in_reach(files, model)  # 1,000 rows x 3 columns
    assert not runs.in_reach(SimpleNamespace(n_rows=10), model)  # no blocks to read


def test_rows_are_separated_when_every_counted_row_has_its_class_logit_largest():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    labels = np.array([0, 0, 1, 1])
    softmax = nn.Linear(1, 2, init="zeros")
    softmax.weight.data[...] = [[-1.0, 1.0]]  # class 1 where x > 0
    assert runs.rows_separated(softmax, ArrayBlocks(x, labels), losses.cross_entropy)
    wrong = np.array([0, 1, 1, 1])  # row 1 (x = -1) labelled 1: its class's logit is not largest
    assert not runs.rows_separated(softmax, ArrayBlocks(x, wrong), losses.cross_entropy)
    ignored = ArrayBlocks(x, wrong, weight=[1.0, 0.0, 1.0, 1.0])  # ... unless it weighs nothing
    assert runs.rows_separated(softmax, ignored, losses.cross_entropy)
    logistic = nn.Linear(1, 1, init="zeros")
    logistic.weight.data[...] = 1.0
    assert runs.rows_separated(logistic, ArrayBlocks(x, labels), losses.bce_with_logits)
    soft = ArrayBlocks(x, [0.0, 0.1, 0.9, 1.0])  # soft labels keep a minimum above 0
    assert not runs.rows_separated(logistic, soft, losses.bce_with_logits)


def test_the_stop_line_says_what_the_verdict_says():
    stopped = History(loss=[1.0, 0.5], stop_reason="converged", stop_message="The loss settled.")
    runs._agree(stopped, "still_improving")
    assert stopped.stop_reason == "stalled"
    assert stopped.stop_message == (
        "The loss settled, short of converged (the diagnosis says why)."
    )
    ran_out = History(loss=[1.0, 0.5, 0.4], stop_reason="max_epochs", stop_message="")
    runs._agree(ran_out, "converged")
    assert ran_out.stop_reason == "max_epochs"
    assert ran_out.stop_message.startswith("It ran all 3 epochs, and the diagnosis finds")


def test_a_diagnosed_run_carries_the_gap_and_the_growth_of_its_weights():
    model = nn.Linear(3, 1, init="zeros")
    history = runs.diagnosed_train(
        model, ArrayBlocks(X, Y), losses.mse, "sgd", 0.1, 300, verbose=False
    )
    d = history.diagnosis
    assert d["gap"]["optimum"] == pytest.approx(least_squares_mse(), rel=1e-12)
    assert d["verdict"] == "converged" and history.stop_reason == "converged"
    assert d["evidence"]["weight_norm"] == pytest.approx(runs.norm(model), rel=1e-15)
    assert d["evidence"]["convex"] is True
