"""Full-batch gradient descent on data that outgrows one machine, with Dask.

The gradient of a dataset is the sum of the gradients of its row blocks. With
a Dask Array or DataFrame, each partition becomes one Dask task that rebuilds
the model from its config and weights, adds up the loss and gradient of its
rows where the partition lives, and returns the sums; ``fit`` adds the sums
and takes the step. Whatever scheduler Dask is set to (threads, processes, a
``dask.distributed`` cluster) runs the tasks; only weights and gradients
travel.

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
from typing import Any

from ..engine.tensor import no_grad
from ..errors import InputError
from ..learn.blocks import ArrayBlocks, accumulate
from ..learn.losses import Loss
from ..learn.nn import from_config


def is_dask(data: Any) -> bool:
    """True for a Dask Array, DataFrame or Series."""
    return type(data).__module__.split(".")[0] == "dask"


def partitions(X: Any, y: Any) -> list[tuple[Any, Any]]:
    """(X part, y part) Dask delayed objects, one pair per row partition."""
    if not is_dask(y):
        raise InputError(
            "With Dask features the targets must be a Dask Array or Series with the same "
            f"partitions; got {type(y).__name__}. Take y from the same Dask table."
        )
    if hasattr(X, "to_dask_array") or hasattr(X, "columns"):  # DataFrame: partitions agree
        x_parts, y_parts = list(X.to_delayed()), list(y.to_delayed())
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


def partition_sums(
    config: dict[str, Any],
    state: dict[str, Any],
    loss_fn: Loss,
    X: Any,
    y: Any,
    dtype: Any,
    backward: bool = True,
) -> tuple[float, float, list[Any]]:
    """One Dask task: the loss sum, its count and (``backward``) the gradient sums of one
    partition, by ``learn.blocks.accumulate`` where the partition lives."""
    model = from_config(config)
    model.load_state_dict(state)
    model.train(backward)
    rows = ArrayBlocks(X, y, dtype=dtype)
    if not backward:
        with no_grad():
            total, count = accumulate(model, loss_fn, rows.blocks(), False)
        return total, count, []
    total, count = rows.gradient(model, loss_fn)
    return total, count, [p.grad for p in model.parameters()]


class DaskBlocks:
    """Rows in Dask partitions, as the training loop sees data: ``gradient`` and ``loss``
    run one task per partition and add up what comes back (full batch only)."""

    def __init__(self, X: Any, y: Any, dtype: Any) -> None:
        self.parts = partitions(X, y)
        self.dtype = dtype
        self.n_rows = None

    def _sums(self, model: Any, loss_fn: Loss, backward: bool) -> list[Any]:
        import dask

        config, state = model.to_config(), model.state_dict()
        tasks = [
            dask.delayed(partition_sums)(config, state, loss_fn, x, y, self.dtype, backward)
            for x, y in self.parts
        ]
        return list(dask.compute(*tasks))

    def gradient(self, model: Any, loss_fn: Loss) -> tuple[float, float]:
        """Add every partition's gradient sums into the parameters' ``.grad``; (loss, count)."""
        total = count = 0.0
        for part_total, part_count, grads in self._sums(model, loss_fn, True):
            total += part_total
            count += part_count
            for p, g in zip(model.parameters(), grads):
                if g is not None:
                    p.grad = g.copy() if p.grad is None else p.grad + g
        return total, count

    def loss(self, model: Any, loss_fn: Loss) -> float:
        """The mean loss of ``model`` over every partition (one pass, no graph)."""
        sums = self._sums(model, loss_fn, False)
        count = sum(c for _, c, _ in sums)
        return sum(t for t, _, _ in sums) / count if count else math.nan

    def first_rows(self) -> ArrayBlocks:
        """The rows of the first partition, in memory: the sample ``lr='auto'`` reads."""
        import dask

        X, y = dask.compute(*self.parts[0])
        return ArrayBlocks(X, y, dtype=self.dtype)

    def batches(self, batch_size: int, shuffle: bool, rng: Any) -> Any:
        raise InputError(
            "With Dask data, fit runs full-batch gradient descent: leave batch_size=None."
        )
