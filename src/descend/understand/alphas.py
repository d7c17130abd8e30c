"""Choosing alpha by a measured comparison on held-out rows: what the advice of the
``separable`` and ``overfitting`` verdicts rests on.

Without alpha the loss of separable classes has no minimum: the weights grow without bound
and the predicted probabilities get more extreme every epoch; a model that overfits learns
its training rows. alpha (L2) pulls the weights toward 0. Whether that helps new rows, and
how much alpha to take, depends on the data and the epochs (too little changes nothing, too
much underfits): only trials show it. ``alpha_trials`` trains copies of the model from the
weights the run started with, with the run's settings (optimizer, rate, epochs, batches,
seed, tolerance, schedule, a copy of its EarlyStopping), at alpha = TRIED / rows, and
measures each on rows it did not learn from:

- the run's validation rows when it has them, against the run's own validation loss (of
  the weights it returned);
- else each third of the training rows in turn (``rates.thirds``), against copies trained
  at the run's own alpha the same way.

The advice names the alpha with the lowest held-out loss among those below the run's by more
than GAIN and by more than the noise of the comparison (Z standard errors of the
difference, row by row: the same rows are held out for each); otherwise it says that no
alpha tried helps new rows. Trials run only for these
two verdicts (overfitting: only when the weights returned are already the best on the
validation rows, so that stopping earlier changes nothing), with rows in memory and small
enough (``rates.measurable``).
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

from ..engine.backend import xp
from ..learn.blocks import ArrayBlocks
from ..learn.callbacks import EarlyStopping
from ..learn.losses import Loss
from ..learn.nn import Module
from ..learn.optim import Optimizer, make_optimizer
from ..learn.training import train
from .rates import copy_model, measurable, row_losses, thirds

TRIED = (0.01, 0.1, 1.0, 10.0)
"""alpha x rows tried (a logistic model's: scikit-learn's C = 100, 10, 1 and 0.1)."""
GAIN = 0.1
"""An alpha is suggested when its held-out loss is below the run's by more than this share..."""
Z = 1.5
"""... and by more than Z standard errors of the difference (row by row): a one-sided
confidence of about 93% that it is not the luck of these rows."""
PREFIX = "held_out_at_alpha="
"""The evidence key of each trial: 'held_out_at_alpha=0.004' -> its mean held-out loss."""
NOISE = "held_out_noise_at_alpha="
"""... and of its noise: the standard error of its difference from the run's, row by row (the
rows are the same: a paired comparison)."""


def restored(e: dict[str, Any]) -> bool:
    """True when the weights returned are the best the run had on its validation rows (such
    as EarlyStopping(restore_best_weights=True) puts back): stopping earlier changes nothing."""
    best = e.get("best_val_loss", math.nan)
    return bool(e.get("final_val_loss", math.inf) <= best + 1e-6 * abs(best))


def wanted(verdict: str, e: dict[str, Any]) -> bool:
    """True for the verdicts whose advice rests on the trials (see the module docstring)."""
    return verdict == "separable" or (verdict == "overfitting" and restored(e))


def _optimizer(optimizer: Any, params: Any, lr: float) -> Optimizer:
    """A new optimizer like the run's (by name, or an Optimizer's class and hyperparameters)
    at the rate the run started with."""
    if isinstance(optimizer, Optimizer):
        settings = {**optimizer.hyperparameters(), "lr": lr}
        return type(optimizer)(params, **settings)
    return make_optimizer(optimizer, params, lr)


