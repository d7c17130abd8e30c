"""The training loop: epochs of forward pass, loss, backward pass and weight update. Nothing else.

Everything around it (stopping, the learning rate, validation, printing) is a
callback's decision. Full batch (``batch_size=None``) sums the gradients of the
data's row blocks (``learn/blocks.py``), then takes one step; minibatches take
one step each. An interrupt (Ctrl-C) ends the run as ``interrupted`` and keeps
the weights learned so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from .callbacks.base import Callback, Run
from .optim import clip_grad_norm, global_grad_norm


def _full_batch(run: Run, clip_norm: float | None) -> tuple[float, float]:
    optimizer, params = run.optimizer, run.params
    optimizer.zero_grad()
    total, count = run.data.gradient(run.model, run.loss_fn)
    for p in params:
        if p.grad is not None:
            p.grad *= 1.0 / count
    penalty = run.penalty.add_gradient(run.penalised)
    norm = clip_grad_norm(params, clip_norm) if clip_norm else global_grad_norm(params)
    optimizer.step()
    return total / count + penalty, norm


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
        value += run.penalty.add_gradient(run.penalised)
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
    for cb in callbacks:
        cb.on_train_begin(run)
    started = time.perf_counter()
    try:
        for epoch in range(epochs):
            run.epoch = epoch
            run.epoch_start = run.snapshot()
            for cb in callbacks:
                cb.on_epoch_begin(run)
            model.train()
            if batch_size is None:
                loss, norm = _full_batch(run, clip_norm)
            else:
                loss, norm = _minibatches(run, batch_size, shuffle, rng, clip_norm)
            lr, elapsed = run.optimizer.lr, time.perf_counter() - started
            history.record(loss=loss, lr=lr, grad_norm=norm, time=elapsed)
            for cb in callbacks:
                cb.on_epoch_end(run)
            if run.stopping:
                break
    except KeyboardInterrupt:
        run.stop(
            "interrupted", f"Interrupted at epoch {run.epoch}; the weights learned so far are kept."
        )
    run.stop("max_epochs")
    model.eval()
    history.final_loss = run.evaluate()
    for cb in callbacks:
        cb.on_train_end(run)
