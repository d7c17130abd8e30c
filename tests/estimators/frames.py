"""The lesson's patients as a table with a text column: what the estimator tests fit."""

import numpy as np
import pytest

import descend

pd = pytest.importorskip("pandas")


def patients_frame():
    X, y, names = descend.datasets.load_patients()
    frame = pd.DataFrame(X, columns=names)
    frame["sex"] = np.where(np.arange(len(frame)) % 3 == 0, "f", "m")
    return frame, y
