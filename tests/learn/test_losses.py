import math

import numpy as np
import pytest

import descend
from descend import losses
from descend.errors import InputError

rng = np.random.default_rng(0)


def test_mse_matches_the_lesson():
    assert losses.mse(descend.tensor([1.5]), [2.8]).item() == pytest.approx(1.69)
    pred, target = rng.normal(size=10), rng.normal(size=10)
    assert losses.mse(pred, target).item() == pytest.approx(np.mean((pred - target) ** 2), 1e-14)


def lesson_bce(y_pred, y_true):  # the lesson's function, verbatim in meaning
    eps = 1e-7
    y_pred = max(eps, min(1 - eps, y_pred))
    return -(y_true * math.log(y_pred) + (1 - y_true) * math.log(1 - y_pred))


@pytest.mark.parametrize("p", [0.0, 1e-9, 0.3, 0.999, 1.0])
@pytest.mark.parametrize("t", [0, 1])
def test_binary_cross_entropy_clamps_exactly_as_the_lesson(p, t):
    got = losses.binary_cross_entropy(descend.tensor([p]), [t]).item()
    assert got == pytest.approx(lesson_bce(p, t), rel=1e-12)


def test_mae_and_huber_values():
    pred, target = np.array([0.0, 0.5, 3.0]), np.array([0.0, 0.0, 0.0])
    assert losses.mae(pred, target).item() == pytest.approx(3.5 / 3)
    # huber with delta 1: 0, 0.5 * 0.25, 1 * (3 - 0.5)
    assert losses.huber(pred, target).item() == pytest.approx((0.125 + 2.5) / 3)
    assert losses.huber(pred, target, delta=4.0).item() == pytest.approx((0.125 + 4.5) / 3)


def test_bce_with_logits_is_stable_and_matches_bce():
    z = np.array([-3.0, 0.2, 4.0])
    t = np.array([0.0, 1.0, 1.0])
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert losses.bce_with_logits(z, t).item() == pytest.approx(expected, rel=1e-12)
    big = descend.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    value = losses.bce_with_logits(big, [1.0, 0.0, 0.0, 1.0], reduction="none")
    np.testing.assert_allclose(value.data, [0.0, 0.0, 1000.0, 1000.0])
    value.sum().backward()
    np.testing.assert_allclose(big.grad, [0.0, 0.0, 1.0, -1.0])


def test_cross_entropy_with_labels_and_probabilities():
    logits = rng.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(6), labels].mean()
    assert losses.cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-12)
    one_hot = np.eye(4)[labels]
    assert losses.cross_entropy(logits, one_hot).item() == pytest.approx(expected, rel=1e-12)
    as_float = labels.astype(float)
    assert losses.cross_entropy(logits, as_float).item() == pytest.approx(expected, rel=1e-12)
    huge = descend.tensor([[1000.0, -1000.0]], requires_grad=True)
    value = losses.cross_entropy(huge, [1])
    assert value.item() == pytest.approx(2000.0)
    value.backward()
    np.testing.assert_allclose(huge.grad, [[1.0, -1.0]])


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "binary_cross_entropy", "bce_with_logits"])
def test_elementwise_losses_gradcheck_with_weights(name):
    fn = losses.LOSSES[name]
    pred = rng.uniform(0.1, 0.9, size=(5, 1))
    target = rng.integers(0, 2, size=5).astype(float)
    weight = rng.uniform(0.5, 2.0, size=5)
    assert descend.gradcheck(lambda p: fn(p, target, weight=weight), pred)
    per = fn(pred, target, reduction="none").data.ravel()
    weighted = fn(pred, target, weight=weight).item()
    assert weighted == pytest.approx((per * weight).sum() / weight.sum(), rel=1e-12)
    assert fn(pred, target, reduction="sum").item() == pytest.approx(per.sum(), rel=1e-12)


def test_cross_entropy_gradcheck():
    labels = np.array([2, 0, 1])
    assert descend.gradcheck(lambda z: losses.cross_entropy(z, labels), rng.normal(size=(3, 3)))


def test_column_prediction_against_flat_target_is_matched_not_broadcast():
    pred = np.array([[1.0], [2.0], [3.0]])
    target = np.array([1.0, 2.0, 4.0])
    assert losses.mse(pred, target).item() == pytest.approx(1 / 3)  # broadcasting would give 2.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: losses.mse(np.ones(3), np.ones(4)), r"prediction has shape \(3,\) but the target"),
        (
            lambda: losses.mse(np.ones((3, 2)), np.ones(3)),
            r"shape \(3, 2\) but the target has shape",
        ),
        (lambda: losses.mse(np.ones(3), np.ones(3), reduction="avg"), "'reduction' parameter"),
        (lambda: losses.mse(np.ones(3), np.ones(3), weight=np.ones(2)), "one value per row"),
        (lambda: losses.cross_entropy(np.ones((2, 3)), [0, 3]), r"labels must lie in \[0, 3\)"),
        (lambda: losses.cross_entropy(np.ones((2, 3)), [0.5, 1]), "integer class indices"),
        (lambda: losses.cross_entropy(np.ones(3), [0, 1, 2]), r"logits must have shape \(N, C\)"),
        (lambda: losses.huber(np.ones(2), np.ones(2), delta=0), "'delta' parameter of huber"),
        (lambda: losses.get_loss("hinge"), "Unknown loss 'hinge'"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()
