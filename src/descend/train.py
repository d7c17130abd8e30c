"""fit(): the lesson's training loop, for any model, loss and optimizer, with its diagnosis.

Each epoch: forward pass, loss, backward pass, weight update; repeated until
a callback stops the run or ``epochs`` is reached. Full-batch gradient
descent (``batch_size=None``) adds up the gradients of row blocks, so memory
holds one block of activations at a time and each block of X is read once.

``fit`` is the facade over the layers: it checks its arguments (once), puts
the data in blocks (in memory, or Dask partitions), holds out the validation
rows (once), picks the rate for ``lr='auto'``, trains (``learn/``), measures
the gap to the exact optimum and diagnoses the run (``understand/``), and
prints the Stopped line and the diagnosis.

>>> import numpy as np, descend
>>> from descend import nn
>>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
>>> model = nn.Linear(1, 1, init="zeros")
>>> history = descend.fit(model, X, y, lr=0.1, epochs=500, verbose=False)
>>> model.weight.data.round(3).ravel(), model.bias.data.round(3)
(array([2.]), array([1.]))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from . import interrupts
from ._validation import (
    NONE,
    Boolean,
    Constraints,
    Interval,
    Options,
    Satisfies,
    at_least,
    non_negative,
    positive,
    validate_params,
)
from .engine.backend import xp
from .errors import InputError
from .learn.blocks import ArrayBlocks, evaluate_loss
from .learn.callbacks import Callback, ConvergenceWarning
from .learn.callbacks.base import CALLBACKS
from .learn.history import History
from .learn.losses import Loss, get_loss
from .learn.optim import Optimizer
from .learn.schedules import Schedule
from .learn.training import held_out, is_blocks, is_pair, printer
from .scale.dask import DaskBlocks, is_dask
from .scale.sources import is_files
from .scale.stream import FileBlocks
from .understand.diagnose import Diagnosis
from .understand.rates import RateChoice, choose_rate
from .understand.runs import diagnosed_train

__all__ = ["ConvergenceWarning", "evaluate_loss", "fit"]

VERIFY_TOL = 1e-10
"""fit(verify=True): the largest relative difference allowed from the in-memory gradient."""


def is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


FIT_CONSTRAINTS: Constraints = {
    "lr": [positive(), Options("auto"), NONE],
    "epochs": [at_least(1)],
    "batch_size": [at_least(1), Options(None, "full")],
    "shuffle": [Boolean()],
    "seed": [Interval(int, 0, None, "left")],
    "validation": [
        Interval(float, 0, 1, "neither", words="a fraction"),
        Satisfies(is_pair, "(X_val, y_val)", invalid="yes"),
        Satisfies(is_blocks, "rows in blocks"),
        NONE,
    ],
    "callbacks": [CALLBACKS],
    "log_every": [non_negative(int)],
    "verbose": [Boolean(), Satisfies(callable, "a function that prints one line")],
    "tol": [non_negative(), NONE],
    "patience": [non_negative(int)],
    "clip_norm": [positive(), NONE],
    "recover": [Boolean()],
    "block_size": [at_least(1), NONE],
    "alpha": [non_negative()],
    "checkpoint": [Satisfies(is_path, "a file path"), NONE],
    "checkpoint_every": [at_least(1)],
    "resume": [Satisfies(is_path, "a file path"), NONE],
    "verify": [Boolean()],
    "summary": [Boolean()],
}


def _model_dtype(model: Any) -> Any:
    params = model.parameters()
    if not params:
        raise InputError("fit: the model has no parameters to learn; give it at least one layer.")
    return params[0].data.dtype


def _rows(X: Any, y: Any, sample_weight: Any, dtype: Any, block_size: Any) -> Any:
    """The training data as row blocks: given so, in files, in Dask partitions, or
    checked in-memory arrays."""
    if not (is_blocks(X) or is_files(X) or is_dask(X)):
        return ArrayBlocks(X, y, sample_weight, block_size, dtype=dtype)
    if sample_weight is not None:
        raise InputError(
            "With data in files or Dask partitions, fit takes no sample_weight: leave "
            "sample_weight=None."
        )
    if is_blocks(X):
        return X
    if is_files(X):
        return FileBlocks(X, y, dtype=dtype, block_size=block_size)
    return DaskBlocks(X, y, dtype)


def _auto(
    model: Any, rows: Any, loss_fn: Loss, optimizer: Any, batch_size: Any, seed: int, alpha: float,
    trial: dict[str, Any],
) -> RateChoice:  # fmt: skip
    """lr='auto': the rate (and momentum) by ``understand.rates`` rules, from the training rows
    (in files: the curvature summed over their blocks; in Dask partitions: of the first),
    compared on a held-out slice of them with the run's ``trial`` settings (in memory)."""
    if not (isinstance(rows, ArrayBlocks) or hasattr(rows, "sample") or hasattr(rows, "blocks")):
        raise InputError(
            f"lr='auto' reads the rows, and {type(rows).__name__} gives neither blocks nor a "
            "sample of them; pass lr as a number."
        )
    return choose_rate(
        model, loss=loss_fn, optimizer=optimizer, batch_size=batch_size, seed=seed,
        alpha=alpha, rows=rows, trial=trial,
    )  # fmt: skip


