"""Convergence: stop when the training loss stopped improving (scikit-learn's tol)."""

from __future__ import annotations

import math
import warnings

from ..._validation import Constraints, Interval, check, non_negative, register
from .base import Callback, Run, recovered_now


class ConvergenceWarning(UserWarning):
    """The run reached its last epoch before the loss converged."""


class Convergence(Callback):
    """Stop with ``converged`` when the training loss improved by less than ``tol``
    (relative to the best so far) for ``patience`` epochs in a row, like
    scikit-learn's ``tol`` and ``n_iter_no_change`` - unless the loss rose over
    those epochs: a loss that climbs has not converged, however slowly it climbs.
    The count starts over after a divergence recovery (put in the history's
    events by ``Divergence``). A run that reaches its last epoch first gets a
    ``ConvergenceWarning`` that says what to change.
    """

    _constraints: Constraints = {
        "tol": [non_negative()],
        "patience": [Interval(int, 0, None, "left")],
    }

    def __init__(self, tol: float = 1e-5, patience: int = 10) -> None:
        check("Convergence", self._constraints, {"tol": tol, "patience": patience})
        self.tol = tol
        self.patience = patience

    def on_train_begin(self, run: Run) -> None:
        self.best_ = math.inf
        self.wait_ = 0
        self.last_improvement_ = math.nan

    def on_epoch_end(self, run: Run) -> None:
        loss = run.history.loss[-1]
        if recovered_now(run):
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

    def on_train_end(self, run: Run) -> None:
        history = run.history
        if history.stop_reason != "max_epochs" or history.stop_message:
            return
        history.stop_message = (
            f"The loss did not converge in {history.epochs} epochs (last relative improvement "
            f"{self.last_improvement_:.2g}, tol {self.tol:g}): raise epochs, or raise lr if the "
            "loss falls slowly and steadily."
        )
        warnings.warn(history.stop_message, ConvergenceWarning, stacklevel=2)


register(Convergence, Convergence._constraints)
