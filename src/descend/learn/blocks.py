"""The gradient of a data set is the sum of the gradients of its row blocks: the one place.

``accumulate`` adds up the loss and (with ``backward``) the gradient of each
block of rows into the parameters' ``.grad``; full-batch training, evaluation,
Dask partitions and streamed files all go through it, so memory holds one
block of activations at a time and each block of X is read once per pass.

``ArrayBlocks`` is the training rows of an in-memory array, as the loop sees
data: ``gradient`` (a full-batch pass), ``loss`` (a pass without a graph),
``batches`` (minibatches) and ``batch_gradient`` (one minibatch's). ``scale/``
has the same four for data beyond memory, whose minibatches follow
``block_plan``: the blocks in a shuffled order, the rows shuffled in each block.

>>> import numpy as np
>>> from descend import nn
>>> rows = ArrayBlocks(np.array([[1.0], [2.0]]), np.array([2.0, 4.0]))
>>> rows.loss(nn.Linear(1, 1, init="zeros"), get_loss("mse"))
10.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._validation import NONE, at_least, validate_params
from ..data import batch_indices, row_blocks, row_weights, to_array, to_targets
from ..engine import ops
from ..engine.backend import xp
from ..engine.tensor import no_grad
from ..errors import InputError
from .losses import Loss, get_loss

BLOCK_BYTES = 1 << 21
"""Full-batch gradients are computed over row blocks of X of about this many bytes."""

Block = tuple[Any, Any, Any]  # X rows, y rows, sample weights (or None)


ROW_COPIES = 6
"""Values a block holds at once, in forward and backward, for each output of a layer on a
row (the output, a softmax's exponentials and probabilities, their gradients...)."""


def block_rows(X: Any, block_size: int | None = None, model: Any = None) -> int:
    """Rows per block: ``block_size``, or as many as fit in BLOCK_BYTES, counting a row of X
    and ROW_COPIES of each value per row that ``model``'s layers compute (10,000 classes are
    10,000 values a row); at least 64 rows while 64 take at most 16 x BLOCK_BYTES."""
    if block_size is not None:
        return int(block_size)
    parameters = model.parameters() if model is not None else []
    width = sum(p.shape[-1] for p in parameters if p.ndim == 2)  # the layers' outputs
    row_bytes = max(1, X[:1].nbytes) + ROW_COPIES * width * X.itemsize
    return max(1, BLOCK_BYTES // row_bytes, min(64, 16 * BLOCK_BYTES // row_bytes))


def blocks_of(X: Any, y: Any, weight: Any, rows: int) -> Iterator[Block]:
    """Contiguous row blocks (views, not copies) of X, y and the weights."""
    for block in row_blocks(len(X), rows):
        yield X[block], y[block], None if weight is None else weight[block]


def accumulate(
    model: Any, loss_fn: Loss, blocks: Iterable[Block], backward: bool
) -> tuple[float, float]:
    """Sum the loss over blocks, and with ``backward`` add each block's gradient into
    the parameters' ``.grad``; returns (sum of the loss, count it is a mean over).

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


def mean_gradient(model: Any, data: Any, loss_fn: Loss, penalty: Any = None) -> float:
    """One full pass over ``data`` (row blocks: ``data.gradient``): each parameter's ``.grad``
    becomes the gradient of the mean loss (plus ``penalty``'s, an ``L2``, on its weights);
    returns that mean loss (with the penalty). Full-batch training, the range test and the
    curvature along a direction all take their gradient here."""
    params = model.parameters()
    for p in params:
        p.grad = None
    total, count = data.gradient(model, loss_fn)
    for p in params:
        if p.grad is not None:
            p.grad *= 1.0 / count
    extra = 0.0 if penalty is None else penalty.add_gradient(penalty.weights(model))
    return total / count + extra


def batch_gradient(model: Any, loss_fn: Loss, batch: Block) -> tuple[float, float]:
    """One minibatch: (its mean loss, the rows or weight it is a mean over); the gradient
    of the mean goes into ``.grad`` when the loss is finite."""
    Xb, yb, wb = batch
    loss = loss_fn(model(Xb), yb, weight=wb)
    value = float(loss.data)
    if math.isfinite(value):
        loss.backward()
    return value, len(Xb) if wb is None else float(wb.sum())


def block_plan(
    lengths: Sequence[int], batch_size: int, shuffle: bool, rng: Any
) -> Iterator[tuple[int, Any]]:
    """(block, row positions in it) for each minibatch of data kept in blocks of ``lengths``
    rows: the blocks in an order shuffled by ``rng`` and the rows shuffled within each block
    (``shuffle``), so a minibatch never spans two blocks and one block is read at a time.

    >>> [(b, rows.tolist()) for b, rows in block_plan([3, 2], 2, False, None)]
    [(0, [0, 1]), (0, [2]), (1, [0, 1])]
    """
    order = rng.permutation(len(lengths)) if shuffle else range(len(lengths))
    for block in order:
        n = int(lengths[block])
        rows = rng.permutation(n) if shuffle else xp.arange(n)
        for start in range(0, n, batch_size):
            yield int(block), rows[start : start + batch_size]


def _without_graph(model: Any, measure: Any) -> Any:
    """``measure()`` in eval mode and without a graph; the model's mode is put back."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            return measure()
    finally:
        if was_training:
            model.train()


class ArrayBlocks:
    """Rows of in-memory arrays X, y (and sample weights), checked once, seen in blocks."""

    def __init__(
        self,
        X: Any,
        y: Any,
        weight: Any = None,
        block_size: int | None = None,
        dtype: Any = None,
        names: tuple[str, str] = ("X", "y"),
    ) -> None:
        kind = {} if dtype is None else {"dtype": dtype}
        self.X = to_array(X, name=names[0], **kind)
        self.y = _per_row(to_targets(y, name=names[1], **kind), len(self.X), names[1], names[0])
        self.weight = (
            None if weight is None else row_weights(weight, len(self.X), rows_of=names[0], **kind)
        )
        self.rows = block_rows(self.X, block_size)
        self.block_size = block_size

    @property
    def n_rows(self) -> int:
        return len(self.X)

    def take(self, positions: Any) -> ArrayBlocks:
        """The rows at ``positions`` (the training or the validation rows), already checked."""
        part = object.__new__(ArrayBlocks)
        part.X, part.y = self.X[positions], self.y[positions]
        part.weight = None if self.weight is None else self.weight[positions]
        part.rows, part.block_size = block_rows(part.X, self.block_size), self.block_size
        return part

    def blocks(self, model: Any = None) -> Iterator[Block]:
        """Row blocks of X's size, or smaller for a ``model`` of many outputs (block_rows)."""
        rows = self.rows if model is None else block_rows(self.X, self.block_size, model)
        return blocks_of(self.X, self.y, self.weight, rows)

    def gradient(self, model: Any, loss_fn: Loss) -> tuple[float, float]:
        """One full pass: add the gradient sums into ``.grad``; (sum of the loss, count)."""
        return accumulate(model, loss_fn, self.blocks(model), True)

    def loss(self, model: Any, loss_fn: Loss) -> float:
        """The mean loss of ``model`` on these rows, block by block, without a graph."""
        total, count = _without_graph(
            model, lambda: accumulate(model, loss_fn, self.blocks(model), False)
        )
        return total / count if count else math.nan

    def batches(self, batch_size: int, shuffle: bool, rng: Any) -> Iterator[Block]:
        """Minibatches of rows (a new order per call when ``shuffle``).

        The rows of many batches are gathered at once (about BLOCK_BYTES of X), and each
        batch is a view into the gathered rows: the same values as indexing batch by batch,
        for one gather per chunk instead of one per batch.
        """
        indices = list(batch_indices(self.n_rows, batch_size, shuffle, rng))
        per_chunk = max(1, block_rows(self.X) // batch_size)
        for first in range(0, len(indices), per_chunk):
            group = indices[first : first + per_chunk]
            rows = xp.concatenate(group) if len(group) > 1 else group[0]
            X, y = self.X[rows], self.y[rows]
            weight = None if self.weight is None else self.weight[rows]
            start = 0
            for index in group:
                end = start + len(index)
                yield X[start:end], y[start:end], None if weight is None else weight[start:end]
                start = end

    def batch_gradient(self, model: Any, loss_fn: Loss, batch: Block) -> tuple[float, float]:
        """One minibatch's mean loss and rows; its gradient goes into ``.grad``."""
        return batch_gradient(model, loss_fn, batch)


def _per_row(values: Any, n_rows: int, name: str, rows_of: str = "X") -> Any:
    if len(values) != n_rows:
        raise InputError(
            f"{rows_of} has {n_rows} rows but {name} has {len(values)}; give one target per row."
        )
    return values


@validate_params({"block_size": [at_least(1), NONE]})
def evaluate_loss(
    model: Any,
    X: Any,
    y: Any,
    loss: str | Loss = "mse",
    sample_weight: Any = None,
    block_size: int | None = None,
) -> float:
    """The mean loss of ``model`` on arrays (X, y), block by block, without a graph; X, y
    and ``sample_weight`` are checked as ``fit`` checks them."""
    params = model.parameters()
    dtype = params[0].data.dtype if params else None
    return ArrayBlocks(X, y, sample_weight, block_size, dtype=dtype).loss(model, get_loss(loss))
