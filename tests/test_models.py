"""Tests for descend.models: the model, its loss and its output chosen from the target
(read once), and built from that choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descend.errors import InputError
from descend.models import choose


def test_an_infinite_target_says_so_not_holds_text():
    y = pd.Series([1.0, np.inf, 3.0, 4.5], name="y")
    with pytest.raises(InputError, match=r"^Target 'y' has an infinite value \(inf\) in row 1"):
        choose(y, task="regression", name="y")
    with pytest.raises(InputError, match="holds text, not numbers"):
        choose(pd.Series(["a", "b"], name="y"), task="regression", name="y")
