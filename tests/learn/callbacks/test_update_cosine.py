"""Tests for descend.learn.callbacks.update_cosine: the cosine between an epoch's change of
the weights and the one before (+1 the same way, -1 a zig-zag)."""

import math

import numpy as np
import pytest

import descend
from descend import nn
from descend.learn.callbacks import UpdateCosine
from descend.learn.callbacks.update_cosine import cosine


def test_update_cosine_sees_the_zigzag_of_a_large_step():
    X = np.array([[1.0], [-1.0]])  # mse curvature L = 2 * mean(x^2) = 2
    y = np.array([1.0, -1.0])
    small = descend.fit(
        nn.Linear(1, 1, bias=False, init="zeros"), X, y, lr=0.2, epochs=5, tol=None, verbose=False
    )
    large = descend.fit(
        nn.Linear(1, 1, bias=False, init="zeros"), X, y, lr=0.8, epochs=5, tol=None, verbose=False
    )
    np.testing.assert_allclose(small.update_cosine[1:], 1.0)
    np.testing.assert_allclose(large.update_cosine[1:], -1.0)


def test_the_cosine_takes_a_list_of_arrays_as_one_vector():
    a = [np.array([[1.0, 0.0]]), np.array([0.0])]
    assert cosine(a, a) == pytest.approx(1.0, rel=1e-15)
    assert cosine(a, [-x for x in a]) == pytest.approx(-1.0, rel=1e-15)
    assert cosine(a, [np.array([[0.0, 2.0]]), np.array([0.0])]) == 0.0
    # (1, 0, 0) against (1, 0, 1): 1 / sqrt(2), across both arrays
    assert cosine(a, [np.array([[1.0, 0.0]]), np.array([1.0])]) == pytest.approx(0.5**0.5)
    assert math.isnan(cosine(a, [np.zeros((1, 2)), np.zeros(1)]))


def test_the_first_epoch_has_no_cosine_and_the_next_compares_the_updates(make_run):
    run = make_run()
    callback = UpdateCosine()
    callback.on_train_begin(run)
    for w in (1.0, 3.0, 2.0):  # updates +1, +2, -1 from 0
        run.epoch_start = run.snapshot()
        run.model.weight.data[...] = w
        callback.on_epoch_end(run)
    assert math.isnan(run.history.update_cosine[0])
    assert run.history.update_cosine[1:] == [1.0, -1.0]
