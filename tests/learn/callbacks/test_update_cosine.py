"""Tests for descend.learn.callbacks.update_cosine: the cosine between an epoch's change of
the weights and the one before (+1 the same way, -1 a zig-zag)."""

import numpy as np

import descend
from descend import nn


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