def _held_out_loss(
    start: Module, train_rows: ArrayBlocks, held: ArrayBlocks, loss_fn: Loss, run: dict[str, Any],
    alpha: float, watched: bool = False,
) -> Any:  # fmt: skip
    """Each row's loss on ``held`` of a copy of ``start`` trained on ``train_rows`` with the run's
    settings at ``alpha`` (inf when it diverged); ``watched``: ``held`` are the run's
    validation rows, which its EarlyStopping watched."""
    twin = copy_model(start)
    opt = _optimizer(run["optimizer"], twin.parameters(), run["lr"])
    stopping = [copy.deepcopy(cb) for cb in run["callbacks"] if isinstance(cb, EarlyStopping)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = train(
            twin, train_rows, run["loss_fn"], opt, None, run["epochs"], verbose=False,
            log_every=0, callbacks=stopping, alpha=alpha,
            validation=held if watched else None, **run["settings"],
        )  # fmt: skip
    per_row = row_losses(twin, held, loss_fn)
    if history.stop_reason == "diverged" or not bool(xp.isfinite(per_row).all()):
        return xp.full(held.n_rows, math.inf)
    return per_row


def alpha_trials(
    start: Module, rows: Any, validation: Any, loss_fn: Loss, run: dict[str, Any],
    e: dict[str, Any],
) -> dict[str, float]:  # fmt: skip
    """The evidence of the trials (see the module docstring): ``held_out_at_alpha=A`` (the
    mean held-out loss) and ``held_out_noise_at_alpha=A`` (the standard error of its
    difference from the run's, row by row) for each alpha tried; ``held_out_of_run`` (the
    run's own) and ``held_out_folds`` (0: the validation rows; else how many folds); {}
    where they do not run."""
    if not isinstance(rows, ArrayBlocks) or not measurable(rows, run["epochs"]):
        return {}
    alphas = [float(f"{t / rows.n_rows:.2g}") for t in TRIED]
    if isinstance(validation, ArrayBlocks) and math.isfinite(e.get("final_val_loss", math.nan)):
        folds = 0.0

        def held_out(alpha: float) -> Any:
            return _held_out_loss(start, rows, validation, loss_fn, run, alpha, watched=True)

        own = row_losses(run["model"], validation, loss_fn)
    else:
        parts = thirds(rows.n_rows, run["settings"].get("seed", 0))
        folds = float(len(parts))

        def held_out(alpha: float) -> Any:
            per_row = xp.zeros(rows.n_rows)
            for held in parts:
                kept = rows.take(xp.setdiff1d(xp.arange(rows.n_rows), held))
                per_row[held] = _held_out_loss(start, kept, rows.take(held), loss_fn, run, alpha)
            return per_row

        own = held_out(e["alpha"])
    found = {"held_out_folds": folds, "held_out_of_run": float(own.mean())}
    for alpha in alphas:
        per_row = held_out(alpha)
        found[f"{PREFIX}{alpha:g}"] = float(per_row.mean())
        difference = per_row - own
        found[f"{NOISE}{alpha:g}"] = float(difference.std() / math.sqrt(len(difference)))
    return found


def best_alpha(e: dict[str, Any]) -> tuple[float, float] | None:
    """(alpha, held-out loss) of the best trial among those that beat the run's by more than
    GAIN and by more than Z standard errors of the difference, row by row."""
    tried = [(float(k[len(PREFIX) :]), v) for k, v in e.items() if k.startswith(PREFIX)]
    better = [
        (alpha, value)
        for alpha, value in tried
        if value < (1 - GAIN) * e["held_out_of_run"]
        and e["held_out_of_run"] - value > Z * e[f"{NOISE}{alpha:g}"]
    ]
    return min(better, key=lambda t: t[1]) if better else None


def tried_words(e: dict[str, Any]) -> str:
    """'0.0042 at alpha=0.00004, 0.0038 at alpha=0.0004, ... (held out: ...)'."""
    tried = sorted((float(k[len(PREFIX) :]), v) for k, v in e.items() if k.startswith(PREFIX))
    where = (
        "on the validation rows"
        if not e["held_out_folds"]
        else "on each third of the training rows in turn, trained on the other two"
    )
    values = ", ".join(f"{v:.4g} at alpha={a:g}" for a, v in tried)
    return (
        f"copies of the model trained with this run's settings ended with a held-out loss "
        f"({where}) of {values}, against {e['held_out_of_run']:.4g} as this run was "
        f"(alpha={e['alpha']:g})"
    )
