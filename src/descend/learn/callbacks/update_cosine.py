"""UpdateCosine: how each epoch's change of the weights lines up with the one before."""

from __future__ import annotations

import math
from typing import Any

from ...engine.backend import xp
from .base import Callback, Run


def cosine(a: list[Any], b: list[Any]) -> float:
    """The cosine between two lists of arrays taken as one vector each (NaN for a zero one)."""
    dot = sum(float(xp.vdot(u, v)) for u, v in zip(a, b))
    norm = math.sqrt(sum(float(xp.vdot(u, u)) for u in a) * sum(float(xp.vdot(v, v)) for v in b))
    return dot / norm if norm > 0 else math.nan


class UpdateCosine(Callback):
    """Record ``update_cosine`` after each epoch: near +1 when the steps go the same way,
    near -1 when the weights zig-zag across a minimum (NaN for the first epoch)."""

    def on_train_begin(self, run: Run) -> None:
        self.previous_: list[Any] | None = None

    def on_epoch_end(self, run: Run) -> None:
        update = [p.data - s for p, s in zip(run.params, run.epoch_start)]
        value = cosine(update, self.previous_) if self.previous_ is not None else math.nan
        self.previous_ = update
        run.history.record(update_cosine=value)