def verified(model: Any, rows: Any, loss_fn: Loss, log: Callable[[str], None]) -> float:
    """The largest relative difference between the gradient of a sample of ``rows`` (their
    first block, computed as in training) and the in-memory gradient of the same rows;
    InputError above VERIFY_TOL."""
    if isinstance(rows, ArrayBlocks):  # what the others are checked against
        log("verify: the rows are in memory, what data in blocks is checked against.")
        return 0.0
    if not hasattr(rows, "sample"):
        raise InputError(
            f"verify=True compares a sample of the rows with memory, and {type(rows).__name__} "
            "gives no sample (a sample() method); leave verify=False."
        )
    sample, (X, y, _) = rows.sample()
    grads = []
    for source in (sample, ArrayBlocks(X, y, dtype=X.dtype)):
        for p in model.parameters():
            p.grad = None
        total, count = source.gradient(model, loss_fn)
        grads.append([total / count] + [p.grad.ravel() / count for p in model.parameters()])
    for p in model.parameters():
        p.grad = None
    ours, reference = (xp.concatenate([xp.ravel(v) for v in g]) for g in grads)
    scale = max(float(xp.abs(reference).max()), 1e-300)
    difference = float(xp.abs(ours - reference).max()) / scale
    if difference > VERIFY_TOL:
        raise InputError(
            f"verify: the loss and gradient of a sample of {len(X)} rows differ from the "
            f"in-memory ones by {difference:.3g} (relative), more than {VERIFY_TOL:g}; the "
            f"data source {type(rows).__name__} does not compute what training in memory would."
        )
    log(
        f"verify: the loss and gradient of {len(X)} sample rows equal the in-memory ones "
        f"(largest relative difference {difference:.2g})."
    )
    return difference


