"""ValidationLoss: the loss of the weights on held-out rows after each epoch."""

from __future__ import annotations

from typing import Any

from .base import Callback, Run


class ValidationLoss(Callback):
    """Record ``val_loss`` after each epoch: the loss on ``rows`` (an ArrayBlocks of held-out
    rows), without a graph. Put it before the callbacks that read ``val_loss``."""

    def __init__(self, rows: Any) -> None:
        self.rows = rows

    def on_epoch_end(self, run: Run) -> None:
        run.history.record(val_loss=self.rows.loss(run.model, run.loss_fn))
