"""The training loop: epochs of forward pass, loss, backward pass and weight update. Nothing else.

Everything around it (stopping, the learning rate, validation, printing,
checkpoints) is a callback's decision; the run's beginning and end, the captured
step and Ctrl-C are ``learn/training.py``'s. Full batch (``batch_size=None``) sums
the gradients of the data's row blocks (``learn/blocks.py``), then takes one
step; minibatches take one step each. ``run.cursor`` says how far an epoch
has come, so a resumed run (``callbacks/checkpoint.py``) continues mid-epoch.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Sequence

from .blocks import mean_gradient
from .callbacks.base import Callback, Cursor, Run
from .optim import clip_grad_norm, global_grad_norm
from .step import CapturedStep


def _full_batch(run: Run, clip_norm: float | None) -> tuple[float, float]:
    optimizer, params = run.optimizer, run.params
    loss = mean_gradient(run.model, run.data, run.loss_fn, run.penalty)
    norm = clip_grad_norm(params, clip_norm) if clip_norm else global_grad_norm(params)
    optimizer.step()
    return loss, norm


def _minibatches(
    run: Run,
    callbacks: Sequence[Callback],
    batch_size: int,
    shuffle: bool,
    clip_norm: float | None,
    step: CapturedStep | None = None,
) -> tuple[float, float]:
    """One epoch of minibatch steps, from the cursor's batch on: (the epoch's weighted mean
    loss, the gradient norm of its last step). ``step``: the captured step (learn/step.py),
    which computes the batches it can replay and hands the others to the data."""
    optimizer, params, data, cursor = run.optimizer, run.params, run.data, run.cursor
    batches = data.batches(batch_size, shuffle, run.rng)
    batch_gradient = data.batch_gradient if step is None else step.batch_gradient
    for batch in itertools.islice(batches, cursor.batch, None):  # those done before a resume
        optimizer.zero_grad()
        value, counted = batch_gradient(run.model, run.loss_fn, batch)
        if not math.isfinite(value):
            return value, math.nan  # no further steps on broken weights
        value += run.penalty.add_gradient(run.penalised)
        norm = clip_grad_norm(params, clip_norm) if clip_norm else math.nan
        optimizer.step()
        cursor.advance(value * counted, counted, norm)  # value: a weighted mean
        for cb in callbacks:
            cb.on_batch_end(run)
    norm = cursor.norm if clip_norm else global_grad_norm(params)  # of the last step
    return cursor.total / cursor.seen, norm


def loop(
    run: Run,
    callbacks: Sequence[Callback],
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    clip_norm: float | None = None,
    step: CapturedStep | None = None,
    settled: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext,
) -> None:
    """Train ``run.model`` on ``run.data`` from epoch ``run.epoch`` until epoch ``epochs`` (or
    a callback's stop), into ``run.history``. ``step``: the captured minibatch step, if any;
    ``settled``: what an epoch's bookkeeping (its record and its callbacks) runs in."""
    history, model = run.history, run.model
    started = time.perf_counter() - (history.time[-1] if history.time else 0.0)
    if run.stopping:  # resumed from a run that had stopped by itself: nothing is left to do
        return
    for epoch in range(run.epoch, epochs):
        if not run.cursor.batch:  # a resumed epoch has begun already
            run.epoch_start = run.snapshot()
        run.epoch = epoch  # after the snapshot: an interrupt drops epochs from here on
        if not run.cursor.batch:
            for cb in callbacks:
                cb.on_epoch_begin(run)
        model.train()
        if batch_size is None:
            loss, norm = _full_batch(run, clip_norm)
        else:
            loss, norm = _minibatches(run, callbacks, batch_size, shuffle, clip_norm, step)
        with settled():
            run.cursor = Cursor()
            lr, elapsed = run.optimizer.lr, time.perf_counter() - started
            history.record(loss=loss, lr=lr, grad_norm=norm, time=elapsed)
            for cb in callbacks:
                cb.on_epoch_end(run)
        if run.stopping:
            break
