"""EarlyStopping: stop when a monitored loss stopped improving; put back the best weights."""

from __future__ import annotations

import math
from typing import Any

from ..._validation import Boolean, Constraints, Interval, Options, check, non_negative, register
from ...errors import InputError
from .base import Callback, Run


class EarlyStopping(Callback):
    """Stop with ``early_stopping`` when ``monitor`` has not improved by ``min_delta``
    for ``patience`` epochs; optionally put back the best weights (Keras' rule)."""

    _constraints: Constraints = {
        "monitor": [Options("val_loss", "loss")],
        "patience": [Interval(int, 0, None, "left")],
        "min_delta": [non_negative()],
        "restore_best_weights": [Boolean()],
    }

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        check("EarlyStopping", self._constraints, dict(locals()))
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


register(EarlyStopping, EarlyStopping._constraints)
