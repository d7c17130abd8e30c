"""Callbacks: the decisions around the training loop, outside it.

Stopping is a callback's decision, recorded as ``history.stop_reason``:
``Convergence`` (the loss stopped improving), ``EarlyStopping`` (a monitored
loss stopped improving; best weights restored) and ``Divergence`` (the loss
blew up; the best weights so far restored, optionally recovering with a smaller
learning rate).

>>> import numpy as np, descend
>>> from descend import nn
>>> X = np.linspace(0, 1, 20).reshape(-1, 1); y = 3 * X[:, 0] + 1
>>> h = descend.fit(nn.Linear(1, 1), X, y, lr=0.5, epochs=2000, verbose=False,
...                 callbacks=[Convergence(tol=1e-6, patience=5)])
>>> h.stop_reason
'converged'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._validation import check_float, check_int
from ..errors import InputError
from .history import History


class Run:
    """What a callback may see and do during ``fit``: the model, the optimizer,
    the history so far, stopping, and snapshots of the weights."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        history: History,
        log: Callable[[str], None],
        has_validation: bool,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.history = history
        self.params = model.parameters()
        self.log = log
        self.has_validation = has_validation
        self.base_lr = float(optimizer.lr)
        self.epoch = 0
        self.epoch_start: list[Any] = self.snapshot()
        """The weights the current epoch started with (a full-batch epoch's loss is theirs)."""

    @property
    def stopping(self) -> bool:
        return self.history.stop_reason is not None

    def stop(self, reason: str, message: str = "") -> None:
        """End the run after this epoch with ``reason`` (one of History's stop reasons)."""
        if self.history.stop_reason is None:
            self.history.stop_reason = reason
            self.history.stop_message = message

    def snapshot(self) -> list[Any]:
        """A copy of every parameter's values."""
        return [p.data.copy() for p in self.params]

    def restore(self, snapshot: list[Any]) -> None:
        """Put the values of a snapshot back into the parameters (in place)."""
        for p, values in zip(self.params, snapshot):
            p.data[...] = values


class Callback:
    """Base class: override any of the hooks; each receives the Run."""

    def on_train_begin(self, run: Run) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, run: Run) -> None:
        """Called before each epoch (``run.epoch`` is its number)."""

    def on_epoch_end(self, run: Run) -> None:
        """Called after each epoch, once its numbers are in the history."""

    def on_train_end(self, run: Run) -> None:
        """Called once after the last epoch (also after an interrupt)."""


class Convergence(Callback):
    """Stop with ``converged`` when the training loss improved by less than ``tol``
    (relative to the best so far) for ``patience`` epochs in a row, like
    scikit-learn's ``tol`` and ``n_iter_no_change`` - unless the loss rose over
    those epochs: a loss that climbs has not converged, however slowly it climbs.
    The count starts over after a divergence recovery (put in the history's
    events by ``Divergence``)."""

    def __init__(self, tol: float = 1e-5, patience: int = 10) -> None:
        check_float(tol, "tol", "Convergence", "[0, inf)")
        check_int(patience, "patience", "Convergence", "[0, inf)")
        self.tol = tol
        self.patience = patience

    def on_train_begin(self, run: Run) -> None:
        self.best_ = math.inf
        self.wait_ = 0
        self.last_improvement_ = math.nan

    def on_epoch_end(self, run: Run) -> None:
        loss = run.history.loss[-1]
        events = run.history.events
        if (
            events
            and events[-1].get("epoch") == run.epoch
            and events[-1].get("event") == "recovered"
        ):
            # Divergence put back older weights and cut the learning rate: the run starts over
            # from here, and the flat or climbing epochs around the recovery are not settling.
            self.best_, self.wait_ = math.inf, 0
            return
        if not math.isfinite(loss):
            return
        if math.isfinite(self.best_):
            self.last_improvement_ = (self.best_ - loss) / max(abs(self.best_), 1e-300)
            self.wait_ = self.wait_ + 1 if self.last_improvement_ < self.tol else 0
        self.best_ = min(self.best_, loss)
        patience = max(self.patience, 1)
        if self.wait_ < patience:
            return
        window = run.history.loss[-patience - 1 :]
        rises = sum(b > a for a, b in zip(window, window[1:]))
        if rises > len(window) // 2 and window[-1] > window[0] * (1 + self.tol):
            self.wait_ = 0  # climbing, not settling: leave it to Divergence or max_epochs
            return
        run.stop(
            "converged",
            f"The loss converged: it improved by less than tol={self.tol:g} (relative) for "
            f"{self.patience} epochs in a row.",
        )


