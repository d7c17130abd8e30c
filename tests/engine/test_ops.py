"""Every primitive against central differences, plus forward values (the composites are in
tests/engine/test_functional.py).

``TABLE`` maps each name in ``ops.PRIMITIVES`` to cases: a function of float64
inputs and the inputs themselves, chosen away from the points where the op
has no derivative (ties for max/min/maximum, 0 for abs/relu, clip edges,
non-positive values for log/sqrt/the base of a power).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import descend
from descend import Tensor, gradcheck, ops
from tests.engine.cases import RNG, Case, case, grid, nonzero, positive, rand

LABELS = np.array([2, 0, 3, 3, 1])
MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
CLIP_INPUT = np.array([[-1.3, -0.2, 0.3, 0.9], [-0.7, 0.1, 1.6, -0.35], [0.42, -1.1, 0.0, 0.65]])


def elementwise_binary(op: Callable[..., Tensor], b: Callable[..., np.ndarray]) -> list[Case]:
    """Same shapes and broadcasting in both directions; ``b`` makes the second input."""
    return [
        case("(3,4) and (3,4)", op, rand(3, 4), b(3, 4)),
        case("(3,1) and (1,4)", op, rand(3, 1), b(1, 4)),
        case("(4,) and (2,3,4)", op, rand(4), b(2, 3, 4)),
        case("(2,3,4) and (4,)", op, rand(2, 3, 4), b(4)),
        case("scalar tensor and (3,)", op, rand(), b(3)),
        case("(3,) and scalar tensor", op, rand(3), b()),
    ]


def reductions(op: Callable[..., Tensor], make: Callable[..., np.ndarray]) -> list[Case]:
    """Axis None, int, negative int, tuple, negative tuple; keepdims True and False."""
    return [
        case(
            f"axis={axis} keepdims={keepdims}",
            lambda a, ax=axis, k=keepdims: op(a, ax, k),
            make(2, 3, 4),
        )
        for axis in (None, 0, -1, (0, 2), (-1, 1))
        for keepdims in (False, True)
    ] + [case("scalar tensor", op, make())]


TABLE: dict[str, list[Case]] = {
    "add": elementwise_binary(ops.add, rand)
    + [
        case("python scalar", lambda a: ops.add(a, 2.5), rand(3)),
        case("operator, reversed", lambda a, b: 2.5 + a + b, rand(3, 1), rand(4)),
    ],
    "subtract": elementwise_binary(ops.subtract, rand)
    + [case("operator, reversed", lambda a, b: 2.5 - a - b, rand(3, 1), rand(4))],
    "multiply": elementwise_binary(ops.multiply, rand)
    + [
        case("same tensor twice", lambda a: ops.multiply(a, a), rand(3)),
        case("operator, reversed", lambda a, b: 3.0 * a * b, rand(2, 1), rand(3)),
    ],
    "divide": elementwise_binary(ops.divide, nonzero)
    + [case("operator, reversed", lambda a, b: 2.0 / a / b, nonzero(3, 1), nonzero(4))],
    "power": [
        case("square", lambda a: ops.power(a, 2), rand(3, 4)),
        case("square root exponent", lambda a: ops.power(a, 0.5), positive(3, 4)),
        case("negative exponent", lambda a: a**-1.5, positive(5)),
        case("tensor exponent", ops.power, positive(3, 4), rand(3, 4)),
        case("(3,1) ** (1,4)", ops.power, positive(3, 1), rand(1, 4)),
        case("(4,) ** (2,3,4)", ops.power, positive(4), rand(2, 3, 4)),
        case("scalar tensor ** (3,)", ops.power, positive(), rand(3)),
        case("python base: 2 ** x", lambda b: 2.0**b, rand(3)),
    ],
    "negative": [
        case("matrix", ops.negative, rand(3, 4)),
        case("operator", lambda a: -a, rand(5)),
        case("scalar tensor", ops.negative, rand()),
    ],
    "matmul": [
        case("vector . vector", ops.matmul, rand(4), rand(4)),
        case("matrix . vector", ops.matmul, rand(3, 4), rand(4)),
        case("vector . matrix", ops.matmul, rand(4), rand(4, 5)),
        case("matrix . matrix", ops.matmul, rand(3, 4), rand(4, 5)),
        case("batched (2,3,4)@(4,5)", ops.matmul, rand(2, 3, 4), rand(4, 5)),
        case("batched (2,3,4)@(2,4,5)", ops.matmul, rand(2, 3, 4), rand(2, 4, 5)),
        case("broadcast (2,1,3,4)@(5,4,2)", ops.matmul, rand(2, 1, 3, 4), rand(5, 4, 2)),
        case("batched (2,3,4)@(4,)", ops.matmul, rand(2, 3, 4), rand(4)),
        case("vector @ batched (4,)@(2,4,5)", ops.matmul, rand(4), rand(2, 4, 5)),
        case(
            "operator, constant matrix",
            lambda w: np.arange(12, dtype=np.float32).reshape(3, 4) @ w,
            rand(4, 2),
        ),
    ],
    "linear": [
        case("rows", ops.linear, rand(5, 3), rand(3, 2), rand(2)),
        case("one sample", ops.linear, rand(3), rand(3, 4), rand(4)),
        case("3-d input", ops.linear, rand(2, 5, 3), rand(3, 2), rand(2)),
        case("bias row (1, out)", ops.linear, rand(4, 3), rand(3, 2), rand(1, 2)),
    ],
    "exp": [case("matrix", ops.exp, rand(3, 4)), case("scalar tensor", ops.exp, rand())],
    "log": [
        case("matrix", ops.log, positive(3, 4)),
        case("method", lambda a: a.log(), positive(5)),
    ],
    "log1p": [
        case("near 0", ops.log1p, RNG.uniform(-0.5, 0.5, size=(3, 4))),
        case("large", ops.log1p, positive(5) * 10),
    ],
    "sqrt": [
        case("matrix", ops.sqrt, positive(3, 4)),
        case("method", lambda a: a.sqrt(), positive(5)),
    ],
    "abs": [case("matrix", ops.abs, nonzero(3, 4)), case("operator", lambda a: abs(a), nonzero(5))],
    "tanh": [case("matrix", ops.tanh, rand(3, 4)), case("scalar tensor", ops.tanh, rand())],
    "sigmoid": [
        case("matrix", ops.sigmoid, rand(3, 4)),
        case("large logits", ops.sigmoid, np.array([-30.0, -12.0, 9.0, 25.0])),
    ],
    "relu": [
        case("matrix", ops.relu, nonzero(3, 4)),
        case("method", lambda a: a.relu(), nonzero(6)),
    ],
    "clip": [
        case("both edges", lambda a: ops.clip(a, -0.5, 0.5), CLIP_INPUT),
        case("lower edge only", lambda a: ops.clip(a, -0.5, None), CLIP_INPUT),
        case("upper edge only", lambda a: ops.clip(a, None, 0.5), CLIP_INPUT),
        case("method clamp", lambda a: a.clamp(-1.0, 1.0), CLIP_INPUT),
    ],
    "maximum": [
        case("(3,4) and (3,4)", ops.maximum, grid(3, 4), grid(3, 4, offset=0.25)),
        case("(3,1) and (1,4)", ops.maximum, grid(3, 1), grid(1, 4, offset=0.25)),
        case("(4,) and (2,3,4)", ops.maximum, grid(4), grid(2, 3, 4, offset=0.25)),
        case("scalar tensor and (5,)", ops.maximum, np.array(0.1), grid(5, offset=0.25)),
        case("python scalar", lambda a: ops.maximum(a, 0.1), grid(6, offset=0.25)),
    ],
    "minimum": [
        case("(3,4) and (3,4)", ops.minimum, grid(3, 4), grid(3, 4, offset=0.25)),
        case("(3,1) and (1,4)", ops.minimum, grid(3, 1), grid(1, 4, offset=0.25)),
        case("(2,3,4) and (4,)", ops.minimum, grid(2, 3, 4), grid(4, offset=0.25)),
        case("python scalar first", lambda b: ops.minimum(0.1, b), grid(6, offset=0.25)),
    ],
    "where": [
        case("same shapes", lambda a, b: ops.where(MASK, a, b), rand(3, 4), rand(3, 4)),
        case("broadcast (4,) and ()", lambda a, b: ops.where(MASK, a, b), rand(4), rand()),
        case("condition (3,1)", lambda a, b: ops.where(MASK[:, :1], a, b), rand(1, 4), rand(3, 4)),
        case("python scalar branch", lambda a: ops.where(MASK, a, 0.0), rand(3, 4)),
        case(
            "condition tensor", lambda a, b: ops.where(Tensor(MASK), a, b), rand(3, 4), rand(3, 4)
        ),
    ],
    "log_softmax": [
        case("rows", ops.log_softmax, rand(3, 4)),
        case("axis 0", lambda a: ops.log_softmax(a, axis=0), rand(3, 4)),
        case("axis 1 of 3-d", lambda a: ops.log_softmax(a, axis=1), rand(2, 3, 4)),
        case("vector", ops.log_softmax, rand(5)),
        case("large logits", ops.log_softmax, rand(3, 4) * 300.0),
    ],
    "softmax_cross_entropy": [
        case("labels", lambda a: ops.softmax_cross_entropy(a, LABELS), rand(5, 4)),
        case("large logits", lambda a: ops.softmax_cross_entropy(a, LABELS), rand(5, 4) * 300.0),
        case("one class", lambda a: ops.softmax_cross_entropy(a, [0, 0]), rand(2, 1)),
        case("repeated labels", lambda a: ops.softmax_cross_entropy(a, [1, 1, 1]), rand(3, 2)),
    ],
    "sum": reductions(ops.sum, rand),
    "mean": reductions(ops.mean, rand),
    "max": reductions(ops.max, grid),
    "min": reductions(ops.min, grid),
    "reshape": [
        case("(2,6) -> (3,4)", lambda a: ops.reshape(a, (3, 4)), rand(2, 6)),
        case("-1", lambda a: a.reshape(-1), rand(2, 3, 4)),
        case("(1,) -> ()", lambda a: ops.reshape(a, ()), rand(1)),
        case("method, varargs", lambda a: a.reshape(4, 1, 6), rand(2, 3, 4)),
    ],
    "transpose": [
        case(".T of a matrix", lambda a: a.T, rand(3, 4)),
        case("reverse 3-d", lambda a: ops.transpose(a), rand(2, 3, 4)),
        case("axes (1,0,2)", lambda a: a.transpose(1, 0, 2), rand(2, 3, 4)),
        case("negative axes (0,-1,1)", lambda a: a.transpose(0, -1, 1), rand(2, 3, 4)),
        case("negative axes (-1,-3,-2)", lambda a: a.transpose((-1, -3, -2)), rand(2, 3, 4)),
    ],
    "getitem": [
        case("slice", lambda a: a[1:3], rand(4, 3)),
        case("strided column slice", lambda a: a[:, ::2], rand(3, 5)),
        case("negative step", lambda a: a[::-1, 1:], rand(3, 4)),
        case("int", lambda a: a[1], rand(4, 3)),
        case("int pair to scalar", lambda a: a[2, -1], rand(4, 3)),
        case("ellipsis and newaxis", lambda a: a[..., None, 0], rand(2, 3, 4)),
        case("repeated rows", lambda a: a[np.array([0, 2, 0, 0, 3])], rand(4, 3)),
        case("repeated rows from a list", lambda a: a[[1, 1, -1]], rand(4, 3)),
        case("class scores x[arange(N), labels]", lambda a: a[np.arange(5), LABELS], rand(5, 4)),
        case("boolean mask", lambda a: a[MASK], rand(3, 4)),
        case("mask tensor", lambda a: a[Tensor(MASK)], rand(3, 4)),
        case("rows and a slice", lambda a: a[np.array([2, 0, 2]), 1:], rand(3, 4)),
    ],
    "concatenate": [
        case("axis 0", lambda a, b: ops.concatenate(a, b, axis=0), rand(2, 3), rand(4, 3)),
        case("axis 1", lambda a, b: ops.concatenate(a, b, axis=1), rand(2, 3), rand(2, 1)),
        case(
            "axis -1, three",
            lambda a, b, c: ops.concatenate(a, b, c, axis=-1),
            rand(2, 1),
            rand(2, 3),
            rand(2, 2),
        ),
        case("same tensor twice", lambda a: ops.concatenate(a, a * 2.0), rand(3)),
    ],
}

ROWS = [
    pytest.param(name, c, id=f"{name}: {c.label}") for name, cases in TABLE.items() for c in cases
]


def ops_in_graph(out: Tensor) -> set[str]:
    """The names of the ops that made ``out``, walking its parents."""
    names: set[str] = set()
    seen: set[int] = set()
    stack = [out]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            names.add(node._op)
            stack.extend(node._parents)
    return names - {""}


def test_every_primitive_has_a_row_in_the_table() -> None:
    assert set(TABLE) == set(ops.PRIMITIVES)


@pytest.mark.parametrize("name, c", ROWS)
def test_primitive_gradient_matches_finite_differences(name: str, c: Case) -> None:
    out = c.fn(*(Tensor(x, requires_grad=True) for x in c.inputs))
    assert name in ops_in_graph(out), f"the case for {name!r} never calls it"
    assert gradcheck(c.fn, *c.inputs)


@pytest.mark.parametrize("name, c", ROWS)
def test_primitive_forward_keeps_float32(name: str, c: Case) -> None:
    leaves = [Tensor(x, requires_grad=True, dtype=np.float32) for x in c.inputs]
    assert c.fn(*leaves).dtype == np.float32


# ----- gradient values where finite differences cannot tell ------------------------------
def test_repeated_rows_add_up() -> None:
    x = Tensor(np.zeros((4, 2)), requires_grad=True)
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0, 3.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])


def test_class_score_picking_puts_the_gradient_on_each_label() -> None:
    scores = Tensor(np.zeros((5, 4)), requires_grad=True)
    scores[np.arange(5), LABELS].sum().backward()
    expected = np.zeros((5, 4))
    expected[np.arange(5), LABELS] = 1.0
    np.testing.assert_array_equal(scores.grad, expected)


def test_max_ties_share_the_gradient() -> None:
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_maximum_tie_splits_the_gradient_in_half() -> None:
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([1.0, 5.0, 0.0], requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])


def test_abs_and_relu_have_gradient_zero_at_zero() -> None:
    x = Tensor([0.0, -2.0, 2.0], requires_grad=True)
    (ops.abs(x) + ops.relu(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, -1.0, 2.0])


def test_clip_passes_the_gradient_inside_and_on_the_edges() -> None:
    x = Tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    x.clip(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_where_gives_no_gradient_to_the_other_branch() -> None:
    a = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones(4), requires_grad=True)
    ops.where(MASK, a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, MASK.astype(float))
    np.testing.assert_array_equal(b.grad, (~MASK).sum(axis=0))


def test_linear_is_matmul_plus_bias_and_names_bad_shapes() -> None:
    x, w, b = rand(4, 3), rand(3, 2), rand(2)
    np.testing.assert_array_equal(ops.linear(x, w, b).numpy(), x @ w + b)
    with pytest.raises(ValueError, match=re.escape("shapes (4, 3) and (5, 2) do not align")):
        ops.linear(x, rand(5, 2), b)
    with pytest.raises(ValueError, match=re.escape("weight must be (in, out); got shape (3,)")):
        ops.linear(x, rand(3), b)


def test_softmax_cross_entropy_is_minus_the_log_softmax_of_each_label() -> None:
    x = rand(5, 4)
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    out = ops.softmax_cross_entropy(Tensor(x), LABELS).numpy()
    np.testing.assert_allclose(out, -log_p[np.arange(5), LABELS], rtol=1e-14)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot() -> None:
    x = Tensor(rand(5, 4), requires_grad=True)
    weights = np.arange(1.0, 6.0)
    (ops.softmax_cross_entropy(x, LABELS) * weights).sum().backward()
    expected = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    expected[np.arange(5), LABELS] -= 1
    np.testing.assert_allclose(x.grad, expected * weights[:, None], rtol=1e-13, atol=1e-15)


def test_softmax_cross_entropy_is_stable_at_plus_and_minus_1000() -> None:
    x = Tensor([[1000.0, 0.0], [-1000.0, 0.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = ops.softmax_cross_entropy(x, [1, 0])
        out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [1000.0, 1000.0])
    np.testing.assert_array_equal(x.grad, [[1.0, -1.0], [-1.0, 1.0]])


@pytest.mark.parametrize("shape", [(40, 6), (6, 6), (3, 6), (2, 1)])
def test_row_max_is_each_rows_largest_value_on_both_sides_of_its_switch(shape) -> None:
    # more rows than columns: down the columns of a transposed copy; else along the rows
    a = np.random.default_rng(1).standard_normal(shape)
    a[0, -1] = 7.0
    a[-1, 0] = np.nan
    expected = a.max(axis=1, keepdims=True)
    out, columns = np.empty((shape[0], 1)), np.empty(shape[::-1])
    for got in (ops.row_max(a), ops.row_max(a, out, columns)):
        assert got.shape == (shape[0], 1)
        np.testing.assert_array_equal(got, expected)  # NaN where a row has one
    assert out[0, 0] == 7.0


@pytest.mark.parametrize("rows", [3, 40])
def test_softmax_cross_entropy_of_zero_maxima_of_either_sign_is_the_formulas(rows) -> None:
    # row_max may return +0 where a.max returns -0 (or back): the loss and gradient must be
    # the formula's with a.max, to the bit
    rng = np.random.default_rng(5)
    x = -np.abs(rng.standard_normal((rows, 6)))
    x[0, :3], x[1, :], x[2, :2] = [0.0, -0.0, -1.0], -0.0, [1e30, -1e30]
    labels = rng.integers(0, 6, rows)
    labels[:2] = [1, 4]
    shifted = x - x.max(axis=1, keepdims=True)
    total = np.exp(shifted).sum(axis=1, keepdims=True)
    loss = np.log(total[:, 0]) - shifted[np.arange(rows), labels]
    grad = np.exp(shifted) / total
    grad[np.arange(rows), labels] -= 1
    t = Tensor(x, requires_grad=True)
    out = ops.softmax_cross_entropy(t, labels)
    out.sum().backward()
    assert out.numpy().tobytes() == loss.tobytes() and t.grad.tobytes() == grad.tobytes()


def test_log_softmax_primitive_matches_numpy_and_its_gradient_sums_to_zero() -> None:
    x = Tensor(rand(3, 4), requires_grad=True)
    out = ops.log_softmax(x, axis=1)
    expected = x.data - np.log(np.exp(x.data).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14)
    out.sum().backward()  # softmax rows sum to 1: d/dx of sum(log_softmax) = 1 - C * softmax
    np.testing.assert_allclose(x.grad.sum(axis=1), [0.0, 0.0, 0.0], atol=1e-14)


def test_sigmoid_at_plus_and_minus_1000_is_finite_with_a_finite_gradient() -> None:
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = descend.sigmoid(x)
        out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


def test_max_and_min_forward_with_keepdims_match_numpy() -> None:
    x = grid(2, 3, 4)
    for op, reference in ((ops.max, np.max), (ops.min, np.min)):
        for axis in (None, 1, (0, 2)):
            for keepdims in (False, True):
                out = op(Tensor(x), axis=axis, keepdims=keepdims).numpy()
                np.testing.assert_array_equal(out, reference(x, axis=axis, keepdims=keepdims))
