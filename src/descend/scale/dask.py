"""Gradient descent on data that outgrows one machine, with Dask.

The gradient of a data set is the sum of the gradients of its row blocks. With
a Dask Array or DataFrame, each partition is turned into checked arrays and
persisted once, where it lives (the workers of a ``dask.distributed`` client,
the user's or a ``LocalCluster``; this process with Dask's local schedulers).
Each epoch then sends the weights to one task per partition, which rebuilds
the model, adds up the loss and gradient of its rows by
``learn.blocks.accumulate`` and returns them as one vector of p values; the
vectors are added in a tree of tasks, so one vector comes back. Minibatches
follow ``learn.blocks.block_plan``: the partitions in a seeded shuffled order,
the rows shuffled within each, one task per step on the partition's worker.
On a ``distributed`` cluster the partitions are held by one actor a worker
(``workers.py``): an epoch is one call a worker, not one scheduled task a
partition. A lost worker's partitions are recomputed by Dask from their
lineage and the call repeated. Table files read by Dask (``read_files``, or
``dd.read_parquet(path)``) are a Dask DataFrame like any other.

>>> import numpy as np, dask.array as da, descend
>>> from descend import nn
>>> X = da.from_array(np.linspace(0, 1, 40).reshape(-1, 1), chunks=10)
>>> y = 2 * X[:, 0] + 1
>>> model = nn.Linear(1, 1, init="zeros")
>>> h = descend.fit(model, X, y, lr=0.5, epochs=2000, tol=1e-12, verbose=False)
>>> model.weight.data.round(3).ravel(), model.bias.data.round(3)
(array([2.]), array([1.]))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from ..learn.blocks import Block, block_plan
from ..learn.losses import Loss
from .sources import Selection, TableFiles
from .stream import _numbers
from .workers import Holders, batch_sums, partition_sums


def is_dask(data: Any) -> bool:
    """True for a Dask Array, DataFrame or Series."""
    return type(data).__module__.split(".")[0] == "dask"


def active_client() -> Any:
    """The ``dask.distributed`` client in use (the user's, or one a command started), or None."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def read_files(files: TableFiles) -> Any:
    """Table files as a Dask DataFrame of their columns (``files.names``), read by Dask."""
    import dask.dataframe as dd

    if files.kind == "parquet":
        return dd.read_parquet(files.paths, columns=files.names)
    return dd.read_csv(files.paths, usecols=files.names, assume_missing=True)


def partitions(X: Any, y: Any) -> list[tuple[Any, Any]]:
    """(X part, y part) Dask delayed objects, one pair per row partition; with a Dask
    DataFrame ``X`` and a column name ``y``, the target is that column."""
    if isinstance(y, str) and hasattr(X, "columns"):
        X, y = X[[c for c in X.columns if c != y]], X[y]
    if not is_dask(y):
        raise InputError(
            "With Dask features the targets must be a Dask Array or Series with the same "
            f"partitions; got {type(y).__name__}. Take y from the same Dask table."
        )
    if hasattr(X, "columns"):  # a DataFrame: the target rides along in its partitions
        return _frame_parts(X, y)
    else:
        if X.ndim != 2:
            raise InputError(
                f"X must be 2-D (rows x columns); got a Dask Array of shape {X.shape}."
            )
        X = X.rechunk({1: -1})  # whole rows in each block
        y = y.rechunk({0: X.chunks[0]})
        x_parts, y_parts = list(X.to_delayed().ravel()), list(y.to_delayed().ravel())
    if len(x_parts) != len(y_parts):
        raise InputError(
            f"X has {len(x_parts)} partitions but y has {len(y_parts)}; give y the same "
            "partitions as X (take both from one Dask table)."
        )
    return list(zip(x_parts, y_parts))


TARGET = "__descend_target__"


def with_target(X: Any, y: Any) -> Any:
    """A Dask DataFrame ``X`` with its target ``y`` (a Dask Series of the same table) as one
    more column, ``TARGET``: one frame, whose partitions hold each row's features and target
    together (persisted apart, Dask could no longer tell that their rows match)."""
    if not (is_dask(y) and hasattr(y, "to_frame")):
        raise InputError(
            f"With a Dask DataFrame X, y must be a Dask Series (a column of the same table) "
            f"or a column name; got a {type(y).__name__}."
        )
    return X.assign(**{TARGET: y})


def _frame_parts(X: Any, y: Any) -> list[tuple[Any, Any]]:
    """(features, target) of each partition of ``X`` with ``y`` as one more column: taken
    apart, Dask may read them in different partitions (one column of a file is small)."""
    import dask

    return [
        (dask.delayed(_without)(part), dask.delayed(_target)(part, y.name))
        for part in with_target(X, y).to_delayed()
    ]


def _without(part: Any) -> Any:
    return part.drop(columns=TARGET)


def _target(part: Any, name: Any) -> Any:
    return part[TARGET].rename(name)


def _prepared(x: Any, y: Any, index: int, prepare: Callable[..., Any]) -> Any:
    """One task: partition ``index`` as checked arrays (X, y)."""
    try:
        return _column_major(*prepare(x, y))
    except InputError as error:
        raise InputError(f"Partition {index}: {error}") from None


def _taken(part: Any, offset: int, selection: Selection) -> Any:
    """One task: the selected rows of a prepared partition that starts at row ``offset``."""
    keep = selection.mask(offset, len(part[0]))
    return _column_major(part[0][keep], part[1][keep])


def _column_major(X: Any, y: Any) -> tuple[Any, Any]:
    """(X, y), X's columns each contiguous (as pandas keeps a table's numbers). A partition
    is kept for every epoch, and a full-batch pass over it (X @ w and X.T @ g on blocks of
    rows) runs about a third faster so than on rows each contiguous; gathering a minibatch's
    rows is slower, a small part of a step's round trip to its worker."""
    return np.asfortranarray(X), y


def _arrays(dtype: Any) -> Callable[[Any, Any], tuple[Any, Any]]:
    """A partition's numbers as they are (what ``fit`` takes): X and y, checked."""

    def prepare(x: Any, y: Any) -> tuple[Any, Any]:
        import pandas as pd

        frame = x if hasattr(x, "columns") else pd.DataFrame(np.asarray(x))
        target = y if hasattr(y, "iloc") else pd.Series(np.asarray(y), name="y")
        return _numbers(frame, "X", dtype), _numbers(target, str(target.name or "y"), dtype)

    return prepare


def _added(a: tuple[float, float, Any], b: tuple[float, float, Any]) -> tuple[float, float, Any]:
    return a[0] + b[0], a[1] + b[1], None if a[2] is None else a[2] + b[2]


def tree(items: list[Any], combine: Callable[[Any, Any], Any] = _added, eager: bool = False) -> Any:
    """Results combined pairwise, as a tree: each level halves them. Delayed ones are
    combined on the workers, so one result comes back; ``eager`` combines them here."""
    import dask

    step = combine if eager else dask.delayed(combine)
    while len(items) > 1:
        pairs = [step(a, b) for a, b in zip(items[::2], items[1::2])]
        items = pairs + items[len(pairs) * 2 :]
    return items[0]


def _unflat(model: Any, vector: Any) -> None:
    start = 0
    for p in model.parameters():
        p.grad = vector[start : start + p.data.size].reshape(p.data.shape).astype(p.data.dtype)
        start += p.data.size


class DaskBlocks:
    """Rows in Dask partitions, persisted once, as the training loop sees data (see the
    module). ``prepare(x_part, y_part)`` turns a partition into arrays (default: its numbers
    as they are); ``selection`` keeps the training or validation rows of a split."""

    def __init__(
        self,
        X: Any,
        y: Any,
        dtype: Any = np.float64,
        prepare: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    ) -> None:
        import dask

        self.dtype = dtype
        self.prepare = prepare or _arrays(dtype)
        tasks = [
            dask.delayed(_prepared)(x, t, i, self.prepare)
            for i, (x, t) in enumerate(partitions(X, y))
        ]
        self._keep(dask.persist(*tasks))  # read and checked once, kept where they are
        self.selection: Selection | None = None
        self._holders: Any = None  # the actors holding them, on a distributed cluster

    def _keep(self, parts: Sequence[Any]) -> None:
        import dask

        self.parts = list(parts)
        self.lengths = [int(n) for n in dask.compute(*[dask.delayed(_len)(p) for p in self.parts])]
        self.n_rows = sum(self.lengths)

    def split(self, fraction: float, seed: int) -> tuple[DaskBlocks, DaskBlocks]:
        """(training rows, validation rows), chosen by row number (``sources.Selection``)."""
        import dask

        if self.selection is not None:
            raise InputError("These rows are already split; split the whole data once.")
        starts = np.cumsum([0, *self.lengths[:-1]]).tolist()
        made = []
        for validation in (False, True):
            part = object.__new__(DaskBlocks)
            vars(part).update(vars(self))
            part._holders, part.selection = None, Selection(fraction, seed, validation)
            tasks = [
                dask.delayed(_taken)(p, start, part.selection)
                for p, start in zip(self.parts, starts)
            ]
            part._keep(dask.persist(*tasks))
            made.append(part)
        if not made[0].n_rows or not made[1].n_rows:
            raise InputError(
                f"validation={fraction} leaves no rows on one side of the split of "
                f"{self.n_rows} rows; use more rows or another fraction."
            )
        return made[0], made[1]

    def _on_workers(self) -> Any:
        """The actors holding the partitions on a distributed cluster (None without one)."""
        if self._holders is None and active_client() is not None:
            self._holders = Holders(active_client(), self.parts)
        return self._holders

    def _sums(self, model: Any, loss_fn: Loss, backward: bool) -> tuple[float, float, Any]:
        import dask

        config, state = model.to_config(), model.state_dict()
        holders = self._on_workers()
        if holders is not None:  # one call a worker; the sums added here, in partition order
            return tree(holders.sums(config, state, loss_fn, backward), eager=True)  # type: ignore[no-any-return]
        tasks = [
            dask.delayed(partition_sums)(config, state, loss_fn, p, backward) for p in self.parts
        ]
        (result,) = dask.compute(tree(tasks))
        return result  # type: ignore[no-any-return]

    def gradient(self, model: Any, loss_fn: Loss) -> tuple[float, float]:
        """Add the gradient sums of every partition into ``.grad``; (loss sum, count)."""
        total, count, vector = self._sums(model, loss_fn, True)
        _unflat(model, vector)
        return total, count

    def loss(self, model: Any, loss_fn: Loss) -> float:
        """The mean loss of ``model`` over every partition (one pass, no graph)."""
        total, count, _ = self._sums(model, loss_fn, False)
        return total / count if count else math.nan

    def batches(self, batch_size: int, shuffle: bool, rng: Any) -> Iterator[tuple[int, Any]]:
        """(partition, rows) of each minibatch, by ``block_plan``; the rows stay where they are."""
        return block_plan(self.lengths, batch_size, shuffle, rng)

    def batch_gradient(self, model: Any, loss_fn: Loss, batch: Any) -> tuple[float, float]:
        import dask

        part, rows = batch
        config, state, holders = model.to_config(), model.state_dict(), self._on_workers()
        if holders is not None:
            value, counted, vector = holders.batch(config, state, loss_fn, part, rows)
        else:
            task = dask.delayed(batch_sums)(config, state, loss_fn, self.parts[part], rows)
            value, counted, vector = dask.compute(task)[0]
        if vector is not None:
            _unflat(model, vector)
        return value, counted

    def blocks(self) -> Iterator[Block]:
        """Each partition's rows brought here in turn, (X, y, None): one pass over the data
        in the client's memory a partition at a time (``lr='auto'`` sums the curvature so)."""
        import dask

        for part in self.parts:
            X, y = dask.compute(part)[0]
            yield X, y, None

    def sample(self) -> tuple[Any, Block]:
        """The first partition alone, and its rows brought here (``verify`` compares them)."""
        import dask

        one = object.__new__(DaskBlocks)
        vars(one).update(vars(self))
        one._holders, one.parts, one.lengths = None, self.parts[:1], self.lengths[:1]
        one.n_rows = self.lengths[0]
        X, y = dask.compute(self.parts[0])[0]
        return one, (X, y, None)


def _len(part: Any) -> int:
    return len(part[0])
