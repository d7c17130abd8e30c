"""One training run, set up: the optimizer, the callbacks every run has, the loop around.

Around the loop (``learn/loop.py``, the epochs and nothing else) a run begins and ends here:
its callbacks' first and last hooks, the captured minibatch step (``learn/step.py``), Ctrl-C
(``learn/interrupted.py``), and the loss of the weights it ends with.

``train`` takes data already in blocks (``ArrayBlocks``, or a Dask or streamed
source from ``scale/``) and returns the History; it chooses no learning rate
and reads no diagnosis (``descend.fit`` does both, above this layer).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from .._validation import Constraints, Satisfies, check
from ..data import train_validation_split
from ..engine.backend import xp
from ..errors import InputError
from .blocks import ArrayBlocks
from .callbacks import (
    Callback,
    Checkpoint,
    Convergence,
    Divergence,
    EarlyStopping,
    EpochLog,
    LearningRateSchedule,
    Run,
    UpdateCosine,
    ValidationLoss,
)
from .history import History
from .interrupted import interruptible, settled
from .loop import loop
from .losses import Loss
from .optim import Optimizer, make_optimizer
from .penalty import L2
from .schedules import Schedule, make_schedule
from .step import compile_step


def is_pair(value: Any) -> bool:
    """True for (X_val, y_val) or (X_val, y_val, sample weights): a tuple or list."""
    return isinstance(value, (tuple, list)) and len(value) in (2, 3)


def is_blocks(value: Any) -> bool:
    """True for rows already in blocks: ArrayBlocks, or a file or Dask source from scale/."""
    return all(hasattr(value, name) for name in ("gradient", "loss", "batches", "n_rows"))


UNSPLIT_VALIDATION: Constraints = {
    "validation": [
        Satisfies(is_pair, "(X_val, y_val) in memory (rows in blocks without a split of "
                  "their own cannot be split by a fraction)"),
        Satisfies(is_blocks, "held-out rows in blocks"),
    ]
}  # fmt: skip
"""What ``validation`` may be for rows in blocks that cannot split themselves."""


def held_out(rows: Any, validation: Any, seed: int, dtype: Any) -> tuple[Any, Any]:
    """(training rows, validation rows or None): a fraction of ``rows`` held out (the split,
    computed here once), or given (X_val, y_val)."""
    if validation is None:
        return rows, None
    if is_pair(validation):
        weight = validation[2] if len(validation) == 3 else None
        held = ArrayBlocks(
            validation[0], validation[1], weight, dtype=dtype, names=("X_val", "y_val")
        )
        width = getattr(rows, "X", held.X).shape[1:]  # data beyond memory is checked per block
        if held.X.shape[1:] != width:
            raise InputError(
                f"X_val has {held.X.shape[1]} columns but X has {width[0]}; "
                "validation data needs the same columns."
            )
        return rows, held
    if is_blocks(validation):  # held-out rows already in blocks (a split of a file)
        return rows, validation
    if not isinstance(rows, ArrayBlocks):
        if hasattr(rows, "split"):  # rows in files or partitions: split by row number
            return rows.split(validation, seed)  # type: ignore[no-any-return]
        check("fit", UNSPLIT_VALIDATION, {"validation": validation})
    train_rows, val_rows = train_validation_split(rows.n_rows, validation, seed)
    return rows.take(train_rows), rows.take(val_rows)


def _schedule(schedule: str | Schedule | None, epochs: int) -> Schedule | None:
    """The run's schedule: by name, a cosine anneals over the run's epochs."""
    if isinstance(schedule, str) and schedule.lower() == "cosine":
        return make_schedule(schedule, t_max=epochs)
    return None if schedule is None else make_schedule(schedule)


def printer(verbose: bool | Callable[[str], None]) -> Callable[[str], None]:
    """What prints a run's lines: ``verbose`` itself when it is a function (the command
    line's, which shows flags), else print to stdout when ``verbose`` is true."""
    if callable(verbose):
        return verbose

    def log(line: str) -> None:
        if verbose:
            print(line, file=sys.stdout, flush=True)

    return log


