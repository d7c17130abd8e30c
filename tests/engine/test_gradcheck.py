"""Tests for descend.engine.gradcheck: central differences in float64, and a mismatch report
that names the input, the element and both values."""

from __future__ import annotations

import re

import numpy as np
import pytest

from descend import GradcheckError, gradcheck, ops
from descend.engine.gradcheck import numerical_gradient
from descend.engine.tensor import Vjp


# ----- gradcheck itself ------------------------------------------------------------------------
def test_gradcheck_names_the_input_and_element_of_a_wrong_vjp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a copy of the registry, restored after the test: the fake op never reaches the real one
    monkeypatch.setattr(ops, "PRIMITIVES", dict(ops.PRIMITIVES))

    @ops.primitive
    def wrong_multiply(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple[Vjp, Vjp]]:
        return a * b, (lambda g: g * b, lambda g: g * b)  # b's VJP should be g * a

    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 10.0])
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x, y: wrong_multiply(x, y).sum(), a, b)
    message = str(caught.value)
    assert "input 1 (shape (3,)) disagrees at element (2,)" in message  # a is right; b[2] worst
    backward, finite = (
        float(v) for v in re.findall(r"gives? (?:np\.float64\()?([-\d.e]+)", message)
    )
    assert backward == pytest.approx(10 / 3 * finite, rel=1e-6)  # b[2] * w against a[2] * w


def test_gradcheck_fails_when_finite_differences_are_nan() -> None:
    # log at 1e-7 with eps=1e-6 steps below 0: no number to compare with, so it must not pass
    with np.errstate(invalid="ignore"), pytest.raises(GradcheckError, match=r"element \(0,\).*nan"):
        gradcheck(ops.log, np.array([1e-7, 1.0]))


def test_gradcheck_fails_on_an_infinite_gradient() -> None:
    with np.errstate(invalid="ignore", divide="ignore"), pytest.raises(GradcheckError, match="inf"):
        gradcheck(ops.sqrt, np.array([1.0, 0.0]))


def test_gradcheck_names_a_scalar_input_by_its_value() -> None:
    with pytest.raises(
        GradcheckError, match=re.escape("input 0 (shape ()) disagrees at its value")
    ):
        gradcheck(lambda x: x.detach() * x, np.array(3.0))


def test_central_differences_of_a_cubic_are_exact_to_rounding_and_restore_the_array():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda: float((x**3).sum()), x, eps=1e-4)
    # (f(x+e) - f(x-e)) / 2e = 3x^2 + e^2 for x^3: the only error is e^2 = 1e-8
    np.testing.assert_allclose(grad, 3 * before**2 + 1e-8, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(x, before)


def test_a_right_gradient_passes_and_a_small_error_above_the_tolerance_fails(monkeypatch):
    a = np.array([0.3, -1.2, 2.0])
    assert gradcheck(lambda t: (t * t * t).sum(), a) is True
    monkeypatch.setattr(ops, "PRIMITIVES", dict(ops.PRIMITIVES))

    @ops.primitive
    def nearly_square(x: np.ndarray) -> tuple[np.ndarray, tuple[Vjp]]:
        return x * x, (lambda g: g * 2 * x * (1 + 2e-3),)  # 0.2% off: above rtol=1e-3

    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\)"):
        gradcheck(nearly_square, a)
    assert gradcheck(nearly_square, a, rtol=3e-3) is True
