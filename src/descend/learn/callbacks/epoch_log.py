"""EpochLog: the lesson's ``Epoch  10: loss = 2.1098`` lines."""

from __future__ import annotations

from typing import Any

from .base import Callback, Run, recovered_now


class EpochLog(Callback):
    """Print an epoch line every ``every`` epochs, and for the last one (0: none).

    The line shows the epoch's training loss (and ``val_loss`` when recorded),
    saying which loss: ``(all rows)`` for full batch (the loss of all the training
    rows at the weights the epoch started with, as in the lesson), ``(minibatch mean)``
    for the mean loss of the epoch's minibatches, ``with L2`` when it includes the
    penalty (``History.loss_kind`` says it in words). An epoch that Divergence recovered from
    has its own line already.
    """

    def __init__(self, every: int = 10, epochs: int | None = None) -> None:
        self.every = every
        self.epochs = epochs

    def on_epoch_end(self, run: Run) -> None:
        epoch, history = run.epoch, run.history
        last = run.stopping or epoch == (self.epochs or 0) - 1
        if not self.every or recovered_now(run) or not (epoch % self.every == 0 or last):
            return
        line = f"Epoch {epoch:3d}: loss = {history.loss[-1]:.4f}{_label(history)}"
        if len(history.val_loss) == len(history.loss):
            line += f", val_loss = {history.val_loss[-1]:.4f}"
        run.log(line)


def _label(history: Any) -> str:
    """' (all rows)', ' (minibatch mean)', and ', with L2' in them when there is a penalty."""
    size, rows = history.settings.get("batch_size"), history.settings.get("rows")
    minibatch = size is not None and (rows is None or size < rows)
    parts = ["minibatch mean" if minibatch else "all rows"]
    if history.settings.get("alpha"):
        parts.append("with L2")
    return f" ({', '.join(parts)})"
