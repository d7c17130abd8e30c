"""The minibatch training step, captured once and replayed: what fit runs when it can.

``compile_step(model, loss_fn, optimizer, X, y)`` looks at the model (a
``Linear``, or a ``Sequential``/``MLP`` of ``Linear`` layers each followed by
at most one ReLU, Tanh or Sigmoid), the loss (``mse``, ``bce_with_logits``,
``cross_entropy`` with class labels) and the optimizer (any of descend's, whose
rules are elementwise), and returns a ``CapturedStep``, or None when any of
them is something else: the caller then runs its eager step.

``step.loss(index)`` plays the part of ``loss_fn(model(X[index]), y[index])``:
it returns an object with the loss in ``.data`` and a ``.backward()`` that
writes every parameter's gradient, or None when this batch cannot be replayed
(the caller runs it eagerly). Replaying costs less than the eager step:

- the first batch of each size is captured: run eagerly, its ops traced
  (``engine.capture.trace``) and compared with the tape's, its loss and
  gradients compared with the tape's bit for bit; a size whose tape differs in
  anything is never replayed;
- after that, forward, loss and backward run as fused kernels on buffers
  allocated once (``engine.capture.Tape``), with no graph and no temporaries;
- the labels are checked and encoded once for all of ``y``, not every batch;
- the parameters live in one buffer (``learn.flat.FlatParameters``), so the
  gradients land in it and ``optimizer.step()`` updates all of them at once.

Before each batch the step checks that the model still has the same layers and
parameters (a callback may swap one); otherwise it answers None and the eager
path runs. ``with eager(): fit(...)`` turns capture off, to compare.

>>> import numpy as np
>>> from descend.learn import losses, nn, optim
>>> model = nn.MLP([3, 8, 1], seed=0)
>>> opt = optim.Adam(model.parameters())
>>> X, y = np.random.default_rng(0).standard_normal((32, 3)), np.zeros(32)
>>> step = compile_step(model, losses.mse, opt, X, y)
>>> loss = step.loss(np.arange(16)); loss.backward(); opt.step()
>>> step.replayed
1
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from ..engine import capture
from ..engine.backend import xp
from . import losses, nn
from .flat import FlatParameters
from .optim import Optimizer

_enabled = True

LOSS_KERNELS: dict[Callable[..., Any], Callable[..., Any]] = {
    losses.mse: capture.MeanSquaredError,
    losses.bce_with_logits: capture.BCEWithLogits,
    losses.cross_entropy: capture.SoftmaxCrossEntropy,
}
"""The losses a tape replays (with reduction='mean' and no sample weights), by function."""

ACTIVATIONS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}

_MAX_TAPES = 4  # batch sizes kept at once (fit has two: the batch and the last one)


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
    model: Any, loss_fn: Any, optimizer: Optimizer, X: Any, y: Any, sample_weight: Any = None
) -> CapturedStep | None:
    """The step of this model, loss and optimizer on rows of (X, y), or None (eager).

    On success the model's parameters move into one buffer (``FlatParameters``;
    their values are unchanged) that ``optimizer.step()`` then updates at once.
    """
    known = any(loss_fn is kernel_loss for kernel_loss in LOSS_KERNELS)  # no hash needed
    if not _enabled or sample_weight is not None or not known:
        return None
    layers = _layers(model)
    params = model.parameters() if layers else []
    if not layers or not FlatParameters.fits(params) or not _same(optimizer.params, params):
        return None
    dtype = params[0].data.dtype
    arrays = isinstance(X, xp.ndarray) and isinstance(y, xp.ndarray) and X.ndim == 2
    if not arrays or X.dtype != dtype or X.shape[1] != layers[0][0].in_features:
        return None
    if y.ndim not in (1, 2) or len(y) != len(X):
        return None
    target = _target(loss_fn, y, layers[-1][0].out_features, dtype)
    if target is None:
        return None
    flat = FlatParameters(params)
    flat.attach(optimizer)
    return CapturedStep(model, loss_fn, layers, X, y, target, flat)


def _layers(model: Any) -> list[tuple[nn.Linear, str | None]] | None:
    """The model as (Linear, activation name or None) pairs, or None if it is not one."""
    if type(model) is nn.Linear:
        return [(model, None)]
    if type(model) not in (nn.Sequential, nn.MLP):
        return None
    layers: list[tuple[nn.Linear, str | None]] = []
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


def _target(loss_fn: Any, y: Any, outputs: int, dtype: Any) -> Any:
    """y as the tape reads it: class labels checked and encoded once (cross_entropy), or
    y itself when it lines up with the model's outputs; None when eager must decide."""
    if loss_fn is not losses.cross_entropy:
        fits = y.shape[1:] in ((outputs,), ()) if outputs == 1 else y.shape[1:] == (outputs,)
        return y if fits and y.dtype == dtype else None
    if outputs < 2 or y.ndim != 1 or y.dtype.kind not in "iuf":
        return None  # class probabilities, or a shape eager reports
    labels = y.astype(xp.int64)
    if not (labels == y).all() or labels.min() < 0 or labels.max() >= outputs:
        return None  # eager raises the error for the batch that has it
    return labels