def standard_callbacks(
    callbacks: Sequence[Callback],
    *,
    validation: Any,
    schedule: Schedule | None,
    tol: float | None,
    patience: int,
    recover: bool,
    log_every: int,
    epochs: int,
    mu: float | None = None,
) -> list[Callback]:
    """The user's callbacks with those every run has, in the order they must run.

    Measurements first (validation loss, update cosine), then the rate, then the
    decisions (Divergence before the user's, Convergence after), the epoch line, and
    a Checkpoint last (it saves the state every other callback has reached).
    """
    chosen: list[Callback] = [] if validation is None else [ValidationLoss(validation)]
    chosen.append(UpdateCosine())
    if schedule is not None:
        chosen.append(LearningRateSchedule(schedule))
    if not any(isinstance(cb, Divergence) for cb in callbacks):
        chosen.append(Divergence(recover=recover))
    chosen.extend(cb for cb in callbacks if not isinstance(cb, Checkpoint))
    if tol is not None and not any(isinstance(cb, Convergence) for cb in callbacks):
        chosen.append(Convergence(tol=tol, patience=patience, mu=mu))
    chosen.append(EpochLog(log_every, epochs))
    chosen.extend(cb for cb in callbacks if isinstance(cb, Checkpoint))  # sees every decision
    return chosen


def train(
    model: Any,
    data: Any,
    loss_fn: Loss,
    optimizer: str | Optimizer,
    lr: float | None,
    epochs: int,
    *,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation: Any = None,
    callbacks: Sequence[Callback] = (),
    log_every: int = 10,
    verbose: bool | Callable[[str], None] = True,
    tol: float | None = 1e-5,
    patience: int = 10,
    schedule: str | Schedule | None = None,
    clip_norm: float | None = None,
    recover: bool = False,
    checkpoint: Any = None,
    checkpoint_every: int = 1,
    resume: Any = None,
    alpha: float = 0.0,
    mu: float | None = None,
) -> History:
    """Train ``model`` on ``data`` (row blocks) and return the History of the run.

    ``checkpoint`` (a path) keeps the run's state there (every ``checkpoint_every``
    epochs, after the last and on Ctrl-C); ``resume`` continues from such a file.
    ``alpha``: the L2 penalty (alpha / 2) |w|^2 added to the loss (``learn/penalty.py``).
    ``mu``: the loss's strong convexity where known (linear models): the default
    Convergence then stops on the gradient bound, within ``tol`` of the minimum.
    """
    opt = make_optimizer(optimizer, model.parameters(), lr)
    history = History(
        settings={
            "loss": getattr(loss_fn, "__name__", str(loss_fn)),
            "optimizer": type(opt).__name__,
            "lr": opt.lr,
            "epochs": epochs,
            "batch_size": batch_size,
            "shuffle": shuffle,
            "seed": seed,
            "rows": getattr(data, "n_rows", None),
            "validation_rows": 0 if validation is None else validation.n_rows,
            "momentum": getattr(opt, "momentum", None),
            "nesterov": getattr(opt, "nesterov", None),
            "alpha": alpha,
            "tol": tol,
            "patience": patience,
            "schedule": None if schedule is None else str(schedule),
            "restore_best_weights": next(
                (cb.restore_best_weights for cb in callbacks if isinstance(cb, EarlyStopping)),
                None,
            ),
        }
    )
    if checkpoint is not None or resume is not None:
        callbacks = [*callbacks, Checkpoint(checkpoint, checkpoint_every, resume)]
    chosen = standard_callbacks(
        callbacks,
        validation=validation,
        schedule=_schedule(schedule, epochs),
        tol=tol,
        patience=patience,
        recover=recover,
        log_every=log_every,
        epochs=epochs,
        mu=mu,
    )
    rng = xp.random.default_rng(seed)
    run = Run(
        model, opt, history, data, loss_fn, printer(verbose), validation is not None, rng,
        L2(alpha),
    )  # fmt: skip
    run.callbacks = chosen
    try:
        _run(run, chosen, epochs, batch_size, shuffle, clip_norm)
    finally:  # whatever happened: a callback that holds something (Ctrl-C, a screen) lets go
        for cb in chosen:
            getattr(cb, "close", lambda: None)()
    return history


def _run(
    run: Run,
    callbacks: Sequence[Callback],
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    clip_norm: float | None,
) -> None:
    """The run from its first hook to its last: the loop, with the captured step when in
    minibatches, interruptible (an epoch's bookkeeping settled first), then its final loss."""
    model = run.model
    step = None if batch_size is None else compile_step(model, run.loss_fn, run.optimizer, run.data)
    with interruptible(run):
        for cb in callbacks:
            cb.on_train_begin(run)  # a resumed run is back where it was after this
        loop(run, callbacks, epochs, batch_size, shuffle, clip_norm, step, settled)
    run.stop("max_epochs")
    model.eval()
    run.history.final_loss = run.evaluate()
    for cb in callbacks:
        cb.on_train_end(run)
