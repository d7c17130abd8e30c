"""The minibatch training step, captured once and replayed: what the loop runs when it can.

``compile_step(model, loss_fn, optimizer)`` looks at the model (a ``Linear``,
or a ``Sequential``/``MLP`` of ``Linear`` layers each followed by at most one
ReLU, Tanh or Sigmoid), the loss (``mse``, ``bce_with_logits``,
``cross_entropy`` with class labels) and the optimizer (any of descend's: their
rules are elementwise), and returns a ``CapturedStep``, or None when any of them
is something else: the caller then runs its eager step.

``step.batch_gradient(model, loss_fn, batch)`` is what the loop calls for each
minibatch, as it would call the data's: the batch's mean loss and row count,
its gradient in the parameters' ``.grad``; a batch it cannot replay goes to the
data's own ``batch_gradient`` (eager). Underneath, ``step.loss(X, y)`` plays
the part of ``loss_fn(model(X), y)``: an object with the loss in ``.data`` and a
``.backward()`` that writes every gradient, or None for a batch it cannot
replay. Replaying costs less than the eager step:

- the first batch of each size is captured: run eagerly, its ops traced
  (``engine.capture.trace``) and compared with the tape's, its loss and
  gradients compared with the tape's bit for bit; a size whose tape differs in
  anything is never replayed;
- after that, forward, loss and backward run as fused kernels on buffers
  allocated once (``engine.capture.Tape``), with no graph and no temporaries;
- the parameters live in one buffer (``learn.flat.FlatParameters``), so the
  gradients land in it and ``optimizer.step()`` updates all of them at once.

Before each batch the step checks that the model still has the same layers and
parameters (a callback may swap one) and that the batch is one it can replay
(its shapes, dtypes and labels, as the eager loss would check them); otherwise
it answers None. ``with eager(): fit(...)`` turns capture off, to compare.

>>> import numpy as np
>>> from descend.learn import losses, nn, optim
>>> model = nn.MLP([3, 8, 1], seed=0)
>>> opt = optim.Adam(model.parameters())
>>> step = compile_step(model, losses.mse, opt)
>>> X, y = np.random.default_rng(0).standard_normal((16, 3)), np.zeros(16)
>>> loss = step.loss(X, y); loss.backward(); opt.step()
>>> step.replayed
1
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from ..engine import capture
from ..engine.backend import xp
from . import blocks, losses, nn
from .flat import FlatParameters
from .optim import Optimizer

_enabled = True

LOSS_KERNELS: tuple[tuple[Callable[..., Any], Any], ...] = (
    (losses.mse, capture.MeanSquaredError),
    (losses.bce_with_logits, capture.BCEWithLogits),
    (losses.cross_entropy, capture.SoftmaxCrossEntropy),
)
"""The losses a tape replays (with reduction='mean' and no sample weights), by function."""

ACTIVATIONS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}

_MAX_TAPES = 4  # batch sizes kept at once (an epoch has two: the batch and the last one)

Layers = list[tuple[nn.Linear, str | None]]


@contextlib.contextmanager
def eager() -> Iterator[None]:
    """Capture nothing inside this block: ``with eager(): fit(...)`` runs every step eagerly."""
    global _enabled
    previous = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = previous


def compile_step(
    model: Any, loss_fn: Any, optimizer: Optimizer, data: Any = None
) -> CapturedStep | None:
    """The training step of this model, loss and optimizer, or None (run it eagerly).

    ``data``: the training rows the batches come from (the loop's ``run.data``): the
    batches the step cannot replay go to its ``batch_gradient``, and when it holds
    its targets in memory (``data.y``) their class labels are checked once, here,
    instead of in every batch. On success the model's parameters move into one
    buffer (``FlatParameters``; their values are unchanged) that
    ``optimizer.step()`` then updates at once.
    """
    kernel = next((k for fn, k in LOSS_KERNELS if fn is loss_fn), None)  # no hash needed
    layers = _layers(model) if _enabled and kernel is not None else None
    if kernel is None or layers is None:
        return None
    params = model.parameters()
    if not FlatParameters.fits(params) or not _same(optimizer.params, params):
        return None
    if params[0].data.dtype.name not in kernel.dtypes:
        return None
    flat = FlatParameters(params)
    flat.attach(optimizer)
    step = CapturedStep(model, loss_fn, kernel, layers, flat)
    step.eager_gradient = getattr(data, "batch_gradient", blocks.batch_gradient)
    targets = getattr(data, "y", None)
    if kernel is capture.SoftmaxCrossEntropy and isinstance(targets, xp.ndarray):
        step.labels_checked = step._labels_of(targets) is not None
        step._labels.pop(len(targets))  # buffers for all the rows: not a batch's
    return step


def _layers(model: Any) -> Layers | None:
    """The model as (Linear, activation name or None) pairs, or None if it is not one."""
    if type(model) is nn.Linear:
        return [(model, None)]
    if type(model) not in (nn.Sequential, nn.MLP):
        return None
    layers: Layers = []
    for module in model:
        if type(module) is nn.Linear:
            layers.append((module, None))
        elif type(module) in ACTIVATIONS and layers and layers[-1][1] is None:
            layers[-1] = (layers[-1][0], ACTIVATIONS[type(module)])
        else:
            return None
    return layers or None


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class CapturedStep:
    """The captured step: ``loss(X, y)``, then ``backward()`` as on eager's loss tensor.

    ``replayed`` counts the batches run from a tape; ``tapes`` holds one tape per
    batch size seen (None for a size whose capture did not match eager).
    ``labels_checked``: every batch's labels are rows of targets already checked.
    ``eager_gradient``: where ``batch_gradient`` sends a batch it cannot replay.
    """

    def __init__(
        self, model: Any, loss_fn: Any, kernel: Any, layers: Layers, flat: FlatParameters
    ) -> None:
        self.model, self.loss_fn, self.flat = model, loss_fn, flat
        self._kernel, self._layers = kernel, layers
        self._owners = [(linear, linear.weight, linear.bias) for linear, _ in layers]
        self._homes = list(zip(flat.params, flat.views))  # each parameter and its view
        self._children = model._modules if isinstance(model, nn.Sequential) else None
        self._modules = self._modules_now()
        self._inputs, self._outputs = layers[0][0].in_features, layers[-1][0].out_features
        self._dtype = flat.data.dtype
        self._labels: dict[int, Any] = {}  # buffers for the labels, per batch size
        self.labels_checked = False
        self.eager_gradient: Callable[..., tuple[float, float]] = blocks.batch_gradient
        self.tapes: dict[int, capture.Tape | None] = {}
        self.replayed = 0
        self.data: Any = None
        self._last: tuple[capture.Tape, Any, Any] | None = None

    # ----- the step -------------------------------------------------------------------
    def batch_gradient(self, model: Any, loss_fn: Any, batch: Any) -> tuple[float, float]:
        """As ``learn.blocks.batch_gradient``: one minibatch (X, y, weights)'s mean loss and
        rows, its gradient into ``.grad`` when the loss is finite; replayed when it can be."""
        if model is self.model and loss_fn is self.loss_fn and len(batch) == 3:
            X, y, weight = batch
            loss = self.loss(X, y) if weight is None else None
            if loss is not None:
                value = float(loss.data)
                if math.isfinite(value):
                    loss.backward()
                return value, len(X)
        return self.eager_gradient(model, loss_fn, batch)

    def loss(self, X: Any, y: Any) -> CapturedStep | None:
        """The forward pass and loss of the batch (X, y), with ``.data`` the value; None
        when it must run eagerly. X and y must stay unchanged until ``backward()``."""
        if not self._unchanged():
            return None
        target = self._target(X, y)
        if target is None:
            return None
        n = len(X)
        tape = self.tapes[n] if n in self.tapes else self._capture(X, y, target)
        if tape is None:
            return None
        self.data = tape.forward(X, target)
        self._last = (tape, X, y)
        return self

    def backward(self) -> None:
        """Write the gradients of the last ``loss()`` into the parameters' ``.grad``."""
        if self._last is None:
            raise RuntimeError("CapturedStep.backward() needs a loss() first.")
        tape, X, y = self._last
        self._last = None
        params, grads = self.flat.params, self.flat.grads
        for p in params:
            if p.grad is not None:  # eager adds to what is there
                self._eager(X, y).backward()
                return
        tape.backward(grads)
        for p, g in zip(params, grads):
            p.grad = g
        self.replayed += 1

    # ----- what stays the same, what a batch must be ----------------------------------
    def _modules_now(self) -> tuple[Any, ...]:
        return (self.model,) if self._children is None else tuple(self._children.values())

    def _unchanged(self) -> bool:
        """Whether the model still has the captured layers, parameters and buffer."""
        if self._children is not None and self._modules_now() != self._modules:
            return False
        for linear, weight, bias in self._owners:
            if linear.weight is not weight or linear.bias is not bias:
                return False
        return all(p.data is view for p, view in self._homes)

    def _target(self, X: Any, y: Any) -> Any:
        """y as the loss kernel reads it, or None for a batch eager must see: other
        shapes or dtypes than the model's, or labels the eager loss would refuse."""
        ndarray = xp.ndarray
        if type(X) is not ndarray or type(y) is not ndarray:
            return None
        n = len(X)
        if X.dtype is not self._dtype and X.dtype != self._dtype:
            return None
        if X.ndim != 2 or X.shape[1] != self._inputs or y.ndim == 0 or len(y) != n:
            return None
        if self._kernel is capture.SoftmaxCrossEntropy:
            return self._labels_of(y)
        if y.dtype is not self._dtype and y.dtype != self._dtype:
            return None
        if y.shape == (n, self._outputs):
            return y
        return y.reshape(n, 1) if self._outputs == 1 and y.shape == (n,) else None

    def _labels_of(self, y: Any) -> Any:
        """Class labels as int64 in [0, classes) (cross_entropy's check), or None."""
        n = len(y)
        if (y.ndim != 1 and y.shape != (n, 1)) or y.dtype.kind not in "iuf" or self._outputs < 2:
            return None  # class probabilities, or a shape eager reports
        buffers = self._labels.get(n)
        if buffers is None:
            buffers = self._labels[n] = (
                xp.empty(n, xp.int64),
                xp.empty(n, y.dtype),
                xp.empty(n, bool),
            )
        labels, back, bad = buffers
        y = y if y.ndim == 1 else y.reshape(n)
        xp.copyto(labels, y, casting="unsafe")
        if self.labels_checked:
            return labels
        if back.dtype != y.dtype:
            back = xp.empty(n, y.dtype)
        xp.copyto(back, labels)  # integral labels come back unchanged
        xp.not_equal(back, y, out=bad)
        # as unsigned, a negative label is huge: one comparison checks both ends of the range
        xp.logical_or(bad, xp.greater_equal(labels.view(xp.uint64), self._outputs), out=bad)
        return labels if n and not xp.count_nonzero(bad) else None

    # ----- the capture ----------------------------------------------------------------
    def _eager(self, X: Any, y: Any) -> Any:
        """The eager loss of the batch, as the loop computes it."""
        return self.loss_fn(self.model(X), y)

    def _build(self, rows: int) -> capture.Tape:
        dense = [
            capture.Dense(linear.weight, linear.bias, activation, rows, first=i == 0)
            for i, (linear, activation) in enumerate(self._layers)
        ]
        return capture.Tape(dense, self._kernel((rows, self._outputs), self._dtype))

    def _capture(self, X: Any, y: Any, target: Any) -> capture.Tape | None:
        """Run the batch eagerly and on a new tape; keep the tape for this batch size if
        its ops, loss and gradients are eager's, bit for bit (nothing else changes)."""
        params = self.flat.params
        saved = [p.grad for p in params]
        try:
            for p in params:
                p.grad = None
            eager = self._eager(X, y)
            if not xp.isfinite(eager.data):
                return None  # eager stops here; capture at the next batch of this size
            eager.backward()
            expected = [eager.data] + [p.grad for p in params]
        finally:
            for p, grad in zip(params, saved):
                p.grad = grad
        tape = self._build(len(X))
        got = [xp.asarray(tape.forward(X, target))] + [xp.empty_like(g) for g in self.flat.grads]
        tape.backward(got[1:])
        same = capture.trace(eager) == tape.ops and all(map(_same_bits, expected, got))
        if len(self.tapes) >= _MAX_TAPES:
            self.tapes.clear()
        self.tapes[len(X)] = tape if same else None
        return self.tapes[len(X)]


def _same_bits(a: Any, b: Any) -> bool:
    return bool(a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes())
