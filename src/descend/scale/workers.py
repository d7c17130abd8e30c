"""What runs on the Dask workers: the sums of a partition, and the actors that hold them.

``partition_sums`` and ``batch_sums`` are the tasks (any scheduler). Persisted
partitions are held by one actor a worker: each epoch costs one call a worker.

On a ``dask.distributed`` cluster, sending one task a partition through the
scheduler each epoch costs tens of milliseconds on a small machine, more than
the gradient of a million rows. ``Holders`` instead places a ``BlockHolder``
actor on each worker, given the persisted partitions that live there; an epoch
is one direct call to each actor, which returns the sums of each of its
partitions (the loss, its count and the gradient vector of p values), and the
client adds them in partition order, as a pairwise tree: the same bits
wherever the partitions live. When a worker is lost, the call fails, the
scheduler recomputes the lost partitions from their lineage, new actors take
them, and the call is repeated with the same weights: nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine.tensor import no_grad
from ..errors import InputError
from ..learn.blocks import accumulate, batch_gradient, block_rows, blocks_of
from ..learn.losses import Loss
from ..learn.nn import from_config

RETRIES = 5
"""How many times a call is repeated after losing a worker before its error is raised."""


# ----- what runs where the partitions live ----------------------------------------------
_TUNED: list[bool] = []


def reuse_memory() -> None:
    """Let this worker process reuse freed memory for the blocks' arrays (once a process).

    ``distributed`` starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc
    hand back to the system all freed memory above 64 KiB and fix its mmap threshold at
    128 KiB: every array of a row block (about 2 MiB) is then mapped anew and page-faulted
    in, and a gradient pass runs 5 to 10 times slower than in the client. Larger thresholds
    let such arrays reuse the heap (at most 32 MiB of it kept free a worker).
    """
    if _TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    _TUNED.append(True)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 16 << 20)  # M_MMAP_THRESHOLD: arrays up to 16 MiB from the heap
        libc.mallopt(-1, 32 << 20)  # M_TRIM_THRESHOLD: keep up to 32 MiB freed for them


def partition_sums(
    config: dict[str, Any], state: dict[str, Any], loss_fn: Loss, part: Any, backward: bool
) -> tuple[float, float, Any]:
    """One task: the loss sum, its count and (``backward``) the gradient sums of one
    partition as one vector, by ``learn.blocks.accumulate`` where the partition lives."""
    reuse_memory()
    model = from_config(config)
    model.load_state_dict(state)
    model.train(backward)
    X, y = part
    blocks = blocks_of(X, y, None, block_rows(X))
    if not backward:
        with no_grad():
            total, count = accumulate(model, loss_fn, blocks, False)
        return total, count, None
    total, count = accumulate(model, loss_fn, blocks, True)
    return total, count, _flat(model)


def batch_sums(
    config: dict[str, Any], state: dict[str, Any], loss_fn: Loss, part: Any, rows: Any
) -> tuple[float, float, Any]:
    """One task: a minibatch of a partition's rows: (mean loss, rows, gradient vector)."""
    reuse_memory()
    model = from_config(config)
    model.load_state_dict(state)
    X, y = part
    value, counted = batch_gradient(model, loss_fn, (X[rows], y[rows], None))
    return value, counted, _flat(model) if math.isfinite(value) else None


def _flat(model: Any) -> Any:
    grads = [p.grad if p.grad is not None else np.zeros_like(p.data) for p in model.parameters()]
    return np.concatenate([g.ravel() for g in grads])


# ----- the actors -------------------------------------------------------------------------


class BlockHolder:
    """An actor on one worker: its prepared partitions, by index, and their sums."""

    def __init__(self, indices: list[int], *parts: Any) -> None:
        reuse_memory()
        self.parts = dict(zip(indices, parts))

    def sums(self, config: Any, state: Any, loss_fn: Any, backward: bool) -> dict[int, Any]:
        return {
            i: partition_sums(config, state, loss_fn, p, backward) for i, p in self.parts.items()
        }

    def batch(self, config: Any, state: Any, loss_fn: Any, index: int, rows: Any) -> Any:
        return batch_sums(config, state, loss_fn, self.parts[index], rows)


class Holders:
    """One BlockHolder a worker for ``parts`` (persisted Dask objects, one a partition)."""

    def __init__(self, client: Any, parts: list[Any]) -> None:
        from distributed import futures_of

        self.client = client
        self.futures = [futures_of(p)[0] for p in parts]
        self._place()

    def _place(self) -> None:
        """An actor on each worker, given the partitions that worker holds."""
        self.client.wait_for_workers(1, timeout=120)
        workers = sorted(self.client.scheduler_info()["workers"])
        holders = self.client.who_has(self.futures)
        groups: dict[str, list[int]] = {w: [] for w in workers}
        for i, future in enumerate(self.futures):
            alive = [w for w in holders.get(future.key, ()) if w in groups]
            groups[alive[0] if alive else workers[i % len(workers)]].append(i)
        self.actors, self.owner = [], {}
        for worker, indices in groups.items():
            if not indices:
                continue
            actor = self.client.submit(
                BlockHolder, indices, *[self.futures[i] for i in indices], actor=True,
                workers=[worker], allow_other_workers=True, pure=False,
            ).result()  # fmt: skip
            self.actors.append(actor)
            self.owner.update(dict.fromkeys(indices, actor))

    def _calls(self, calls: Callable[[], list[Any]]) -> list[Any]:
        """The results of the actor calls ``calls()`` makes; after a lost worker, placed anew
        and called again."""
        for attempt in range(RETRIES + 1):
            try:
                return [future.result() for future in calls()]
            except InputError:
                raise
            except Exception:
                if attempt == RETRIES:
                    raise
                time.sleep(0.5 * (attempt + 1))  # the nanny starts a new worker meanwhile
                self._place()
        raise AssertionError("unreachable")

    def sums(self, config: Any, state: Any, loss_fn: Any, backward: bool) -> list[Any]:
        """The sums of every partition, in partition order."""
        found: dict[int, Any] = {}
        for part in self._calls(
            lambda: [a.sums(config, state, loss_fn, backward) for a in self.actors]
        ):
            found.update(part)
        return [found[i] for i in range(len(self.futures))]

    def batch(self, config: Any, state: Any, loss_fn: Any, index: int, rows: Any) -> Any:
        """One minibatch of partition ``index``, on its worker."""
        return self._calls(lambda: [self.owner[index].batch(config, state, loss_fn, index, rows)])[
            0
        ]
