"""A line with noise: the small data set the tests of the learning callbacks train on."""

import numpy as np


def line_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ np.array([2.0, -1.0]) + 0.5 + rng.normal(0, 0.1, n)
