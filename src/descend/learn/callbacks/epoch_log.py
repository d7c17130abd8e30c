"""EpochLog: the lesson's ``Epoch  10: loss = 2.1098`` lines."""

from __future__ import annotations

from .base import Callback, Run, recovered_now


class EpochLog(Callback):
    """Print an epoch line every ``every`` epochs, and for the last one (0: none).

    The line shows the epoch's training loss (and ``val_loss`` when recorded);
    an epoch that Divergence recovered from has its own line already.
    """

    def __init__(self, every: int = 10, epochs: int | None = None) -> None:
        self.every = every
        self.epochs = epochs

    def on_epoch_end(self, run: Run) -> None:
        epoch, history = run.epoch, run.history
        last = run.stopping or epoch == (self.epochs or 0) - 1
        if not self.every or recovered_now(run) or not (epoch % self.every == 0 or last):
            return
        line = f"Epoch {epoch:3d}: loss = {history.loss[-1]:.4f}"
        if len(history.val_loss) == len(history.loss):
            line += f", val_loss = {history.val_loss[-1]:.4f}"
        run.log(line)
