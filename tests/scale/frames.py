"""A table of three normal columns and a linear target with noise: the rows the tests of
streaming and of table files train on."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


def table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + rng.normal(0, 0.2, n)
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
