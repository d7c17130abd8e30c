"""Training on table files larger than memory, on one machine: ``FileBlocks``.

The gradient of a data set is the sum of the gradients of its row blocks, so a
full-batch epoch reads the files once, block by block (pyarrow, see
``sources.py``), and memory holds a block (and pyarrow's read buffers) whatever
the size of the data.
Minibatches: Parquet row groups in a shuffled order, each read block by
block, the rows shuffled within each block (``learn.blocks.block_plan``); a
CSV file is read from its start, so its blocks keep their order and only
their rows are shuffled. A row group larger than a block (pyarrow writes
1,048,576 rows to one by default) is never held whole.
``FileBlocks`` offers the loop what ``ArrayBlocks`` offers for arrays in memory.

>>> import os, tempfile, numpy as np, pandas as pd, descend
>>> from descend import nn
>>> path = os.path.join(tempfile.mkdtemp(), "line.parquet")
>>> x = np.linspace(0, 1, 50); pd.DataFrame({"x": x, "y": 2 * x + 1}).to_parquet(path)
>>> model = nn.Linear(1, 1, init="zeros")
>>> h = descend.fit(model, path, "y", lr=0.5, epochs=3000, tol=1e-12, verbose=False)
>>> model.weight.data.round(3).ravel(), model.bias.data.round(3)
(array([2.]), array([1.]))
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..data import to_array, to_targets
from ..errors import InputError
from ..learn.blocks import Block, _without_graph, accumulate, batch_gradient, block_plan
from ..learn.losses import Loss
from .sources import Selection, TableFiles

Prepare = Callable[[Any], tuple[Any, Any]]
"""A block of the table (a DataFrame) -> (X rows, y rows) as the model learns them."""


def numeric(features: Sequence[str], target: str, dtype: Any = np.float64) -> Prepare:
    """Columns taken as they are (numbers only, as ``fit`` takes arrays)."""

    def prepare(frame: Any) -> tuple[Any, Any]:
        return _numbers(frame[list(features)], "X", dtype), _numbers(frame[target], target, dtype)

    return prepare


def _numbers(part: Any, name: str, dtype: Any) -> Any:
    """A DataFrame's or Series' numbers as a C-ordered array (rows contiguous: a row block
    is a view, and a matrix product reads it in order), or a named error."""
    values = part.to_numpy()
    if values.dtype.kind in "fiu" and np.isfinite(values.sum(dtype=np.float64)):
        return np.ascontiguousarray(values, dtype=dtype)
    if values.ndim == 1:  # a named error for text or a missing value, with its row
        return to_targets(part, name=f"Target {name!r}", dtype=dtype)
    return to_array(part, name=name, dtype=dtype)


class FileBlocks:
    """Rows of table files, read block by block on every pass (see the module).

    ``FileBlocks("big/*.parquet", target="y")`` learns ``y`` from every other column
    taken as numbers; ``prepare`` turns a block into arrays otherwise (the estimators'
    preprocessing). ``selection`` keeps the training or validation rows of a split;
    ``progress``, when set, is called with the rows of each block read.
    """

    def __init__(
        self,
        source: Any,
        target: str,
        features: Sequence[str] | None = None,
        prepare: Prepare | None = None,
        dtype: Any = np.float64,
        block_size: int | None = None,
    ) -> None:
        self.table = source if isinstance(source, TableFiles) else TableFiles(source, block_size)
        if not isinstance(target, str):
            raise InputError(
                f"With data in files, y names the target column; got {type(target).__name__}. "
                "Pass its name, such as y='price'."
            )
        self.table.check_columns([target])
        if features is None:
            features = [c for c in self.table.names if c != target]
        self.table.check_columns(features)
        self.features, self.target = list(features), target
        self.prepare = prepare or numeric(self.features, target, dtype)
        self.selection: Selection | None = None
        self.progress: Callable[[int], None] | None = None
        self.limit: int | None = None  # at most this many blocks a pass (a sample: 1)
        self._rows: int | None = None

    @property
    def columns(self) -> list[str]:
        return [*self.features, self.target]

    @property
    def n_rows(self) -> int:
        """The rows read on a pass (counted once: from the files' metadata where they say)."""
        if self._rows is None:
            lengths = self._unit_lengths()
            self._rows = sum(lengths) if lengths is not None else self._count()
        return self._rows

    def _count(self) -> int:
        frames = self.table.frames([self.target], selection=self.selection)
        return sum(len(frame) for frame in frames)

    def _unit_lengths(self) -> list[int] | None:
        """Rows of each unit (Parquet row group) after the selection; None for CSV."""
        rows = self.table.unit_rows
        if rows is None or self.selection is None:
            return rows
        starts, step = np.cumsum([0, *rows]), self.table.block_rows
        return [
            sum(
                int(self.selection.mask(s, min(step, start + n - s)).sum())
                for s in range(start, start + n, step)
            )
            for start, n in zip(starts.tolist(), rows)
        ]

    def split(self, fraction: float, seed: int) -> tuple[FileBlocks, FileBlocks]:
        """(training rows, validation rows): about ``fraction`` of the rows held out, chosen by
        their row number (``sources.Selection``), the same rows on every pass."""
        if self.selection is not None:
            raise InputError("These rows are already split; split the whole data once.")
        parts = []
        for validation in (False, True):
            part = copy.copy(self)
            part.selection, part._rows = Selection(fraction, seed, validation), None
            parts.append(part)
        if parts[1].n_rows == 0 or parts[0].n_rows == 0:
            raise InputError(
                f"validation={fraction} leaves no rows on one side of the split of "
                f"{self.n_rows} rows; use more rows or another fraction."
            )
        return parts[0], parts[1]

    def blocks(self, units: Sequence[int] | None = None) -> Iterator[Block]:
        frames = self.table.frames(self.columns, units, self.selection)
        for frame in itertools.islice(frames, self.limit):
            X, y = self.prepare(frame)
            if self.progress is not None:
                self.progress(len(X))
            yield X, y, None

    def sample(self) -> tuple[FileBlocks, Block]:
        """The first block alone, read as training reads it, and its rows (``verify``
        compares the two)."""
        one = copy.copy(self)
        one.limit, one.progress = 1, None
        X, y, _ = next(one.blocks())
        one._rows = len(X)
        return one, (X, y, None)

    def gradient(self, model: Any, loss_fn: Loss) -> tuple[float, float]:
        """One pass over the files: add the gradient sums into ``.grad``; (loss sum, count)."""
        return accumulate(model, loss_fn, self.blocks(), True)

    def loss(self, model: Any, loss_fn: Loss) -> float:
        """The mean loss of ``model`` on these rows (one pass, no graph)."""
        total, count = _without_graph(
            model, lambda: accumulate(model, loss_fn, self.blocks(), False)
        )
        return total / count if count else math.nan

    def batches(self, batch_size: int, shuffle: bool, rng: Any) -> Iterator[Block]:
        """Minibatches: the Parquet row groups in an order shuffled by ``rng`` (CSV files in
        their order: a row's number is known only by reading its file from the start), each
        read block by block, and ``block_plan`` over each block: its rows shuffled, its
        minibatches taken in turn. Memory holds one block, not a row group."""
        units = len(self.table.units)
        shuffled = shuffle and self.table.unit_rows is not None
        order = rng.permutation(units).tolist() if shuffled else list(range(units))
        for X, y, _ in self.blocks(order):
            for _, rows in block_plan([len(X)], batch_size, shuffle, rng):
                yield X[rows], y[rows], None
            X = y = None  # let the block go before the next one is read

    def batch_gradient(self, model: Any, loss_fn: Loss, batch: Block) -> tuple[float, float]:
        return batch_gradient(model, loss_fn, batch)
