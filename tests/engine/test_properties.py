"""Random compositions of primitives on random broadcastable shapes, against finite differences.

Values come from a generator seeded by hypothesis rather than from hypothesis's
own float strategies: those favour 0 and repeated values, which are exactly the
points where abs, relu, clip, maximum and max have no derivative. Any value that
still lands near such a point is rejected with ``assume``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from descend import Tensor, gradcheck, ops

GAP = 1e-2
"""How far from a kink (or a tie) a value must be for central differences to see one slope."""

FAST = settings(max_examples=75, deadline=None)


def kinked(op: Callable[..., Tensor], distance: Callable[..., np.ndarray]) -> Callable[..., Tensor]:
    """``op``, refusing inputs within GAP of the points where it has no derivative."""

    def guarded(*args: Tensor, **options: Any) -> Tensor:
        d = distance(*(a.data for a in args))
        assume(np.size(d) == 0 or np.min(d) > GAP)
        return op(*args, **options)

    return guarded


def exp_of_moderate(t: Tensor) -> Tensor:
    assume(np.max(t.data, initial=0.0) < 10)  # keeps every value finite-difference friendly
    return ops.exp(t)


UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "negative": ops.negative,
    "exp": exp_of_moderate,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "log": lambda t: ops.log(t * t + 0.5),
    "log1p": lambda t: ops.log1p(t * t),
    "sqrt": lambda t: ops.sqrt(t * t + 0.5),
    "square": lambda t: t**2,
    "abs": kinked(ops.abs, np.abs),
    "relu": kinked(ops.relu, np.abs),
    "clip": kinked(lambda t: ops.clip(t, -0.5, 0.5), lambda a: np.abs(np.abs(a) - 0.5)),
}

BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": ops.add,
    "subtract": ops.subtract,
    "multiply": ops.multiply,
    "divide": lambda a, b: a / (b * b + 0.5),
    "power": lambda a, b: ops.power(ops.sigmoid(a) + 0.5, b),
    "maximum": kinked(ops.maximum, lambda a, b: np.abs(a - b)),
    "minimum": kinked(ops.minimum, lambda a, b: np.abs(a - b)),
}


def top_two_gap(a: np.ndarray, axis: Any) -> np.ndarray:
    """The gap between the largest and second-largest value in each reduced group."""
    axes = tuple(range(a.ndim)) if axis is None else np.atleast_1d(axis) % max(a.ndim, 1)
    moved = np.moveaxis(a, tuple(axes), tuple(range(-len(axes), 0))) if a.ndim else a
    groups = np.sort(moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,)), axis=-1)
    return groups[..., -1] - groups[..., -2] if groups.shape[-1] > 1 else np.array([])


REDUCTIONS: dict[str, Callable[..., Tensor]] = {
    "sum": ops.sum,
    "mean": ops.mean,
    "max": lambda t, axis, keepdims: kinked(ops.max, lambda a: top_two_gap(a, axis))(
        t, axis=axis, keepdims=keepdims
    ),
    "min": lambda t, axis, keepdims: kinked(ops.min, lambda a: top_two_gap(-a, axis))(
        t, axis=axis, keepdims=keepdims
    ),
}


def axes_of(ndim: int) -> st.SearchStrategy[Any]:
    """None, one axis (possibly negative) or a tuple of axes of an ndim-dimensional array."""
    if ndim == 0:
        return st.none()
    return st.one_of(
        st.none(), st.integers(-ndim, ndim - 1), hnp.valid_tuple_axes(ndim, min_size=1)
    )


def values(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2.0, 2.0, size=shape) for shape in shapes]


@st.composite
def programs(draw: st.DrawFn) -> tuple[Callable[..., Tensor], list[np.ndarray], str]:
    """f(x, y, z[, m]) = final(matmul?(reduce?(b2(b1(u1(x), u2(y)), u3(z))), m)).

    x, y and z have mutually broadcastable shapes; every op is drawn at random.
    """
    (sx, sy, sz), full = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)
    )
    u1, u2, u3, final = (draw(st.sampled_from(sorted(UNARY))) for _ in range(4))
    b1, b2 = (draw(st.sampled_from(sorted(BINARY))) for _ in range(2))
    reduction = draw(st.sampled_from([None, *sorted(REDUCTIONS)]))
    axis = draw(axes_of(len(full))) if reduction else None
    keepdims = draw(st.booleans())
    reduced = (
        full if reduction is None else np.sum(np.empty(full), axis=axis, keepdims=keepdims).shape
    )
    side = draw(st.sampled_from(["none", "right", "left"] if reduced else ["none"]))
    m_shape: tuple[int, ...] = ()
    if side == "right":  # t @ m: m's first axis is t's last
        m_shape = draw(st.sampled_from([(reduced[-1],), (reduced[-1], draw(st.integers(1, 3)))]))
    elif side == "left":  # m @ t: m's last axis is t's second-to-last (or only) axis
        k = reduced[-2] if len(reduced) > 1 else reduced[0]
        m_shape = draw(st.sampled_from([(k,), (draw(st.integers(1, 3)), k)]))

    def f(x: Tensor, y: Tensor, z: Tensor, *m: Tensor) -> Tensor:
        t = BINARY[b2](BINARY[b1](UNARY[u1](x), UNARY[u2](y)), UNARY[u3](z))
        if reduction:
            t = REDUCTIONS[reduction](t, axis=axis, keepdims=keepdims)
        if side == "right":
            t = t @ m[0]
        elif side == "left":
            t = m[0] @ t
        return UNARY[final](t)

    shapes = [sx, sy, sz] + ([m_shape] if side != "none" else [])
    inputs = values(draw(st.integers(0, 2**32 - 1)), *shapes)
    label = (
        f"{final}({side} matmul {m_shape}, {reduction}(axis={axis}, keepdims={keepdims}), "
        f"{b2}({b1}({u1}(x{sx}), {u2}(y{sy})), {u3}(z{sz})))"
    )
    return f, inputs, label


@FAST
@given(programs())
def test_random_compositions_match_finite_differences(
    program: tuple[Callable[..., Tensor], list[np.ndarray], str],
) -> None:
    f, inputs, label = program
    note(label)
    # central differences of a huge output lose its small gradients
    assume(np.all(np.abs(f(*(Tensor(x) for x in inputs)).numpy()) < 1e3))
    assert gradcheck(f, *inputs)


@FAST
@given(
    hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=4),
    st.integers(0, 2**32 - 1),
)
def test_matmul_on_every_shape_numpy_accepts(shapes: hnp.BroadcastableShapes, seed: int) -> None:
    a, b = values(seed, *shapes.input_shapes)
    out = ops.matmul(Tensor(a), Tensor(b))
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.numpy(), np.matmul(a, b), rtol=1e-13, atol=1e-13)
    assert gradcheck(ops.matmul, a, b)


@FAST
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
def test_broadcast_gradient_counts_the_copies(shapes: hnp.BroadcastableShapes) -> None:
    x = Tensor(np.zeros(shapes.input_shapes[0]), requires_grad=True)
    y = Tensor(np.zeros(shapes.input_shapes[1]), requires_grad=True)
    (x + y).sum().backward()
    full = int(np.prod(shapes.result_shape))
    np.testing.assert_array_equal(x.grad, np.full(x.shape, full / x.size))
    np.testing.assert_array_equal(y.grad, np.full(y.shape, full / y.size))


@FAST
@given(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3).flatmap(
        lambda shape: st.tuples(
            st.just(shape), axes_of(len(shape)), st.booleans(), st.sampled_from(sorted(REDUCTIONS))
        )
    ),
    st.integers(0, 2**32 - 1),
)
def test_reductions_match_numpy_and_finite_differences(spec: tuple[Any, ...], seed: int) -> None:
    shape, axis, keepdims, name = spec
    rng = np.random.default_rng(seed)
    x = (rng.permutation(int(np.prod(shape))) * 0.1).reshape(
        shape
    )  # distinct: no ties for max and min
    out = REDUCTIONS[name](Tensor(x), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(
        out.numpy(), getattr(np, name)(x, axis=axis, keepdims=keepdims), rtol=1e-13
    )
    assert gradcheck(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), x)


@FAST
@given(st.integers(1, 5), st.lists(st.integers(0, 4), min_size=1, max_size=12))
def test_integer_indexing_gradient_counts_each_row(rows: int, picks: list[int]) -> None:
    index = np.array(picks) % rows
    x = Tensor(np.zeros((rows, 2)), requires_grad=True)
    x[index].sum().backward()
    counts = np.bincount(index, minlength=rows).astype(float)
    np.testing.assert_array_equal(x.grad, np.stack([counts, counts], axis=1))