class EarlyStopping(Callback):
    """Stop with ``early_stopping`` when ``monitor`` has not improved by ``min_delta``
    for ``patience`` epochs; optionally put back the best weights (Keras' rule)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if monitor not in ("val_loss", "loss"):
            raise InputError(
                "The 'monitor' parameter of EarlyStopping must be 'val_loss' or 'loss'. "
                f"Got {monitor!r} instead."
            )
        check_int(patience, "patience", "EarlyStopping", "[0, inf)")
        check_float(min_delta, "min_delta", "EarlyStopping", "[0, inf)")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, run: Run) -> None:
        if self.monitor == "val_loss" and not run.has_validation:
            raise InputError(
                "EarlyStopping monitors 'val_loss' but fit got no validation data; pass "
                "validation=(X_val, y_val) or a fraction such as 0.2, or monitor='loss'."
            )
        self.best_ = math.inf
        self.best_epoch_ = -1
        self.wait_ = 0
        self.best_weights_: list[Any] | None = None

    def on_epoch_end(self, run: Run) -> None:
        if run.stopping:  # another callback (Divergence) has decided, and restored
            return
        value = getattr(run.history, self.monitor)[-1]
        if math.isfinite(value) and value < self.best_ - self.min_delta:
            self.best_, self.best_epoch_, self.wait_ = value, run.epoch, 0
            if self.restore_best_weights:  # 'loss' belongs to the weights the epoch began with
                self.best_weights_ = run.epoch_start if self.monitor == "loss" else run.snapshot()
            return
        self.wait_ += 1
        if self.wait_ >= max(self.patience, 1):
            message = (
                f"Early stopping: {self.monitor} has not improved for {self.patience} epochs "
                f"(best {self.best_:.6g} at epoch {self.best_epoch_})."
            )
            if self.restore_best_weights and self.best_weights_ is not None:
                run.restore(self.best_weights_)
                message += f" The weights from epoch {self.best_epoch_} were restored."
            run.stop("early_stopping", message)


class Divergence(Callback):
    """Stop at once with ``diverged`` when the loss is NaN or infinite, or more than
    ``factor`` times its first value, and put back the good weights: those of the
    lowest loss so far (a loss that climbs for a while before it blows up is not
    good).

    With ``recover=True`` it instead divides the learning rate by ``lr_factor``,
    restores the good weights, clears the optimizer's state, records the
    event and carries on (at most ``max_recoveries`` times).
    """

    def __init__(
        self,
        factor: float = 1e4,
        recover: bool = False,
        lr_factor: float = 10.0,
        max_recoveries: int = 5,
    ) -> None:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1:
            raise InputError(
                f"The 'factor' parameter of Divergence must be a float in (1, inf). Got {factor!r}."
            )
        if isinstance(lr_factor, bool) or not isinstance(lr_factor, (int, float)) or lr_factor <= 1:
            raise InputError(
                "The 'lr_factor' parameter of Divergence must be a float in (1, inf). "
                f"Got {lr_factor!r} instead."
            )
        check_int(max_recoveries, "max_recoveries", "Divergence", "[0, inf)")
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
        lr = run.optimizer.lr
        restored = (
            f"the weights from epoch {self.good_epoch_} were restored"
            if self.good_epoch_ >= 0
            else "the initial weights were restored"
        )
        if self.recover and self.recoveries_ < self.max_recoveries:
            self.recoveries_ += 1
            new_lr = lr / self.lr_factor
            run.base_lr /= self.lr_factor
            run.optimizer.lr = new_lr
            run.optimizer.reset_state()
            run.history.events.append(
                {"epoch": run.epoch, "event": "recovered", "loss": loss, "lr": lr, "new_lr": new_lr}
            )
            run.log(
                f"Epoch {run.epoch:3d}: loss = {loss:.4g} diverged; {restored} and the learning "
                f"rate cut from {lr:g} to {new_lr:g} (recovery {self.recoveries_} of "
                f"{self.max_recoveries})."
            )
            return
        run.history.events.append({"epoch": run.epoch, "event": "diverged", "loss": loss, "lr": lr})
        run.stop(
            "diverged",
            f"The loss diverged at epoch {run.epoch} (loss = {loss:.4g}): the learning rate "
            f"{lr:g} is too large. {restored.capitalize()}.",
        )
