"""fit(): the lesson's training loop, for any model, loss and optimizer.

Each epoch: forward pass, loss, backward pass, weight update; repeated until
a callback stops the run or ``epochs`` is reached. Full-batch gradient
descent (``batch_size=None``) adds up the gradients of row blocks, so memory
holds one block of activations at a time and each block of X is read once.

>>> import numpy as np, descend
>>> from descend import nn
>>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
>>> model = nn.Linear(1, 1, init="zeros")
>>> history = descend.fit(model, X, y, lr=0.1, epochs=500, verbose=False)
>>> model.weight.data.round(3).ravel(), model.bias.data.round(3)
(array([2.]), array([1.]))
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ._validation import check_int
from .data import batch_indices, row_blocks, to_array, to_targets, train_validation_split
from .engine import ops
from .engine.backend import xp
from .engine.tensor import no_grad
from .errors import InputError
from .learn.callbacks import Callback, Convergence, Divergence, Run
from .learn.history import History
from .learn.losses import Loss, get_loss
from .learn.optim import Optimizer, clip_grad_norm, global_grad_norm, make_optimizer
from .learn.schedules import Schedule, make_schedule
from .scale.dask import accumulate_dask, is_dask, partitions
from .understand.diagnose import diagnose, gap_and_note, linear_gap_applies

GAP_MAX_VALUES = 2_000_000
"""fit compares a linear model with the exact optimum automatically up to this size of X."""

BLOCK_BYTES = 1 << 21
"""Full-batch gradients are computed over row blocks of X of about this many bytes."""


class ConvergenceWarning(UserWarning):
    """The run reached its last epoch before the loss converged."""


Block = tuple[Any, Any, Any]  # X rows, y rows, sample weights (or None)


def block_rows(X: Any, block_size: int | None = None) -> int:
    """Rows per block: ``block_size``, or as many as fit in BLOCK_BYTES."""
    if block_size is not None:
        return int(block_size)
    row_bytes = max(1, X[:1].nbytes)
    return max(64, BLOCK_BYTES // row_bytes)


def blocks_of(X: Any, y: Any, weight: Any, rows: int) -> Iterator[Block]:
    """Contiguous row blocks (views, not copies) of X, y and the weights."""
    for block in row_blocks(len(X), rows):
        yield X[block], y[block], None if weight is None else weight[block]


def accumulate(
    model: Any, loss_fn: Loss, blocks: Iterable[Block], backward: bool
) -> tuple[float, float]:
    """Sum the loss over blocks, and with ``backward`` add each block's gradient into
    the parameters' ``.grad``; returns (sum of the loss, count it is a mean over).

    The gradient of a dataset is the sum of the gradients of its row blocks: this
    one function serves full-batch training, evaluation and streamed (Dask) data.
    The caller divides the sums by the count.
    """
    total, count = 0.0, 0.0
    for Xb, yb, wb in blocks:
        per_element = loss_fn(model(Xb), yb, reduction="none", weight=wb)
        block_sum = ops.sum(per_element)
        if backward:
            block_sum.backward()
        rows = len(Xb)
        per_row = per_element.size // rows if rows else 0
        total += float(block_sum.data)
        count += (rows if wb is None else float(wb.sum())) * per_row
    return total, count


def evaluate_loss(
    model: Any,
    X: Any,
    y: Any,
    loss: str | Loss = "mse",
    sample_weight: Any = None,
    block_size: int | None = None,
) -> float:
    """The mean loss of ``model`` on (X, y), block by block, without a graph."""
    loss_fn = get_loss(loss)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            total, count = accumulate(
                model, loss_fn, blocks_of(X, y, sample_weight, block_rows(X, block_size)), False
            )
    finally:
        if was_training:
            model.train()
    return total / count if count else math.nan


def _check_lr(lr: Any) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise InputError(
            f"The 'lr' parameter of fit must be a float in (0, inf) or 'auto'. Got {lr!r} instead."
        )
    return float(lr)


def _model_dtype(model: Any) -> Any:
    params = model.parameters()
    if not params:
        raise InputError("fit: the model has no parameters to learn; give it at least one layer.")
    return params[0].data.dtype


def _targets(y: Any, n_rows: int, dtype: Any, name: str = "y") -> Any:
    y = to_targets(y, name=name, dtype=dtype)
    if len(y) != n_rows:
        what = "weight" if name == "sample_weight" else "target"
        raise InputError(f"X has {n_rows} rows but {name} has {len(y)}; give one {what} per row.")
    return y


def _callbacks(
    callbacks: Sequence[Callback], tol: float | None, patience: int, recover: bool
) -> list[Callback]:
    chosen = list(callbacks)
    for cb in chosen:
        if not isinstance(cb, Callback):
            raise InputError(
                f"fit: every callback must be a descend.callbacks.Callback; got {cb!r}."
            )
    if not any(isinstance(cb, Divergence) for cb in chosen):
        chosen.insert(0, Divergence(recover=recover))
    if tol is not None and not any(isinstance(cb, Convergence) for cb in chosen):
        chosen.append(Convergence(tol=tol, patience=patience))
    return chosen


def _cosine(a: list[Any], b: list[Any]) -> float:
    dot = sum(float(xp.vdot(u, v)) for u, v in zip(a, b))
    norm = math.sqrt(sum(float(xp.vdot(u, u)) for u in a) * sum(float(xp.vdot(v, v)) for v in b))
    return dot / norm if norm > 0 else math.nan


def _printer(verbose: bool) -> Callable[[str], None]:
    def log(line: str) -> None:
        if verbose:
            print(line, file=sys.stdout, flush=True)

    return log


def _undo_a_diverged_last_step(
    run: Run, chosen: list[Callback], X: Any, y: Any, loss_fn: Loss, weight: Any, block_size: Any
) -> None:
    """When the last update blew the loss up (no epoch left to see it), put back the
    Divergence callback's good weights and stop the run as diverged."""
    history = run.history
    divergence = next(cb for cb in chosen if isinstance(cb, Divergence))
    final = history.final_loss
    if final is None or not divergence.is_diverged(final) or history.stop_reason == "diverged":
        return
    lr = run.optimizer.lr
    last = history.epochs - 1
    history.events.append({"epoch": last, "event": "diverged", "loss": final, "lr": lr})
    good = getattr(divergence, "good_epoch_", -1)
    run.restore(divergence.good_weights_)
    history.final_loss = evaluate_loss(run.model, X, y, loss_fn, weight, block_size)
    history.stop_reason = "diverged"
    history.stop_message = (
        f"The loss diverged in the last update (epoch {last}): the weights it gave have loss "
        f"{final:.4g}, so the learning rate {lr:g} is too large. "
        + (
            f"The weights from epoch {good} were restored"
            if good >= 0
            else "The initial weights were restored"
        )
        + f" (loss {history.final_loss:.4g})."
    )


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
    verbose: bool = True,
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
    smaller learning rate instead of stopping).
    """
    check_int(epochs, "epochs", "fit", "[1, inf)")
    check_int(log_every, "log_every", "fit", "[0, inf)")
    if batch_size == "full":
        batch_size = None
    if batch_size is not None:
        check_int(batch_size, "batch_size", "fit", "[1, inf)")
        batch_size = int(batch_size)
    if clip_norm is not None and not (isinstance(clip_norm, (int, float)) and clip_norm > 0):
        raise InputError(
            f"The 'clip_norm' parameter of fit must be a float in (0, inf). Got {clip_norm!r}."
        )
    loss_fn = get_loss(loss)
    dtype = _model_dtype(model)
    parts = None  # Dask partitions, when the data lives in Dask
    weight = None
    if is_dask(X):
        if batch_size is not None or sample_weight is not None or lr == "auto":
            raise InputError(
                "With Dask data, fit runs full-batch gradient descent with a given lr: leave "
                "batch_size=None and sample_weight=None and pass lr as a number."
            )
        if validation is not None and not isinstance(validation, (tuple, list)):
            raise InputError(
                "With Dask data, validation must be (X_val, y_val) in memory; a fraction "
                "would need a split of the Dask table: make it with random_split."
            )
        parts = partitions(X, y)
    else:
        X = to_array(X, name="X", dtype=dtype)
        y = _targets(y, len(X), dtype)
        if sample_weight is not None:
            weight = _targets(sample_weight, len(X), dtype, name="sample_weight").ravel()
            if (weight < 0).any() or not weight.sum() > 0:
                raise InputError(
                    "sample_weight must be >= 0 with a positive sum; give at least one row a "
                    "positive weight."
                )

    X_val = y_val = w_val = None
    if validation is not None:
        if isinstance(validation, float):
            if not 0 < validation < 1:
                raise InputError(
                    "The 'validation' parameter of fit must be a fraction in (0, 1) of the rows "
                    f"to hold out, or (X_val, y_val). Got {validation!r} instead."
                )
            train_rows, val_rows = train_validation_split(len(X), validation, seed)
            X_val, y_val = X[val_rows], y[val_rows]
            w_val = None if weight is None else weight[val_rows]
            X, y = X[train_rows], y[train_rows]
            weight = None if weight is None else weight[train_rows]
        elif isinstance(validation, (tuple, list)) and len(validation) == 2:
            X_val = to_array(validation[0], name="X_val", dtype=dtype)
            y_val = _targets(validation[1], len(X_val), dtype, name="y_val")
            if parts is None and X_val.shape[1:] != X.shape[1:]:
                raise InputError(
                    f"X_val has {X_val.shape[1]} columns but X has {X.shape[1]}; "
                    "validation data needs the same columns."
                )
        else:
            raise InputError(
                "The 'validation' parameter of fit must be (X_val, y_val) or a fraction in "
                f"(0, 1) of the rows to hold out. Got {type(validation).__name__} instead."
            )

    if lr == "auto":
        from .understand.sweep import auto_lr  # a short sweep on the training rows picks it

        lr = auto_lr(
            model,
            X,
            y,
            loss=loss_fn,
            optimizer=optimizer,
            batch_size=batch_size,
            seed=seed,
            verbose=verbose,
        )
    lr = _check_lr(lr) if not isinstance(optimizer, Optimizer) else optimizer.lr

    params = model.parameters()
    opt = make_optimizer(optimizer, params, lr)
    sched = make_schedule(schedule) if schedule is not None else None
    history = History(
        settings={
            "loss": getattr(loss_fn, "__name__", str(loss_fn)),
            "optimizer": type(opt).__name__,
            "lr": opt.lr,
            "epochs": epochs,
            "batch_size": batch_size,
            "shuffle": shuffle,
            "seed": seed,
            "rows": None if parts is not None else len(X),
            "validation_rows": 0 if X_val is None else len(X_val),
        }
    )
    log = _printer(verbose)
    run = Run(model, opt, history, log, has_validation=X_val is not None)
    chosen = _callbacks(callbacks, tol, patience, recover)
    rng = xp.random.default_rng(seed)
    rows = block_rows(X, block_size) if parts is None else 0
    started = time.perf_counter()
    previous_update: list[Any] | None = None

    def one_epoch() -> tuple[float, float]:
        """Train for one epoch; returns (the epoch's loss, gradient norm)."""
        model.train()
        if batch_size is None:  # full batch, block by block
            opt.zero_grad()
            if parts is not None:
                total, count = accumulate_dask(model, loss_fn, parts, dtype)
            else:
                total, count = accumulate(model, loss_fn, blocks_of(X, y, weight, rows), True)
            for p in params:
                if p.grad is not None:
                    p.grad *= 1.0 / count
            norm = clip_grad_norm(params, clip_norm) if clip_norm else global_grad_norm(params)
            opt.step()
            return total / count, norm
        total = seen = 0.0
        norm = math.nan
        batches = list(batch_indices(len(X), batch_size, shuffle, rng))
        for i, index in enumerate(batches):
            opt.zero_grad()
            wb = None if weight is None else weight[index]
            batch_loss = loss_fn(model(X[index]), y[index], weight=wb)
            value = float(batch_loss.data)
            if not math.isfinite(value):
                return value, math.nan  # no further steps on broken weights
            batch_loss.backward()
            if clip_norm:
                norm = clip_grad_norm(params, clip_norm)
            elif i == len(batches) - 1:
                norm = global_grad_norm(params)
            opt.step()
            counted = len(index) if wb is None else float(wb.sum())  # value: a weighted mean
            total += value * counted
            seen += counted
        return total / seen, norm

    try:
        for cb in chosen:
            cb.on_train_begin(run)
        for epoch in range(epochs):
            run.epoch = epoch
            last = history.loss[-1] if history.loss else None
            opt.lr = sched(epoch, run.base_lr, last) if sched is not None else opt.lr
            run.epoch_start = start = run.snapshot()
            for cb in chosen:
                cb.on_epoch_begin(run)
            epoch_loss, norm = one_epoch()
            update = [p.data - s for p, s in zip(params, start)]
            cosine = _cosine(update, previous_update) if previous_update is not None else math.nan
            previous_update = update
            history.record(
                loss=epoch_loss,
                lr=opt.lr,
                grad_norm=norm,
                update_cosine=cosine,
                time=time.perf_counter() - started,
            )
            line = f"Epoch {epoch:3d}: loss = {epoch_loss:.4f}"
            if X_val is not None:
                val = evaluate_loss(model, X_val, y_val, loss_fn, w_val, block_size)
                history.record(val_loss=val)
                line += f", val_loss = {val:.4f}"
            for cb in chosen:
                cb.on_epoch_end(run)
            event = history.events[-1] if history.events else {}
            told = event.get("epoch") == epoch and event.get("event") == "recovered"  # logged
            if (
                log_every
                and not told
                and (epoch % log_every == 0 or run.stopping or epoch == epochs - 1)
            ):
                log(line)
            if run.stopping:
                break
    except KeyboardInterrupt:
        if not all(xp.isfinite(p.data).all() for p in params):
            divergence = next(cb for cb in chosen if isinstance(cb, Divergence))
            run.restore(divergence.good_weights_)
        run.stop(
            "interrupted",
            f"Interrupted at epoch {run.epoch}; the weights learned so far are kept.",
        )
    if history.stop_reason is None:
        history.stop_reason = "max_epochs"
        convergence = next((cb for cb in chosen if isinstance(cb, Convergence)), None)
        if convergence is not None:
            improvement = getattr(convergence, "last_improvement_", math.nan)
            history.stop_message = (
                f"The loss did not converge in {epochs} epochs (last relative improvement "
                f"{improvement:.2g}, tol {convergence.tol:g}): raise epochs, or raise lr if the "
                "loss falls slowly and steadily."
            )
            warnings.warn(history.stop_message, ConvergenceWarning, stacklevel=2)
    for cb in chosen:
        cb.on_train_end(run)
    model.eval()
    if parts is None:  # the loss of the weights returned (not over Dask: one more pass)
        history.final_loss = evaluate_loss(model, X, y, loss_fn, weight, block_size)
        _undo_a_diverged_last_step(run, chosen, X, y, loss_fn, weight, block_size)
    gap, note = None, ""
    if parts is None and X.size <= GAP_MAX_VALUES:
        gap, note = gap_and_note(model, X, y, loss_fn, weight)
    elif parts is None and linear_gap_applies(model, loss_fn):
        note = (
            f"The gap to the exact optimum is left out above {GAP_MAX_VALUES:,} values of X "
            "(it costs several passes over the data); descend.optimisation_gap(model, X, y) "
            "computes it."
        )
    diagnosis = diagnose(history, gap, note=note)
    history.diagnosis = diagnosis.to_dict()
    if history.stop_reason == "diverged" and "lr" in diagnosis.suggested:
        history.stop_message += f" Try lr={diagnosis.suggested['lr']:g}, as the diagnosis suggests."
    log(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
    log(str(diagnosis))
    return history
