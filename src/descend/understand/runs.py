"""A run with its diagnosis: train, measure what is known of the optimum, diagnose.

``fit``, ``sweep`` and ``descent_paths`` all train through ``diagnosed_train``,
so every History they return carries the same diagnosis for the same run.
Beyond the History the diagnosis gets: the optimisation gap and the curvature
of linear and logistic models (``optimum.py``), and for any model the
curvature along its last update and how much its weights grew.
A Ctrl-C after the last epoch (``descend.interrupts``) skips the optimisation gap
and the curvature, the costly parts, and marks the run ``interrupted``: its diagnosis
was cut short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import interrupts
from ..engine.backend import xp
from ..learn import losses
from ..learn.blocks import ArrayBlocks
from ..learn.callbacks import Callback, Run
from ..learn.history import History
from ..learn.losses import Loss
from ..learn.nn import Linear
from ..learn.training import train
from .curvature import Curvature, curvature, update_curvature
from .diagnose import diagnose
from .optimum import GapUnknown, gap_and_note, linear_gap_applies

GAP_MAX_VALUES = 2_000_000
"""fit compares a linear model with the exact optimum automatically up to this size of X."""
CONVEX = (losses.mse, losses.bce_with_logits, losses.cross_entropy)


def gap_of(model: Any, data: Any, loss_fn: Loss, alpha: float = 0.0) -> tuple[Any, str]:
    """The optimisation gap of ``model`` on in-memory rows up to GAP_MAX_VALUES values of X
    (None otherwise), and a note when a linear model's gap is left out or unknown."""
    if not isinstance(data, ArrayBlocks):  # Dask: the gap would cost several passes
        return None, ""
    if data.X.size <= GAP_MAX_VALUES:
        return gap_and_note(model, data.X, data.y, loss_fn, data.weight, alpha)
    if linear_gap_applies(model, loss_fn):
        return None, (
            f"The gap to the exact optimum is left out above {GAP_MAX_VALUES:,} values of X "
            "(it costs several passes over the data); descend.optimisation_gap(model, X, y) "
            "computes it."
        )
    return None, ""


def curvature_of(
    model: Any, data: Any, loss_fn: Loss, alpha: float = 0.0, at_weights: bool = False
) -> Curvature | None:
    """L, mu and the condition number of a single Linear with a convex loss on in-memory rows
    (``optimum.curvature``), or None where they are not known."""
    if not (isinstance(data, ArrayBlocks) and isinstance(model, Linear) and loss_fn in CONVEX):
        return None
    try:
        return curvature(model, data.X, data.y, loss_fn, data.weight, alpha, at_weights, True)
    except GapUnknown:
        return None


class LastUpdate(Callback):
    """Keeps the run's last update of the weights (for the curvature along it)."""

    def __init__(self) -> None:
        self.update: list[Any] = []

    def on_train_end(self, run: Run) -> None:
        self.update = [p.data - s for p, s in zip(run.params, run.epoch_start)]


def norm(model: Any) -> float:
    """The L2 norm of all the model's parameters together."""
    return math.sqrt(sum(float(xp.vdot(p.data, p.data)) for p in model.parameters()))


def _facts(model: Any, data: Any, loss_fn: Loss, last: LastUpdate, start: float, alpha: float):
    """What the diagnosis reads beyond the History: the curvature along the last update and
    the growth of the weights' norm."""
    final = norm(model)
    facts = {"weight_norm": final, "weight_growth": final / start if start > 0 else math.inf}
    if final == 0:
        facts["weight_growth"] = 1.0
    c, ratio = (
        update_curvature(model, data, loss_fn, last.update, alpha)
        if last.update
        else (
            math.nan,
            math.nan,
        )
    )
    if math.isfinite(c):
        facts["update_curvature"] = c
    if math.isfinite(ratio):
        facts["step_to_curvature"] = ratio
    return facts


def diagnosed_train(
    model: Any,
    data: Any,
    loss_fn: Loss,
    *args: Any,
    curvature: Curvature | None = None,
    callbacks: Sequence[Callback] = (),
    alpha: float = 0.0,
    **kwargs: Any,
) -> History:
    """``learn.training.train(model, data, loss_fn, ...)``, then the diagnosis of the run
    (in ``history.diagnosis``); a diverged run's stop message names the rate to try.

    ``curvature``: the loss's curvature, when the caller measured it already (fit, for
    lr='auto'); for linear regression its mu lets Convergence stop on the gradient bound."""
    if curvature is None:
        curvature = curvature_of(model, data, loss_fn, alpha)
    mu = curvature.mu if curvature is not None and loss_fn is losses.mse else None
    start, last = norm(model), LastUpdate()
    history = train(
        model, data, loss_fn, *args, callbacks=[*callbacks, last], alpha=alpha,
        mu=mu if mu is not None and mu > 0 else None, **kwargs,
    )  # fmt: skip
    stopped = interrupts.requested()
    gap, note = (None, "") if stopped else gap_of(model, data, loss_fn, alpha)
    if (
        loss_fn is not losses.mse and curvature is not None and not stopped
    ):  # the logistic mu where it ended
        local = curvature_of(model, data, loss_fn, alpha, at_weights=True)
        if local is not None:  # L stays the largest anywhere: the one the rate must respect
            curvature = Curvature(
                curvature.L, local.mu, f"{curvature.method}; mu at the weights reached",
                curvature.rows, curvature.scale_ratio,
            )  # fmt: skip
    facts = _facts(model, data, loss_fn, last, start, alpha)
    if kwargs.get("validation") is not None:  # of the weights returned, not of the last epoch
        facts["final_val_loss"] = kwargs["validation"].loss(model, loss_fn)
    diagnosis = diagnose(history, gap, note=note, curvature=curvature, facts=facts)
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
