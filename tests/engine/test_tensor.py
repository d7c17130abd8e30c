"""Tensor and backward(): the lesson's gradient, the graph walk, dtypes, errors, gradcheck."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import descend
from descend import Tensor, no_grad, ops

Unary = Callable[[Tensor], Tensor]


# ----- backward() against the lesson ----------------------------------------------------------
def test_mse_gradient_equals_the_lessons_formula() -> None:
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    w = Tensor(rng.normal(size=3), requires_grad=True)
    b = Tensor(0.3, requires_grad=True)
    loss = ((X @ w + b - y) ** 2).mean()
    loss.backward()

    errors = X @ w.data + b.data - y
    np.testing.assert_allclose(loss.item(), np.mean(errors**2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(w.grad, 2 / len(y) * X.T @ errors, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.grad, 2 / len(y) * np.sum(errors), rtol=0, atol=1e-12)


def test_a_chain_of_100000_ops_does_not_hit_the_recursion_limit() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0000001**100_000] * 2, rtol=1e-9)
    np.testing.assert_allclose(y.numpy(), [1.0000001**100_000, -2 * 1.0000001**100_000], rtol=1e-9)


def test_gradients_accumulate_until_zero_grad() -> None:
    w = Tensor([1.0, -3.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [4.0, -12.0])
    w.zero_grad()
    assert w.grad is None
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, -6.0])


def test_a_tensor_used_twice_gets_the_sum_of_both_paths() -> None:
    x = Tensor([2.0, 5.0], requires_grad=True)
    (x * x + 3.0 * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 13.0])  # 2x + 3
    x.zero_grad()
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_shared_subexpression_is_walked_once() -> None:
    x = Tensor([3.0], requires_grad=True)
    h = x * x  # used by both branches below: its gradient must add up before going on
    (h * 2.0 + h.exp()).sum().backward()
    np.testing.assert_allclose(x.grad, [2 * 3.0 * (2.0 + np.exp(9.0))], rtol=1e-14)


def test_a_tensor_made_early_and_used_late_passes_on_its_whole_gradient() -> None:
    # a is made first but used by the last op too: backward must collect both
    # contributions to a before it passes a's gradient on to x
    x = Tensor([2.0], requires_grad=True)
    a = x * 3.0
    b = (x * x) * a
    c = (b + 1.0).exp() * 0.0 + b * a
    c.sum().backward()
    # c = (x^2 * 3x) * 3x = 9 x^4, so dc/dx = 36 x^3
    np.testing.assert_allclose(x.grad, [36.0 * 8.0], rtol=1e-14)


def test_backward_on_a_leaf_accumulates_the_given_gradient() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    x.backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(x.grad, [4.0, 5.0])


def test_detach_cuts_the_gradient() -> None:
    x = Tensor([2.0, 5.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 5.0])  # x, not 2x


def test_backward_with_an_explicit_gradient() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


def test_only_inputs_that_require_grad_enter_the_graph() -> None:
    X = Tensor(np.ones((4, 3)))
    w = Tensor(np.ones(3), requires_grad=True)
    out = X @ w
    assert out._parents == (w,)  # X's 4 x 3 gradient is never formed
    out.sum().backward()
    assert X.grad is None
    np.testing.assert_array_equal(w.grad, [4.0, 4.0, 4.0])


# ----- no_grad ---------------------------------------------------------------------------------
def test_no_grad_records_no_graph() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not descend.is_grad_enabled()
        y = (x * 2.0).sum()
    assert descend.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), 6.0)


def test_no_grad_restores_the_flag_after_an_exception() -> None:
    with pytest.raises(RuntimeError, match="inside"), no_grad():
        raise RuntimeError("an error inside no_grad()")
    assert descend.is_grad_enabled()
    with no_grad():
        with no_grad():
            pass
        assert not descend.is_grad_enabled()  # the inner block restores "off", not "on"
    assert descend.is_grad_enabled()


# ----- dtypes and operators with arrays and numbers --------------------------------------------
def test_float32_stays_float32_including_its_gradient() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    y = (2 * x + 1.5) / 3 - x**2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2 / 3 - 2 * x.data, rtol=1e-6)


def test_float32_leaf_gradient_stays_float32_when_a_float64_gradient_reaches_it() -> None:
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    ops.maximum(x, 1.5).sum().backward()  # maximum's share is float64
    ops.maximum(x, 1.5).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [0.0, 2.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda x: 2 * x,
        lambda x: x + np.ones(3),
        lambda x: np.ones(3) + x,
        lambda x: np.float64(2.0) * x,
        lambda x: np.ones((2, 3)) @ x,
        lambda x: 1.0 - x,
        lambda x: 2.0**x,
    ],
    ids=["2 * x", "x + ndarray", "ndarray + x", "np.float64 * x", "ndarray @ x", "1 - x", "2 ** x"],
)
def test_mixing_with_numbers_and_arrays_gives_tensors_in_the_graph(make: Unary) -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = make(x)
    assert isinstance(out, Tensor)
    assert out.requires_grad


def test_integer_data_stays_integer() -> None:
    t = descend.tensor([1, 2, 3])
    assert t.dtype.kind == "i" and not t.requires_grad
    assert descend.tensor([1, 2], dtype=float).dtype == np.float64


# ----- error messages --------------------------------------------------------------------------
def test_matmul_names_both_shapes_when_they_do_not_align() -> None:
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((5, 2)))
    with pytest.raises(
        ValueError, match=re.escape("matmul: shapes (3, 4) and (5, 2) do not align: 4 != 5")
    ):
        a @ b


def test_matmul_names_the_stacks_when_only_their_leading_axes_differ() -> None:
    a, b = Tensor(np.ones((2, 3, 4))), Tensor(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match=re.escape("stacks of shapes (2, 3, 4) and (3, 4, 5)")):
        a @ b


def test_matmul_of_a_scalar_says_to_use_multiplication() -> None:
    with pytest.raises(ValueError, match="Use \\* to multiply by a scalar"):
        ops.matmul(Tensor(2.0), Tensor(np.ones(3)))


def test_backward_on_a_non_scalar_without_grad_names_the_shape() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=re.escape("backward() on a tensor of shape (2, 3) needs an explicit grad"),
    ):
        (x * 2.0).backward()


def test_backward_with_a_gradient_of_the_wrong_shape() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(
        ValueError, match=re.escape("gradient of shape (2,) for a tensor of shape (3,)")
    ):
        (x * 2.0).backward(np.ones(2))


def test_backward_on_a_tensor_that_does_not_require_grad() -> None:
    with pytest.raises(RuntimeError, match="does not require gradients"):
        (Tensor([1.0]) * 2.0).backward()


def test_requires_grad_on_an_integer_tensor() -> None:
    with pytest.raises(
        TypeError, match="Only floating-point tensors can require gradients; got dtype int64"
    ):
        Tensor(np.array([1, 2], dtype=np.int64), requires_grad=True)


def test_item_on_a_multi_element_tensor() -> None:
    with pytest.raises(
        ValueError, match=re.escape("exactly one element; this one has shape (2, 2)")
    ):
        Tensor(np.ones((2, 2))).item()


def test_reshape_to_a_wrong_size() -> None:
    with pytest.raises(
        ValueError, match=re.escape("cannot reshape a tensor of shape (2, 3) (6 values) into (4,)")
    ):
        Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match=re.escape("(6 values) into 4;")):
        descend.reshape(Tensor(np.ones((2, 3))), 4)  # an int shape, as NumPy allows


# ----- the array-like surface ------------------------------------------------------------------
def test_repr() -> None:
    assert repr(descend.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert (
        repr(descend.tensor([1.0, 2.0], requires_grad=True))
        == "tensor([1., 2.], requires_grad=True)"
    )
    assert repr(descend.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert repr(descend.tensor([1, 2], dtype=np.float32)) == "tensor([1., 2.], dtype=float32)"
    assert repr(descend.tensor(3.5)) == "tensor(3.5)"


def test_array_properties_and_conversions() -> None:
    data = np.arange(6.0).reshape(2, 3)
    t = Tensor(data)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.dtype == np.float64
    assert t.numpy() is t.data
    np.testing.assert_array_equal(t.T.numpy(), data.T)
    assert t.T.shape == (3, 2)
    value = t.sum().item()
    assert value == 15.0 and type(value) is float
    assert float(t[1, 2]) == 5.0 and int(t[1, 2]) == 5
    np.testing.assert_array_equal(np.asarray(t), data)


@pytest.mark.parametrize(
    "compare, expected",
    [
        (lambda x: x < 2.0, [True, False, False]),
        (lambda x: x <= 2.0, [True, True, False]),
        (lambda x: x > 2.0, [False, False, True]),
        (lambda x: x >= 2.0, [False, True, True]),
        (lambda x: x == 2.0, [False, True, False]),
        (lambda x: x != Tensor([1.0, 0.0, 3.0]), [False, True, False]),
    ],
    ids=["<", "<=", ">", ">=", "==", "!= tensor"],
)
def test_comparisons_give_boolean_tensors_without_grad(
    compare: Unary, expected: list[bool]
) -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = compare(x)
    assert isinstance(out, Tensor) and out.dtype == np.bool_
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), expected)


def test_tensor_stays_usable_as_a_dict_key() -> None:
    a, b = Tensor([1.0]), Tensor([1.0])
    grads = {a: 1, b: 2}  # __eq__ returns a tensor, so hashing must be by identity
    assert grads[a] == 1 and grads[b] == 2


def test_numpy_array_copy_of_a_tensor_is_a_copy():
    import numpy as np

    import descend

    t = descend.tensor([1.0, 2.0])
    copied = np.array(t, copy=True)
    copied[0] = 99.0
    assert t.data[0] == 1.0
    assert np.asarray(t) is t.data  # no copy asked, none made


def test_no_grad_in_one_thread_leaves_the_others_recording():
    import threading

    inside, outside = threading.Event(), threading.Event()

    def quiet() -> None:
        with descend.no_grad():
            inside.set()
            outside.wait(5)

    worker = threading.Thread(target=quiet)
    worker.start()
    inside.wait(5)
    w = descend.tensor([2.0], requires_grad=True)
    (w * w).sum().backward()  # this thread still records, while the other is in no_grad
    outside.set()
    worker.join()
    assert w.grad.tolist() == [4.0]
    assert descend.is_grad_enabled()
