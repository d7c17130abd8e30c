"""Persisted partitions held by one actor a worker: each epoch costs one call a worker.

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

import time
from collections.abc import Callable
from typing import Any

from ..errors import InputError

RETRIES = 5
"""How many times a call is repeated after losing a worker before its error is raised."""


class BlockHolder:
    """An actor on one worker: its prepared partitions, by index, and their sums."""

    def __init__(self, indices: list[int], *parts: Any) -> None:
        from .dask import reuse_memory

        reuse_memory()
        self.parts = dict(zip(indices, parts))

    def sums(self, config: Any, state: Any, loss_fn: Any, backward: bool) -> dict[int, Any]:
        from .dask import partition_sums

        return {
            i: partition_sums(config, state, loss_fn, p, backward) for i, p in self.parts.items()
        }

    def batch(self, config: Any, state: Any, loss_fn: Any, index: int, rows: Any) -> Any:
        from .dask import batch_sums

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
