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
from .errors import InputError
from .learn.blocks import ArrayBlocks, evaluate_loss
from .learn.callbacks import Callback, ConvergenceWarning
from .learn.history import History
from .learn.losses import Loss, get_loss
from .learn.optim import Optimizer
from .learn.schedules import Schedule
from .learn.training import held_out, is_pair, printer
from .scale.dask import DaskBlocks, is_dask
from .understand.diagnose import Diagnosis
from .understand.runs import diagnosed_train

__all__ = ["ConvergenceWarning", "evaluate_loss", "fit"]


FIT_CONSTRAINTS: Constraints = {
    "lr": [positive(), Options("auto")],
    "epochs": [at_least(1)],
    "batch_size": [at_least(1), Options(None, "full")],
    "shuffle": [Boolean()],
    "seed": [Interval(int, 0, None, "left")],
    "validation": [
        Interval(float, 0, 1, "neither", words="a fraction"),
        Satisfies(is_pair, "(X_val, y_val)", invalid="yes"),
        NONE,
    ],
    "log_every": [non_negative(int)],
    "verbose": [Boolean(), Satisfies(callable, "a function that prints one line")],
    "tol": [non_negative(), NONE],
    "patience": [non_negative(int)],
    "clip_norm": [positive(), NONE],
    "recover": [Boolean()],
    "block_size": [at_least(1), NONE],
}


def _model_dtype(model: Any) -> Any:
    params = model.parameters()
    if not params:
        raise InputError("fit: the model has no parameters to learn; give it at least one layer.")
    return params[0].data.dtype


def _rows(X: Any, y: Any, sample_weight: Any, dtype: Any, block_size: Any, lr: Any) -> Any:
    """The training data as row blocks: Dask partitions, or checked in-memory arrays."""
    if not is_dask(X):
        return ArrayBlocks(X, y, sample_weight, block_size, dtype=dtype)
    if sample_weight is not None or lr == "auto":
        raise InputError(
            "With Dask data, fit runs full-batch gradient descent with a given lr: leave "
            "batch_size=None and sample_weight=None and pass lr as a number."
        )
    return DaskBlocks(X, y, dtype)


@validate_params(FIT_CONSTRAINTS)
@interrupts.entry()
def fit(
    model: Any,
    X: Any,
    y: Any,
    loss: str | Loss = "mse",
    optimizer: str | Optimizer = "sgd",
    lr: float | str = 0.01,
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
) -> History:
    """Train ``model`` on (X, y) by gradient descent and return the History.

    ``batch_size=None`` (or ``'full'``) is full-batch gradient descent, as in the
    lesson; an int gives minibatches, reshuffled each epoch when ``shuffle``.
    ``validation`` is ``(X_val, y_val)`` or a fraction of the rows to hold out.
    ``tol``/``patience`` set the default Convergence callback (``tol=None``: none);
    a Divergence callback always watches the loss (``recover=True`` to retry with a
    smaller learning rate instead of stopping). Ctrl-C ends the run as ``'interrupted'``
    with the weights of its last finished epoch (``descend.interrupts``); before the
    first epoch has finished it raises KeyboardInterrupt and leaves the model as it was.
    """
    batch_size = None if batch_size in (None, "full") else int(batch_size)
    loss_fn = get_loss(loss)
    dtype = _model_dtype(model)
    if is_dask(X) and batch_size is not None:
        raise InputError(
            "With Dask data, fit runs full-batch gradient descent with a given lr: leave "
            "batch_size=None and sample_weight=None and pass lr as a number."
        )
    rows, held = held_out(
        _rows(X, y, sample_weight, dtype, block_size, lr), validation, seed, dtype
    )
    if lr == "auto":
        from .understand.sweep import auto_lr  # a short sweep on the training rows picks it

        lr = auto_lr(
            model, rows.X, rows.y, loss_fn, optimizer, batch_size, seed, verbose, rows.weight
        )
    history = diagnosed_train(
        model, rows, loss_fn, optimizer, None if isinstance(optimizer, Optimizer) else lr,
        epochs, batch_size=batch_size, shuffle=shuffle, seed=seed, validation=held,
        callbacks=callbacks, log_every=log_every, verbose=verbose, tol=tol, patience=patience,
        schedule=schedule, clip_norm=clip_norm, recover=recover,
    )  # fmt: skip
    log = printer(verbose)
    log(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
    log(str(Diagnosis.from_dict(history.diagnosis or {})))
    return history
