"""A run with its diagnosis: train, measure what is known of the optimum, diagnose.

``fit``, ``sweep`` and ``descent_paths`` all train through ``diagnosed_train``,
so every History they return carries the same diagnosis for the same run.
Beyond the History the diagnosis gets: the optimisation gap and the curvature
of linear, logistic and softmax models (``optimum.py``), and for any model the
curvature along its last update, how much its weights grew over the last epochs
and, for a classifier, whether they put every training row in its class.
A run that Convergence stopped as ``converged`` (its loss stopped improving) whose
diagnosis finds it short of converged is recorded as ``stalled``: the stop line and
the verdict say the same.
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
from ..engine.tensor import no_grad
from ..learn import losses
from ..learn.blocks import ArrayBlocks
from ..learn.callbacks import Callback, Run
from ..learn.history import History
from ..learn.losses import Loss
from ..learn.nn import Linear
from ..learn.training import train
from .alphas import alpha_trials, wanted
from .curvature import Curvature, curvature, stream_curvature, update_curvature
from .design import GapUnknown
from .diagnose import diagnose
from .evidence import window_size
from .optimum import gap_and_note, linear_gap_applies
from .rates import copy_model

GAP_MAX_VALUES = 2_000_000
"""fit compares a linear model with the exact optimum automatically up to this size of X."""
CURVED = (losses.mse, losses.bce_with_logits, losses.cross_entropy, losses.huber)
"""The losses whose curvature (L, mu) ``curvature.py`` knows for a single Linear."""
CONVEX = (*CURVED, losses.mae)
"""The losses that make a single Linear a convex problem: ``converged`` then needs the gap to
the optimum (measured, or bounded), never a flat loss alone (the optimum of mae, a linear
program, is not computed: its runs are never called converged)."""


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


def in_reach(data: Any, model: Any) -> bool:
    """Rows in memory, or rows in files or Dask partitions small enough (GAP_MAX_VALUES values
    of X) to read once more for the diagnosis."""
    if isinstance(data, ArrayBlocks):
        return True
    rows, columns = getattr(data, "n_rows", None) or 0, getattr(model, "in_features", None) or 0
    return hasattr(data, "blocks") and 0 < rows * columns <= GAP_MAX_VALUES


def curvature_of(
    model: Any, data: Any, loss_fn: Loss, alpha: float = 0.0, at_weights: bool = False
) -> Curvature | None:
    """L, mu and the condition number of a single Linear with a convex loss (``curvature``):
    of the rows in memory, or (mse, whose Hessian is the same everywhere) summed over the
    blocks of rows in reach; None where they are not known."""
    if not (isinstance(model, Linear) and loss_fn in CURVED and in_reach(data, model)):
        return None
    try:
        if isinstance(data, ArrayBlocks):
            return curvature(model, data.X, data.y, loss_fn, data.weight, alpha, at_weights, True)
        if loss_fn is losses.mse:
            return stream_curvature(model, data.blocks, loss_fn, alpha)
    except GapUnknown:
        return None
    return None


class Watch(Callback):
    """Keeps the run's last update of the weights (for the curvature along it) and the norm of
    the weights after each epoch (the first entry: before the first)."""

    def __init__(self) -> None:
        self.update: list[Any] = []
        self.norms: list[float] = []

    def on_train_begin(self, run: Run) -> None:
        self.norms = [norm(run.model)]

    def on_epoch_end(self, run: Run) -> None:
        self.norms.append(norm(run.model))

    def on_train_end(self, run: Run) -> None:
        self.update = [p.data - s for p, s in zip(run.params, run.epoch_start)]


def norm(model: Any) -> float:
    """The L2 norm of all the model's parameters together."""
    return math.sqrt(sum(float(xp.vdot(p.data, p.data)) for p in model.parameters()))


