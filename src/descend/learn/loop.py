"""The training loop: epochs of forward pass, loss, backward pass and weight update. Nothing else.

Everything around it (stopping, the learning rate, validation, printing) is a
callback's decision. Full batch (``batch_size=None``) sums the gradients of the
data's row blocks (``learn/blocks.py``), then takes one step; minibatches take
one step each.

Ctrl-C (``descend.interrupts``) ends the run as ``interrupted`` with the weights of
its last finished epoch (an epoch cut short is dropped); before the first epoch has
finished it is a KeyboardInterrupt, and the weights are put back as they were. An
epoch's bookkeeping (its record and its callbacks) always runs to its end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from .. import interrupts
from .callbacks.base import Callback, Run
from .optim import clip_grad_norm, global_grad_norm


def _full_batch(run: Run, clip_norm: float | None) -> tuple[float, float]:
    optimizer, params = run.optimizer, run.params
    optimizer.zero_grad()
    total, count = run.data.gradient(run.model, run.loss_fn)
    for p in params:
        if p.grad is not None:
            p.grad *= 1.0 / count
    norm = clip_grad_norm(params, clip_norm) if clip_norm else global_grad_norm(params)
    optimizer.step()
    return total / count, norm


def _minibatches(
    run: Run, batch_size: int, shuffle: bool, rng: Any, clip_norm: float | None
) -> tuple[float, float]:
    """One epoch of minibatch steps: (the epoch's weighted mean loss, last gradient norm)."""
    optimizer, params, loss_fn = run.optimizer, run.params, run.loss_fn
    total = seen = 0.0
    norm = math.nan
    for Xb, yb, wb in run.data.batches(batch_size, shuffle, rng):
        optimizer.zero_grad()
        batch_loss = loss_fn(run.model(Xb), yb, weight=wb)
        value = float(batch_loss.data)
        if not math.isfinite(value):
            return value, math.nan  # no further steps on broken weights
        batch_loss.backward()
        norm = clip_grad_norm(params, clip_norm) if clip_norm else math.nan
        optimizer.step()
        counted = len(Xb) if wb is None else float(wb.sum())  # value: a weighted mean
        total += value * counted
        seen += counted
    if not clip_norm:
        norm = global_grad_norm(params)  # the gradient of the epoch's last step
    return total / seen, norm


def loop(
    run: Run,
    callbacks: Sequence[Callback],
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    rng: Any = None,
    clip_norm: float | None = None,
) -> None:
    """Train ``run.model`` on ``run.data`` for at most ``epochs`` epochs, into ``run.history``."""
    history, model = run.history, run.model
    try:
        with interrupts.raising():
            for cb in callbacks:
                cb.on_train_begin(run)
            _epochs(run, callbacks, epochs, batch_size, shuffle, rng, clip_norm)
            interrupts.keep()  # the weights learned are worth keeping from here on
    except KeyboardInterrupt:
        interrupts.request()
        _interrupted(run)
    run.stop("max_epochs")
    model.eval()
    history.final_loss = run.evaluate()
    for cb in callbacks:
        cb.on_train_end(run)


def _epochs(
    run: Run,
    callbacks: Sequence[Callback],
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    rng: Any,
    clip_norm: float | None,
) -> None:
    history, model = run.history, run.model
    started = time.perf_counter()
    for epoch in range(epochs):
        run.epoch_start = run.snapshot()
        run.epoch = epoch  # after the snapshot: an interrupt drops epochs from here on
        for cb in callbacks:
            cb.on_epoch_begin(run)
        model.train()
        if batch_size is None:
            loss, norm = _full_batch(run, clip_norm)
        else:
            loss, norm = _minibatches(run, batch_size, shuffle, rng, clip_norm)
        with interrupts.deferred():  # the epoch is done: its record and callbacks complete
            lr, elapsed = run.optimizer.lr, time.perf_counter() - started
            history.record(loss=loss, lr=lr, grad_norm=norm, time=elapsed)
            for cb in callbacks:
                cb.on_epoch_end(run)
        if interrupts.requested():
            raise KeyboardInterrupt
        if run.stopping:
            break


def _interrupted(run: Run) -> None:
    """End an interrupted run with the weights of its last finished epoch; before the first
    one, put the starting weights back and let the KeyboardInterrupt go on."""
    history = run.history
    if history.epochs <= run.epoch:  # the epoch in progress was cut short: drop it
        run.restore(run.epoch_start)
    if not history.epochs:
        raise KeyboardInterrupt
    finished = history.epochs
    run.stop(
        "interrupted",
        f"Interrupted after {finished} finished epoch{'s' * (finished > 1)}; the weights of "
        f"epoch {finished - 1}, the last finished, are kept.",
    )
