"""Graph capture and replay: every kernel of a tape against the eager ops it replaces, bit for bit.

The eager side is the engine's own ops (``linear``/``matmul`` and the activation)
and descend's losses, run through ``backward()``; the tape must give the same
bytes for the output, the loss and every gradient, on random shapes and values
(hypothesis), in float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from descend import Tensor, ops
from descend.engine import capture
from descend.learn import losses

FAST = settings(max_examples=60, deadline=None)
DTYPES = (np.float32, np.float64)


def bits(a) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def values(rng: np.random.Generator, shape, dtype, scale: float = 1.0) -> np.ndarray:
    """Normal values with a few exact zeros and a few large ones (the edges of the kernels)."""
    a = rng.standard_normal(shape) * scale
    a.flat[rng.integers(0, a.size, size=max(1, a.size // 10))] = 0.0
    a.flat[rng.integers(0, a.size, size=max(1, a.size // 20))] *= 40.0
    return a.astype(dtype)


# ----- trace ------------------------------------------------------------------------------
def test_trace_lists_the_ops_of_a_graph_in_the_order_they_ran() -> None:
    x = np.ones((4, 3))
    w1 = Tensor(np.ones((3, 5)), requires_grad=True)
    b1 = Tensor(np.zeros(5), requires_grad=True)
    w2 = Tensor(np.ones((5, 2)), requires_grad=True)
    out = ops.mean(ops.tanh(ops.matmul(ops.relu(ops.linear(x, w1, b1)), w2)))
    assert capture.trace(out) == ("linear", "relu", "matmul", "tanh", "mean")


def test_trace_names_a_shared_node_once_and_leaves_constants_out() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    d = a - 1.0
    assert capture.trace(ops.sum(d * d)) == ("subtract", "multiply", "sum")
    assert capture.trace(a) == ()


def test_the_tape_lists_the_ops_eager_runs() -> None:
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.zeros(4), requires_grad=True)
    layers = [capture.Dense(w, b, "relu", 2), capture.Dense(w, None, "sigmoid", 2, first=False)]
    tape = capture.Tape(layers, capture.SoftmaxCrossEntropy((2, 4), np.float64))
    assert tape.ops == ("linear", "relu", "matmul", "sigmoid", "softmax_cross_entropy", "mean")


# ----- one layer ---------------------------------------------------------------------------
def eager_dense(x, weight, bias, activation, g, first):
    """Output and gradients of eager ops: (out, d weight, d bias or None, d x or None)."""
    xt = x if first else Tensor(x, requires_grad=True)
    w = Tensor(weight, requires_grad=True)
    b = None if bias is None else Tensor(bias, requires_grad=True)
    out = ops.matmul(xt, w) if b is None else ops.linear(xt, w, b)
    if activation is not None:
        out = getattr(ops, activation)(out)
    out.backward(g)
    return out.data, w.grad, None if b is None else b.grad, None if first else xt.grad


@FAST
@given(
    rows=st.integers(1, 70),
    n_in=st.integers(1, 20),
    n_out=st.integers(1, 20),
    activation=st.sampled_from([None, "relu", "tanh", "sigmoid"]),
    has_bias=st.booleans(),
    first=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**31),
)
def test_a_dense_layer_replays_its_eager_ops_bit_for_bit(
    rows, n_in, n_out, activation, has_bias, first, dtype, seed
) -> None:
    rng = np.random.default_rng(seed)
    x, weight = values(rng, (rows, n_in), dtype), values(rng, (n_in, n_out), dtype, 0.5)
    bias = values(rng, n_out, dtype) if has_bias else None
    g = values(rng, (rows, n_out), dtype)
    want = eager_dense(x, weight, bias, activation, g, first)

    w = Tensor(weight, requires_grad=True)
    b = None if bias is None else Tensor(bias, requires_grad=True)
    layer = capture.Dense(w, b, activation, rows, first=first)
    inputs = x.copy()
    out = layer.forward(inputs).copy()
    grads = [np.full_like(weight, np.nan)] + ([np.full_like(bias, np.nan)] if has_bias else [])
    dx = layer.backward(g.copy(), grads)

    assert bits(out) == bits(want[0])
    assert bits(grads[0]) == bits(want[1])
    if has_bias:
        assert bits(grads[1]) == bits(want[2])
    assert (dx is None) == first
    if not first:
        assert bits(dx) == bits(want[3])


def test_sigmoid_stays_finite_and_exact_for_large_inputs() -> None:
    z = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    w = Tensor(np.eye(5), requires_grad=True)
    layer = capture.Dense(w, None, "sigmoid", 1)
    out = layer.forward(z)
    assert bits(out) == bits(ops.sigmoid(z).data)
    assert np.isfinite(out).all() and out[0, 0] == 0.0 and out[0, -1] == 1.0


# ----- losses ------------------------------------------------------------------------------
def targets(name: str, rng, rows: int, outputs: int, dtype):
    if name == "cross_entropy":
        return rng.integers(0, outputs, size=rows)
    if name == "bce_with_logits":
        return rng.integers(0, 2, size=(rows, outputs)).astype(dtype)
    return values(rng, (rows, outputs), dtype)


KERNELS = {
    "mse": capture.MeanSquaredError,
    "bce_with_logits": capture.BCEWithLogits,
    "cross_entropy": capture.SoftmaxCrossEntropy,
}


@FAST
@given(
    name=st.sampled_from(sorted(KERNELS)),
    rows=st.integers(1, 70),
    outputs=st.integers(2, 12),
    dtype=st.sampled_from(DTYPES),
    scale=st.sampled_from([0.1, 1.0, 30.0]),
    seed=st.integers(0, 2**31),
)
def test_a_loss_kernel_gives_the_eager_loss_and_gradient_bit_for_bit(
    name, rows, outputs, dtype, scale, seed
) -> None:
    assume(np.dtype(dtype).name in KERNELS[name].dtypes)
    rng = np.random.default_rng(seed)
    prediction = values(rng, (rows, outputs), dtype, scale)
    target = targets(name, rng, rows, outputs, dtype)
    eager = Tensor(prediction, requires_grad=True)
    loss = getattr(losses, name)(eager, target)
    loss.backward()

    kernel = KERNELS[name]((rows, outputs), dtype)
    value = kernel.forward(prediction.copy(), target)
    assert bits(value) == bits(loss.data)
    assert bits(kernel.backward()) == bits(eager.grad)


@pytest.mark.parametrize("rows", [3, 40])  # fewer rows than classes, and more
def test_cross_entropy_replays_zero_maxima_of_either_sign_as_eager(rows) -> None:
    # rows whose largest logit is 0 of both signs, a row of ties, huge and tiny logits: the
    # kernel's row maxima (into its transposed buffer when classes < rows) must give eager's
    # loss and gradient to the bit
    rng = np.random.default_rng(5)
    logits = -np.abs(rng.standard_normal((rows, 6)))
    logits[0, :3], logits[1, :], logits[2, :2] = [0.0, -0.0, -1.0], -0.0, [1e30, -1e30]
    labels = rng.integers(0, 6, rows)
    labels[:2] = [1, 4]
    for dtype in DTYPES:
        x = logits.astype(dtype)
        eager = Tensor(x, requires_grad=True)
        loss = losses.cross_entropy(eager, labels)
        loss.backward()
        kernel = capture.SoftmaxCrossEntropy((rows, 6), dtype)
        assert (kernel.columns is not None) == (rows > 6)
        assert bits(kernel.forward(x, labels)) == bits(loss.data)
        assert bits(kernel.backward()) == bits(eager.grad)


@pytest.mark.parametrize("name", ["mse", "bce_with_logits"])
def test_a_single_output_loss_matches_eager_with_a_flat_target(name) -> None:
    rng = np.random.default_rng(3)
    prediction, target = rng.standard_normal((9, 1)), rng.integers(0, 2, 9).astype(float)
    eager = Tensor(prediction, requires_grad=True)
    loss = getattr(losses, name)(eager, target)  # (9, 1) against (9,): matched, not broadcast
    loss.backward()
    kernel = KERNELS[name]((9, 1), np.float64)
    assert bits(kernel.forward(prediction, target.reshape(9, 1))) == bits(loss.data)
    assert bits(kernel.backward()) == bits(eager.grad)


def test_bce_with_logits_is_replayed_in_float64_only_because_eager_turns_float64() -> None:
    # softplus' maximum(z, 0.0) weighs a tie by 0.5 * (z == 0), a float64 array: below
    # this loss a float32 model's gradient is float64, which a one-dtype tape cannot follow
    z = Tensor(np.array([[-1.0], [0.0], [2.0]], np.float32), requires_grad=True)
    out = ops.maximum(z, 0.0)
    g = out._vjps[0](np.ones((3, 1), np.float32))
    assert g.dtype == np.float64 and g.ravel().tolist() == [0.0, 0.5, 1.0]
    assert capture.BCEWithLogits.dtypes == ("float64",)
    assert "float32" in capture.MeanSquaredError.dtypes


# ----- a whole tape ------------------------------------------------------------------------
REPLAYED = [
    (loss, dtype) for loss in sorted(KERNELS) for dtype in DTYPES
    if np.dtype(dtype).name in KERNELS[loss].dtypes
]  # fmt: skip


@pytest.mark.parametrize("loss, dtype", REPLAYED)
def test_a_tape_replays_a_three_layer_network_for_several_batches(loss, dtype) -> None:
    rng = np.random.default_rng(0)
    sizes, activations = [6, 16, 8, 3], ["tanh", "relu", None]
    weights = [
        Tensor(values(rng, (a, b), dtype, 0.4), requires_grad=True)
        for a, b in zip(sizes, sizes[1:])
    ]
    biases = [Tensor(values(rng, b, dtype), requires_grad=True) for b in sizes[1:]]
    rows = 11
    layers = [
        capture.Dense(w, b, act, rows, first=i == 0)
        for i, (w, b, act) in enumerate(zip(weights, biases, activations))
    ]
    tape = capture.Tape(layers, KERNELS[loss]((rows, sizes[-1]), dtype))
    params = [p for pair in zip(weights, biases) for p in pair]
    for _ in range(3):  # the same buffers, new data each time
        x, t = values(rng, (rows, sizes[0]), dtype), targets(loss, rng, rows, sizes[-1], dtype)
        h = x
        for w, b, act in zip(weights, biases, activations):
            h = ops.linear(h, w, b)
            h = getattr(ops, act)(h) if act else h
        eager = getattr(losses, loss)(h, t)
        eager.backward()
        assert capture.trace(eager) == tape.ops

        grads = [np.empty_like(p.data) for p in params]
        assert bits(tape.forward(x, t)) == bits(eager.data)
        tape.backward(grads)
        for p, g in zip(params, grads):
            assert bits(g) == bits(p.grad)
            p.grad = None