def rows_separated(model: Any, data: Any, loss_fn: Loss) -> bool:
    """True when the model puts every training row (of positive weight, with a hard label) in
    its class: the largest logit is its class's (bce_with_logits: the logit's sign is the
    label's). Scaling the last layer's weights and bias up then drives the loss to 0."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        # in memory, blocks sized for the model's outputs (the first one decides most runs)
        blocks = data.blocks(model) if isinstance(data, ArrayBlocks) else data.blocks()
        with no_grad():
            for X, y, w in blocks:
                if not _right(model(X).data, xp.asarray(y), loss_fn, w):
                    return False
    finally:
        if was_training:
            model.train()
    return True


def _right(z: Any, y: Any, loss_fn: Loss, w: Any) -> bool:
    counted = xp.ones(len(z), dtype=bool) if w is None else xp.asarray(w) > 0
    if loss_fn is losses.bce_with_logits:
        t = y.reshape(z.shape)
        if not bool(((t == 0) | (t == 1)).all()):
            return False  # soft labels: the loss keeps a minimum above 0
        return bool(xp.where(t == 1, z > 0, z < 0)[counted].all())
    if y.ndim == 2 and y.shape[1] == z.shape[1] and z.shape[1] > 1:  # class probabilities
        if not bool(((y == 0) | (y == 1)).all()):
            return False
        y = y.argmax(axis=1)
    labels = y.reshape(len(z)).astype(int)
    own = z[xp.arange(len(z)), labels]
    others = z.copy()
    others[xp.arange(len(z)), labels] = -xp.inf
    return bool((own > others.max(axis=1))[counted].all())


def _facts(
    model: Any, data: Any, loss_fn: Loss, watch: Watch, alpha: float, epochs: int
) -> dict[str, Any]:
    """What the diagnosis reads beyond the History: the curvature along the last update, the
    growth of the weights' norm over the last epochs, whether the model is convex (a single
    Linear with a loss of CONVEX) and, for a classifier without alpha,
    whether it puts every training row in its class."""
    facts: dict[str, Any] = {"convex": isinstance(model, Linear) and loss_fn in CONVEX}
    norms = watch.norms
    if norms:
        w = min(window_size(epochs, None), len(norms) - 1)
        before = norms[-w - 1]
        facts["weight_norm"] = norms[-1]
        facts["weight_growth"] = norms[-1] / before if before > 0 else math.nan
        facts["weight_growth_epochs"] = w
    c, ratio = (
        update_curvature(model, data, loss_fn, watch.update, alpha)
        if watch.update
        else (math.nan, math.nan)
    )
    if math.isfinite(c):
        facts["update_curvature"] = c
    if math.isfinite(ratio):
        facts["step_to_curvature"] = ratio
    classifier = loss_fn in (losses.bce_with_logits, losses.cross_entropy)
    if classifier and not alpha and in_reach(data, model):
        facts["rows_separated"] = rows_separated(model, data, loss_fn)
    return facts


def _flattest(
    model: Any, data: Any, loss_fn: Loss, alpha: float, curv: Curvature, gap: Any
) -> Curvature:
    """A logistic or softmax loss's curvature with mu where it is smallest that the run knows:
    at the weights reached, or at the optimum's (where the last of the way is travelled); L
    stays the largest anywhere, the one the rate must respect."""
    places = [model]
    if gap is not None and gap.weights is not None:
        best = Linear(model.in_features, model.out_features, bias=model.bias is not None)
        best.weight.data[...] = gap.weights[: model.in_features]
        if best.bias is not None:
            best.bias.data[...] = gap.weights[-1]
        places.append(best)
    found = [curvature_of(m, data, loss_fn, alpha, at_weights=True) for m in places]
    mus = [c.mu for c in found if c is not None and c.mu > 0]
    if not mus:
        return curv
    where = "mu at the weights reached" + (" or the optimum" if len(places) > 1 else "")
    return Curvature(curv.L, min(mus), f"{curv.method}; {where}", curv.rows, curv.scale_ratio)


def _agree(history: History, verdict: str) -> None:
    """The stop line says what the verdict says: a run Convergence stopped short of converged
    is ``stalled``; one that ran all its epochs into the tolerance does not say it did not
    converge."""
    if history.stop_reason == "converged" and verdict != "converged":
        history.stop_reason = "stalled"  # the loss stopped improving short of converged
        history.stop_message = (
            f"{history.stop_message.rstrip('.')}, short of converged (the diagnosis says why)."
        ).lstrip()
    if history.stop_reason == "max_epochs" and verdict == "converged":
        history.stop_message = (
            f"It ran all {history.epochs} epochs, and the diagnosis finds the loss converged "
            "before Convergence saw it settle for its patience."
        )


SAME = ("batch_size", "shuffle", "seed", "tol", "patience", "clip_norm", "recover", "schedule")
"""The settings of a run that copies trained for a comparison keep."""


def _same(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The run's SAME settings; a schedule object anew from its parameters (ReduceOnPlateau
    keeps what it learned of the run's losses)."""
    kept = {k: kwargs[k] for k in SAME if k in kwargs}
    schedule = kept.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        kept["schedule"] = type(schedule)(
            **{k: v for k, v in vars(schedule).items() if not k.endswith("_")}
        )
    return kept


