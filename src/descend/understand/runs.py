"""A run with its diagnosis: train, measure the optimisation gap where it is known, diagnose.

``fit``, ``sweep`` and ``descent_paths`` all train through ``diagnosed_train``,
so every History they return carries the same diagnosis for the same run. A Ctrl-C
after the last epoch (``descend.interrupts``) skips the optimisation gap, the one costly
part, and marks the run ``interrupted``: its diagnosis was cut short.
"""

from __future__ import annotations

from typing import Any

from .. import interrupts
from ..learn.blocks import ArrayBlocks
from ..learn.history import History
from ..learn.losses import Loss
from ..learn.training import train
from .diagnose import diagnose, gap_and_note, linear_gap_applies

GAP_MAX_VALUES = 2_000_000
"""fit compares a linear model with the exact optimum automatically up to this size of X."""


def gap_of(model: Any, data: Any, loss_fn: Loss) -> tuple[Any, str]:
    """The optimisation gap of ``model`` on in-memory rows up to GAP_MAX_VALUES values of X
    (None otherwise), and a note when a linear model's gap is left out or unknown."""
    if not isinstance(data, ArrayBlocks):  # Dask: the gap would cost several passes
        return None, ""
    if data.X.size <= GAP_MAX_VALUES:
        return gap_and_note(model, data.X, data.y, loss_fn, data.weight)
    if linear_gap_applies(model, loss_fn):
        return None, (
            f"The gap to the exact optimum is left out above {GAP_MAX_VALUES:,} values of X "
            "(it costs several passes over the data); descend.optimisation_gap(model, X, y) "
            "computes it."
        )
    return None, ""


def diagnosed_train(model: Any, data: Any, loss_fn: Loss, *args: Any, **kwargs: Any) -> History:
    """``learn.training.train(model, data, loss_fn, ...)``, then the diagnosis of the run
    (in ``history.diagnosis``); a diverged run's stop message names the rate to try."""
    history = train(model, data, loss_fn, *args, **kwargs)
    gap, note = (None, "") if interrupts.requested() else gap_of(model, data, loss_fn)
    diagnosis = diagnose(history, gap, note=note)
    history.diagnosis = diagnosis.to_dict()
    if interrupts.requested() and history.stop_reason != "interrupted":
        history.stop_message = (
            f"Interrupted after the last epoch ({history.epochs - 1}), while the run was "
            f"being finished; it had stopped: {history.stop_reason}. {history.stop_message}"
        ).rstrip()
        history.stop_reason = "interrupted"
    if history.stop_reason == "diverged" and "lr" in diagnosis.suggested:
        history.stop_message += f" Try lr={diagnosis.suggested['lr']:g}, as the diagnosis suggests."
    return history
