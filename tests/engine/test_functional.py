"""Every composite of descend.engine.functional against central differences (a composite only
calls primitives, so it needs no gradient rule of its own), and its forward values
against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descend
from descend import Tensor, functional, gradcheck
from tests.engine.cases import Case, case, nonzero, rand

# ----- composites: gradients ----------------------------------------------------------------
COMPOSITES: dict[str, list[Case]] = {
    "logsumexp": [
        case("all", functional.logsumexp, rand(3, 4)),
        case("axis -1", lambda a: functional.logsumexp(a, axis=-1), rand(3, 4)),
        case(
            "axis (0,2) keepdims", lambda a: a.logsumexp(axis=(0, 2), keepdims=True), rand(2, 3, 4)
        ),
        case("scalar tensor", functional.logsumexp, rand()),
    ],
    "log_softmax": [
        case("rows", functional.log_softmax, rand(3, 4)),
        case("axis 0", lambda a: a.log_softmax(axis=0), rand(3, 4)),
    ],
    "softmax": [
        case("rows", functional.softmax, rand(3, 4)),
        case("axis 1 of 3-d", lambda a: a.softmax(axis=1), rand(2, 3, 4)),
    ],
    "var": [
        case("all", functional.var, rand(3, 4)),
        case("axis 0", lambda a: functional.var(a, axis=0), rand(3, 4)),
        case(
            "axis (0,2) ddof=1 keepdims",
            lambda a: a.var(axis=(0, 2), ddof=1, keepdims=True),
            rand(2, 3, 4),
        ),
    ],
    "leaky_relu": [
        case("default slope", functional.leaky_relu, nonzero(3, 4)),
        case("slope 0.2", lambda a: functional.leaky_relu(a, 0.2), nonzero(6)),
    ],
    "gelu": [case("matrix", functional.gelu, rand(3, 4) * 2)],
    "softplus": [
        case("matrix", functional.softplus, rand(3, 4)),
        case("0 and large", functional.softplus, np.array([0.0, -30.0, -5.0, 5.0, 30.0])),
    ],
    "stack": [
        case("axis 0", lambda a, b: functional.stack([a, b]), rand(2, 3), rand(2, 3)),
        case(
            "axis -1",
            lambda a, b, c: functional.stack([a, b, c], axis=-1),
            rand(2, 3),
            rand(2, 3),
            rand(2, 3),
        ),
        case("axis 1", lambda a: functional.stack([a, a * a], axis=1), rand(2, 3)),
    ],
    "concatenate": [
        case("axis 0", lambda a, b: functional.concatenate([a, b]), rand(2, 3), rand(1, 3)),
        case("axis 1", lambda a, b: functional.concatenate([a, b], axis=1), rand(2, 3), rand(2, 2)),
    ],
}


def test_every_composite_has_a_row() -> None:
    public = {
        name
        for name, value in vars(functional).items()
        if callable(value)
        and getattr(value, "__module__", "") == functional.__name__
        and not name.startswith("_")
    }
    assert public == set(COMPOSITES)


@pytest.mark.parametrize(
    "c",
    [pytest.param(c, id=f"{name}: {c.label}") for name, cases in COMPOSITES.items() for c in cases],
)
def test_composite_gradient_matches_finite_differences(c: Case) -> None:
    assert gradcheck(c.fn, *c.inputs)


# ----- composites: forward values against NumPy ---------------------------------------------
def test_softmax_rows_sum_to_one_and_match_numpy() -> None:
    x = rand(4, 5)
    out = descend.softmax(Tensor(x)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), np.ones(4), rtol=1e-14)
    np.testing.assert_allclose(out, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-13)


def test_logsumexp_matches_numpy_for_moderate_values() -> None:
    x = rand(3, 4)
    out = descend.logsumexp(Tensor(x), axis=1).numpy()
    np.testing.assert_allclose(out, np.log(np.exp(x).sum(axis=1)), rtol=1e-14)


def test_logsumexp_is_stable_at_plus_and_minus_1000() -> None:
    x = Tensor([[1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = descend.logsumexp(x, axis=1)
        out.sum().backward()
    shift = np.log(2 + np.exp(-1.0))
    np.testing.assert_allclose(out.numpy(), [1000.0 + shift, -1000.0 + shift], rtol=1e-15)
    row = np.array([1.0, 1.0, np.exp(-1.0)]) / (2 + np.exp(-1.0))  # the softmax of either row
    np.testing.assert_allclose(x.grad, [row, row], rtol=1e-14)


def test_log_softmax_keeps_full_precision_far_from_the_max() -> None:
    out = descend.log_softmax(Tensor([0.0, 1000.0])).numpy()
    np.testing.assert_array_equal(out, [-1000.0, 0.0])


def test_softplus_matches_logaddexp_and_its_gradient_is_the_sigmoid() -> None:
    values = np.array([-1000.0, -3.0, 0.0, 0.5, 1000.0])
    x = Tensor(values, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = descend.softplus(x)
        out.sum().backward()
    np.testing.assert_allclose(out.numpy(), np.logaddexp(0.0, values), rtol=1e-15)
    np.testing.assert_allclose(
        x.grad, [0.0, 1 / (1 + np.exp(3.0)), 0.5, 1 / (1 + np.exp(-0.5)), 1.0]
    )


def test_gelu_is_close_to_the_exact_erf_form() -> None:
    values = np.linspace(-4, 4, 33)
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in values])
    np.testing.assert_allclose(descend.gelu(Tensor(values)).numpy(), exact, atol=1e-3)


@pytest.mark.parametrize("axis, ddof", [(None, 0), (0, 0), (1, 1), ((0, 1), 1)])
def test_var_matches_numpy(axis: int | tuple[int, ...] | None, ddof: int) -> None:
    x = rand(4, 5)
    np.testing.assert_allclose(
        descend.var(Tensor(x), axis=axis, ddof=ddof).numpy(), np.var(x, axis=axis, ddof=ddof)
    )


def test_leaky_relu_matches_numpy() -> None:
    x = nonzero(7)
    np.testing.assert_array_equal(
        descend.leaky_relu(Tensor(x), 0.1).numpy(), np.where(x > 0, x, 0.1 * x)
    )


def test_stack_and_concatenate_match_numpy() -> None:
    a, b = rand(2, 3), rand(2, 3)
    np.testing.assert_array_equal(
        descend.stack([a, Tensor(b)], axis=-1).numpy(), np.stack([a, b], axis=-1)
    )
    np.testing.assert_array_equal(
        descend.concatenate([Tensor(a), b], axis=1).numpy(), np.concatenate([a, b], axis=1)
    )
