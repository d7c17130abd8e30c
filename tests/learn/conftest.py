"""A Run built by hand, for the tests of the loop and of each callback: one weight ``w`` with
no bias on X = [[1], [-1]], y = [1, -1], whose mean squared error is (w - 1)^2."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from descend.learn import losses, nn
from descend.learn.blocks import ArrayBlocks
from descend.learn.callbacks import Run
from descend.learn.history import History
from descend.learn.optim import SGD
from descend.learn.penalty import L2


@pytest.fixture
def make_run() -> Callable[..., Run]:
    """``make_run(lr=0.1, alpha=0.0, X=..., y=..., settings=None)``: a Run of SGD at ``lr``
    from w = 0 (the History's ``settings`` as given), whose lines go to ``run.lines``."""

    def make(
        lr: float = 0.1, alpha: float = 0.0, X: Any = ((1.0,), (-1.0,)), y: Any = (1.0, -1.0),
        settings: dict[str, Any] | None = None,
    ) -> Run:  # fmt: skip
        model = nn.Linear(len(X[0]), 1, bias=False, init="zeros")
        lines: list[str] = []
        optimizer, history = SGD(model.parameters(), lr=lr), History(settings=dict(settings or {}))
        run = Run(
            model, optimizer, history, ArrayBlocks(X, y), losses.mse, log=lines.append,
            penalty=L2(alpha),
        )  # fmt: skip
        run.lines = lines  # type: ignore[attr-defined]
        return run

    return make