@validate_params(FIT_CONSTRAINTS)
@interrupts.entry()
def fit(
    model: Any,
    X: Any,
    y: Any,
    loss: str | Loss = "mse",
    optimizer: str | Optimizer = "sgd",
    lr: float | str | None = None,
    epochs: int = 100,
    batch_size: int | str | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation: Any = None,
    callbacks: Sequence[Callback] = (),
    log_every: int = 10,
    verbose: bool | Callable[[str], None] = True,
    *,
    tol: float | None = 1e-5,
    patience: int = 10,
    schedule: str | Schedule | None = None,
    clip_norm: float | None = None,
    sample_weight: Any = None,
    recover: bool = False,
    block_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: str | os.PathLike[str] | None = None,
    verify: bool = False,
    alpha: float = 0.0,
    summary: bool = True,
) -> History:
    """Train ``model`` on (X, y) by gradient descent and return the History.

    ``batch_size=None`` (or ``'full'``) is full-batch gradient descent, as in the
    lesson; an int gives minibatches, reshuffled each epoch when ``shuffle``.
    ``validation`` is ``(X_val, y_val)`` or a fraction of the rows to hold out.
    ``tol``/``patience`` set the default Convergence callback (``tol=None``: none):
    the run has converged when its loss is within ``tol`` (relative) of its minimum;
    for linear regression, whose smallest curvature mu is known, the gradient bound
    proves it, otherwise the loss must improve by less than ``tol`` for ``patience``
    epochs. A Divergence callback always watches the loss (``recover=True`` to retry
    with a smaller learning rate instead of stopping).

    ``lr='auto'`` (what the default ``lr=None`` means, unless ``optimizer`` is an
    Optimizer object, which carries its rate) picks it by ``descend.understand.rates``: from the
    curvature for linear and logistic models in full batch with sgd, momentum or
    nesterov (1/L, and Nesterov's momentum for the condition number), by a range test
    (fastai's lr_find) otherwise; it says which and why when ``verbose``.
    ``alpha``: L2 regularisation, the loss minimised is the mean loss + (alpha / 2)
    |w|^2 over the weights (not the biases); see ``descend.learn.penalty`` for
    scikit-learn's equivalents. The History's loss and the optimisation gap include it.

    ``X`` may also be table files (a Parquet file, a folder or glob of them, a CSV; ``y``
    names the target column), read in row blocks, or a Dask Array or DataFrame (``y`` the
    Dask target, or its column name: ``fit(model, dd.read_parquet(path), "y")``). ``verify`` checks that such data gives the
    in-memory gradient on a sample. ``checkpoint`` keeps the run's state in a file
    (every ``checkpoint_every`` epochs, after the last and on Ctrl-C); ``resume``
    continues from one, bit for bit as if never stopped.

    ``summary``: print the Stopped line and the diagnosis after the run (when ``verbose``);
    the estimators print their own, in their units (their ``alpha`` is scikit-learn's).

    Ctrl-C ends the run as ``'interrupted'`` with the weights of its last finished epoch
    (``descend.interrupts``); before the first epoch has finished it raises
    KeyboardInterrupt and leaves the model as it was.
    """
    batch_size = None if batch_size in (None, "full") else int(batch_size)
    loss_fn = get_loss(loss)
    dtype = _model_dtype(model)
    rows, held = held_out(_rows(X, y, sample_weight, dtype, block_size), validation, seed, dtype)
    choice = None
    if lr is None and not isinstance(optimizer, Optimizer):
        lr = "auto"  # the default; an Optimizer object carries its own rate
    if lr == "auto":  # choose_rate refuses an Optimizer object: it carries its own rate
        trial = {
            "epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, "seed": seed,
            "tol": tol, "patience": patience, "clip_norm": clip_norm, "alpha": alpha,
            "schedule": schedule if isinstance(schedule, str) else None,
        }  # fmt: skip
        choice = _auto(model, rows, loss_fn, optimizer, batch_size, seed, alpha, trial)
        optimizer, lr = choice.optimizer(str(optimizer), model.parameters()), None  # a name
        printer(verbose)(f"lr='auto': {choice.summary()}")
    if verify:
        verified(model, rows, loss_fn, printer(verbose))
    history = diagnosed_train(
        model, rows, loss_fn, optimizer, None if isinstance(optimizer, Optimizer) else lr,
        epochs, batch_size=batch_size, shuffle=shuffle, seed=seed, validation=held,
        callbacks=callbacks, log_every=log_every, verbose=verbose, tol=tol, patience=patience,
        schedule=schedule, clip_norm=clip_norm, recover=recover, checkpoint=checkpoint,
        checkpoint_every=checkpoint_every, resume=resume, alpha=alpha,
        curvature=choice.curvature if choice and isinstance(rows, ArrayBlocks) else None,
        rate=None if choice is None else {"lr_rule": choice.rule, "lr_reason": choice.reason},
        trials=True,
    )  # fmt: skip
    if summary:
        print_summary(history, printer(verbose))
    return history


def print_summary(history: History, log: Callable[[str], None]) -> None:
    """The Stopped line and the diagnosis of a run, as ``fit`` prints them at its end."""
    log(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
    log(str(Diagnosis.from_dict(history.diagnosis or {})))
