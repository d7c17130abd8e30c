"""Divergence: the loss blew up; put back the good weights, stop or retry with a smaller rate."""

from __future__ import annotations

import math

from ..._validation import Boolean, Constraints, Interval, check, register
from ...engine.backend import xp
from .base import Callback, Run


class Divergence(Callback):
    """Stop at once with ``diverged`` when the loss is NaN or infinite, or more than
    ``factor`` times its first value, and put back the good weights: those of the
    lowest loss so far (a loss that climbs for a while before it blows up is not
    good).

    With ``recover=True`` it instead divides the learning rate by ``lr_factor``,
    restores the good weights, clears the optimizer's state, records the
    event and carries on (at most ``max_recoveries`` times).

    After the last epoch it also undoes a last update that blew the loss up
    (no epoch was left to see it), and puts back the good weights of a run
    interrupted in the middle of a diverging epoch.
    """

    _constraints: Constraints = {
        "factor": [Interval(float, 1, None, "neither")],
        "recover": [Boolean()],
        "lr_factor": [Interval(float, 1, None, "neither")],
        "max_recoveries": [Interval(int, 0, None, "left")],
    }

    def __init__(
        self,
        factor: float = 1e4,
        recover: bool = False,
        lr_factor: float = 10.0,
        max_recoveries: int = 5,
    ) -> None:
        check("Divergence", self._constraints, dict(locals()))
        self.factor = factor
        self.recover = recover
        self.lr_factor = lr_factor
        self.max_recoveries = max_recoveries

    def on_train_begin(self, run: Run) -> None:
        self.first_loss_ = math.nan
        self.good_weights_ = run.snapshot()
        self.good_epoch_ = -1
        self.best_loss_ = math.inf
        self.recoveries_ = 0

    def is_diverged(self, loss: float) -> bool:
        """True for a loss that is NaN, infinite or ``factor`` times the first loss."""
        if not math.isfinite(loss):
            return True
        return math.isfinite(self.first_loss_) and loss > self.factor * max(self.first_loss_, 1e-12)

    def _restored(self) -> str:
        if self.good_epoch_ >= 0:
            return f"the weights from epoch {self.good_epoch_} were restored"
        return "the initial weights were restored"

    def on_epoch_end(self, run: Run) -> None:
        loss = run.history.loss[-1]
        if not self.is_diverged(loss):
            if math.isnan(self.first_loss_):
                self.first_loss_ = loss
            if loss <= self.best_loss_:  # the best weights so far, not the last before a blow-up
                self.best_loss_ = loss
                self.good_weights_, self.good_epoch_ = run.epoch_start, run.epoch
            return
        run.restore(self.good_weights_)
        if self.recover and self.recoveries_ < self.max_recoveries:
            self._recover(run, loss)
            return
        lr = run.optimizer.lr
        run.history.events.append({"epoch": run.epoch, "event": "diverged", "loss": loss, "lr": lr})
        run.stop(
            "diverged",
            f"The loss diverged at epoch {run.epoch} (loss = {loss:.4g}): the learning rate "
            f"{lr:g} is too large. {self._restored().capitalize()}.",
        )

    def _recover(self, run: Run, loss: float) -> None:
        self.recoveries_ += 1
        optimizer = run.optimizer
        lr, new_lr = optimizer.lr, optimizer.lr / self.lr_factor
        optimizer.set_lr(new_lr, base=optimizer.base_lr / self.lr_factor)
        optimizer.reset_state()
        run.history.events.append(
            {"epoch": run.epoch, "event": "recovered", "loss": loss, "lr": lr, "new_lr": new_lr}
        )
        run.log(
            f"Epoch {run.epoch:3d}: loss = {loss:.4g} diverged; {self._restored()} and the "
            f"learning rate cut from {lr:g} to {new_lr:g} (recovery {self.recoveries_} of "
            f"{self.max_recoveries})."
        )

    def on_train_end(self, run: Run) -> None:
        history = run.history
        if not all(bool(xp.isfinite(p.data).all()) for p in run.params):  # interrupted mid-step
            run.restore(self.good_weights_)
            history.final_loss = run.evaluate()
        final = history.final_loss
        if final is None or not self.is_diverged(final) or history.stop_reason == "diverged":
            return
        lr, last = run.optimizer.lr, history.epochs - 1
        history.events.append({"epoch": last, "event": "diverged", "loss": final, "lr": lr})
        run.restore(self.good_weights_)
        history.final_loss = run.evaluate()
        history.stop_reason = "diverged"
        history.stop_message = (
            f"The loss diverged in the last update (epoch {last}): the weights it gave have loss "
            f"{final:.4g}, so the learning rate {lr:g} is too large. "
            f"{self._restored().capitalize()} (loss {history.final_loss:.4g})."
        )


register(Divergence, Divergence._constraints)
