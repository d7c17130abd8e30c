"""Ctrl-C around a training run, by the one policy of ``descend.interrupts``.

``interruptible(run)`` holds the run's beginning and its epochs: Ctrl-C there raises
KeyboardInterrupt, and an interrupted run ends as ``interrupted`` with the weights of its
last finished epoch (an epoch cut short is dropped); before the first epoch has finished
the KeyboardInterrupt goes on, and the weights are put back as they were. From the end of
the epochs on, the weights learned are worth keeping: Ctrl-C only asks to stop.
``settled()`` holds an epoch's bookkeeping (its record and its callbacks), which always
runs to its end; a stop asked meanwhile ends the run right after it.

The loop (``learn/loop.py``) knows none of this: ``learn/training.py`` wraps it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .. import interrupts
from .callbacks.base import Run


@contextlib.contextmanager
def interruptible(run: Run) -> Iterator[None]:
    """A block of training in which Ctrl-C ends ``run`` as ``interrupted``."""
    try:
        with interrupts.raising():
            yield
            interrupts.keep()  # the weights learned are worth keeping from here on
    except KeyboardInterrupt:
        interrupts.request()
        _interrupted(run)


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """An epoch's bookkeeping: it finishes even when Ctrl-C comes, and the run stops after."""
    with interrupts.deferred():
        yield
    if interrupts.requested():
        raise KeyboardInterrupt


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
