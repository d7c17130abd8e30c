"""Convergence: stop when the training loss stopped improving (scikit-learn's tol)."""

from __future__ import annotations

import math
import warnings

from ..._validation import NONE, Constraints, Interval, check, non_negative, positive, register
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

    With ``mu`` (the loss's strong convexity: its smallest curvature, known for
    linear models, see ``descend.understand.optimum.curvature``) and full-batch
    steps, the rule is the one that proves it instead: a mu-strongly convex loss
    is at most ``|g|^2 / (2 mu)`` above its minimum, so the run stops once that
    bound is below ``tol`` of the minimum (or the loss is 1e-12 of its start) for
    ``patience`` epochs in a row.
    A loss that merely improves slowly then keeps training.

    Without ``mu``, full-batch runs with momentum (or an adaptive optimizer) must also
    have a gradient shrunk to ``tol`` of its first size (at a minimum it is 0; near one
    the gap goes as its square): their loss may pause above its best for many epochs
    while the momentum carries the weights on.
    """

    _constraints: Constraints = {
        "tol": [non_negative()],
        "patience": [Interval(int, 0, None, "left")],
        "mu": [positive(), NONE],
    }

    def __init__(self, tol: float = 1e-5, patience: int = 10, mu: float | None = None) -> None:
        check("Convergence", self._constraints, {"tol": tol, "patience": patience, "mu": mu})
        self.tol = tol
        self.patience = patience
        self.mu = mu

    def _within_bound(self, run: Run) -> bool:
        """Full batch with mu: the loss is provably within tol of its minimum."""
        history = run.history
        loss, grad = history.loss[-1], history.grad_norm[-1]
        if not (math.isfinite(loss) and math.isfinite(grad)):
            return False
        bound = grad**2 / (2 * self.mu)  # type: ignore[operator]
        return bound <= self.tol * (loss - bound) or loss <= 1e-12 * history.loss[0]

    def on_train_begin(self, run: Run) -> None:
        self.best_ = math.inf
        self.wait_ = 0
        self.last_improvement_ = math.nan
        self.within_ = 0

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
        if self.mu is not None and run.history.settings.get("batch_size") is None:
            self.within_ = self.within_ + 1 if self._within_bound(run) else 0
            if self.within_ >= max(self.patience, 1):
                run.stop(
                    "converged",
                    "The loss converged: the gradient bound |g|^2 / (2 mu) put it within "
                    f"tol={self.tol:g} (relative) of its minimum for {self.patience} epochs "
                    "in a row.",
                )
            return
        patience = max(self.patience, 1)
        if self.wait_ < patience or not self._gradient_shrunk(run):
            return
        window = run.history.loss[-patience - 1 :]
        rises = sum(b > a for a, b in zip(window, window[1:]))
        if rises > len(window) // 2 and window[-1] > window[0] * (1 + self.tol):
            self.wait_ = 0  # climbing, not settling: leave it to Divergence or max_epochs
            return
        run.stop(
            "converged",
            f"The loss stopped improving: by less than tol={self.tol:g} (relative) for "
            f"{self.patience} epochs in a row.",
        )

    def _gradient_shrunk(self, run: Run) -> bool:
        """Plain SGD or minibatches (whose gradient norms are of one batch), or a full-batch
        gradient down to tol of its first size."""
        history = run.history
        plain = not history.settings.get("momentum") and history.settings.get("optimizer") in (
            None,
            "SGD",
        )
        if plain or history.settings.get("batch_size") is not None or not history.grad_norm:
            return True
        first = next((g for g in history.grad_norm if math.isfinite(g) and g > 0), math.nan)
        last = history.grad_norm[-1]
        return not (math.isfinite(first) and last > self.tol * first)

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