def diagnosed_train(
    model: Any,
    data: Any,
    loss_fn: Loss,
    *args: Any,
    curvature: Curvature | None = None,
    callbacks: Sequence[Callback] = (),
    alpha: float = 0.0,
    rate: dict[str, str] | None = None,
    trials: bool = False,
    **kwargs: Any,
) -> History:
    """``learn.training.train(model, data, loss_fn, ...)``, then the diagnosis of the run
    (in ``history.diagnosis``); a diverged run's stop message names the rate to try.

    ``curvature``: the loss's curvature, when the caller measured it already (fit, for
    lr='auto'); for linear regression its mu lets Convergence stop on the gradient bound.
    ``rate``: how lr='auto' chose the rate (``lr_rule``, ``lr_reason``), for the settings
    (the diagnosis does not send a run back to the rule that chose its rate).
    ``trials``: for a separable or overfitting verdict, compare alphas on held-out rows
    (``alphas.py``; fit asks for them, a sweep's many runs do not)."""
    fresh = kwargs.get("resume") is None  # a resumed run did not start from these weights
    start = copy_model(model) if trials and fresh else None
    if curvature is None:
        curvature = curvature_of(model, data, loss_fn, alpha)
    mu = curvature.mu if curvature is not None and loss_fn is losses.mse else None
    watch = Watch()
    history = train(
        model, data, loss_fn, *args, callbacks=[*callbacks, watch], alpha=alpha,
        mu=mu if mu is not None and mu > 0 else None, **kwargs,
    )  # fmt: skip
    history.settings.update(rate or {})
    stopped = interrupts.requested()
    gap, note = (None, "") if stopped else gap_of(model, data, loss_fn, alpha)
    if loss_fn is not losses.mse and curvature is not None and not stopped:
        curvature = _flattest(model, data, loss_fn, alpha, curvature, gap)
    facts = _facts(model, data, loss_fn, watch, alpha, history.epochs)
    if kwargs.get("validation") is not None:  # of the weights returned, not of the last epoch
        facts["final_val_loss"] = kwargs["validation"].loss(model, loss_fn)
    diagnosis = diagnose(history, gap, note=note, curvature=curvature, facts=facts)
    if start is not None and not stopped and wanted(diagnosis.verdict, diagnosis.evidence):
        run = {"optimizer": args[0], "lr": history.settings["lr"], "epochs": args[2],
               "callbacks": callbacks, "loss_fn": loss_fn, "settings": _same(kwargs),
               "model": model}  # fmt: skip
        found = alpha_trials(
            start, data, kwargs.get("validation"), loss_fn, run, diagnosis.evidence
        )
        if found:  # the verdict's advice rests on them
            facts.update(found)
            diagnosis = diagnose(history, gap, note=note, curvature=curvature, facts=facts)
    history.diagnosis = diagnosis.to_dict()
    _agree(history, diagnosis.verdict)
    if interrupts.requested() and history.stop_reason != "interrupted":
        history.stop_message = (
            f"Interrupted after the last epoch ({history.epochs - 1}), while the run was "
            f"being finished; it had stopped: {history.stop_reason}. {history.stop_message}"
        ).rstrip()
        history.stop_reason = "interrupted"
    if history.stop_reason == "diverged" and "lr" in diagnosis.suggested:
        lr = diagnosis.suggested["lr"]
        shown = f"'{lr}'" if isinstance(lr, str) else f"{lr:g}"
        history.stop_message += f" Try lr={shown}, as the diagnosis suggests."
    return history