class CapturedStep:
    """The captured step: ``loss(index)``, then ``backward()`` as on eager's loss tensor.

    ``replayed`` counts the batches run from a tape; ``tapes`` holds one tape per
    batch size seen (None for a size whose capture did not match eager).
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Any,
        layers: list[tuple[nn.Linear, str | None]],
        X: Any,
        y: Any,
        target: Any,
        flat: FlatParameters,
    ) -> None:
        self.model, self.loss_fn, self.X, self.y, self.flat = model, loss_fn, X, y, flat
        self._layers = layers
        self._target = target
        self._owners = [(linear, linear.weight, linear.bias) for linear, _ in layers]
        self._modules = self._modules_now()
        self.tapes: dict[int, tuple[capture.Tape, Any] | None] = {}
        self.replayed = 0
        self.data: Any = None
        self._last: tuple[capture.Tape, Any] | None = None

    # ----- the step -------------------------------------------------------------------
    def loss(self, index: Any) -> CapturedStep | None:
        """The forward pass and loss on rows ``index`` of (X, y), with ``.data`` the value;
        None when this batch must run eagerly.

        ``index`` is an integer array of rows in [0, len(X)), as ``batch_indices`` gives
        them (they are gathered with ``take(mode='clip')``, which does not check them).
        """
        if not self._unchanged():
            return None
        replay = self.tapes[len(index)] if len(index) in self.tapes else self._capture(index)
        if replay is None:
            return None
        tape, target_rows = replay
        self._fill(tape, target_rows, index)
        self.data = tape.forward()
        self._last = (tape, index)
        return self

    def backward(self) -> None:
        """Write the gradients of the last ``loss()`` into the parameters' ``.grad``."""
        if self._last is None:
            raise RuntimeError("CapturedStep.backward() needs a loss() first.")
        tape, index = self._last
        self._last = None
        params, grads = self.flat.params, self.flat.grads
        if any(p.grad is not None for p in params):  # eager adds to what is there
            self._eager(index).backward()
            return
        tape.backward(grads)
        for p, g in zip(params, grads):
            p.grad = g
        self.replayed += 1

    # ----- what stays the same, and the capture ---------------------------------------
    def _modules_now(self) -> tuple[Any, ...]:
        return tuple(self.model) if isinstance(self.model, nn.Sequential) else (self.model,)

    def _unchanged(self) -> bool:
        """Whether the model still has the captured layers, parameters and buffer."""
        if self._modules_now() != self._modules:
            return False
        for linear, weight, bias in self._owners:
            if linear.weight is not weight or linear.bias is not bias:
                return False
        return all(p.data is view for p, view in zip(self.flat.params, self.flat.views))

    def _eager(self, index: Any) -> Any:
        """The eager loss of rows ``index``, as fit computes it."""
        return self.loss_fn(self.model(self.X[index]), self.y[index])

    def _fill(self, tape: capture.Tape, target_rows: Any, index: Any) -> None:
        """Copy rows ``index`` of X and of the target into the tape (fit's rows: in range)."""
        self.X.take(index, axis=0, out=tape.x, mode="clip")
        self._target.take(index, axis=0, out=target_rows, mode="clip")

    def _build(self, rows: int) -> tuple[capture.Tape, Any]:
        dense = [
            capture.Dense(linear.weight, linear.bias, activation, rows, first=i == 0)
            for i, (linear, activation) in enumerate(self._layers)
        ]
        outputs = self._layers[-1][0].out_features
        kernel = LOSS_KERNELS[self.loss_fn]((rows, outputs), self.X.dtype)
        tape = capture.Tape(dense, kernel)
        return tape, tape.target.reshape((rows,) + self._target.shape[1:])

    def _capture(self, index: Any) -> tuple[capture.Tape, Any] | None:
        """Run rows ``index`` eagerly and on a new tape; keep the tape for this batch size
        if its ops, loss and gradients are eager's, bit for bit (nothing else changes)."""
        params = self.flat.params
        saved = [p.grad for p in params]
        try:
            for p in params:
                p.grad = None
            eager = self._eager(index)
            if not xp.isfinite(eager.data):
                return None  # eager stops here; capture at the next batch of this size
            eager.backward()
            expected = [eager.data] + [p.grad for p in params]
        finally:
            for p, grad in zip(params, saved):
                p.grad = grad
        replay = self._build(len(index))
        tape, target_rows = replay
        self._fill(tape, target_rows, index)
        got = [xp.asarray(tape.forward())] + [xp.empty_like(g) for g in self.flat.grads]
        tape.backward(got[1:])
        same = capture.trace(eager) == tape.ops and all(map(_same_bits, expected, got))
        if len(self.tapes) >= _MAX_TAPES:
            self.tapes.clear()
        self.tapes[len(index)] = replay if same else None
        return self.tapes[len(index)]


def _same_bits(a: Any, b: Any) -> bool:
    return bool(a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes())
