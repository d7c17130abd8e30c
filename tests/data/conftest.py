"""A small table shared by the tests of the data layer."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def patients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20.0, 40.0, 60.0, 30.0],
            "weight": [70, 80, 90, 60],
            "sex": ["f", "m", "f", "m"],
            "site": ["a", "b", "c", "a"],
            "y": [1.5, 2.5, 3.0, 0.5],
        }
    )
