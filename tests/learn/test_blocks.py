"""Tests for descend.learn.blocks: the gradient of a data set is the sum of the gradients of
its row blocks, and a block is sized by the rows of X and the outputs of the model."""

import numpy as np
import pytest

import descend
from descend import nn
from descend.data import batch_indices
from descend.errors import InputError
from descend.learn.blocks import ArrayBlocks, accumulate, block_plan, blocks_of, evaluate_loss


def test_block_gradients_equal_the_one_shot_gradient():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(1000, 5)), rng.normal(size=1000)
    model = nn.MLP([5, 7, 1], activation="tanh", seed=3)
    one_shot = descend.losses.mse(model(X), y)
    one_shot.backward()
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    total, count = accumulate(model, descend.losses.mse, blocks_of(X, y, None, 97), True)
    assert count == 1000
    assert total / count == pytest.approx(one_shot.item(), rel=1e-12)
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad / count, g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_block_gradients_of_a_classifier_equal_the_one_shot_gradient(dtype, rtol):
    # cross-entropy through the fused softmax_cross_entropy, ReLU layers, float32 kept
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(1000, 6)).astype(dtype), rng.integers(0, 4, size=1000)
    model = nn.MLP([6, 16, 4], seed=5, dtype=dtype)
    one_shot = descend.losses.cross_entropy(model(X), y)
    one_shot.backward()
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    blocks = blocks_of(X, y, None, 97)
    total, count = accumulate(model, descend.losses.cross_entropy, blocks, True)
    assert count == 1000
    assert total / count == pytest.approx(one_shot.item(), rel=rtol)
    for p, g in zip(model.parameters(), expected):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad / count, g, rtol=rtol, atol=rtol * np.abs(g).max())


def test_a_block_counts_the_outputs_of_many_classes_as_well_as_the_rows_of_x():
    from descend.learn.blocks import BLOCK_BYTES, ROW_COPIES, block_rows

    X = np.zeros((20_000, 5))
    rows = block_rows(X, model=nn.Linear(5, 10_000))  # 10,000 classes: 10,000 logits a row
    assert rows * 10_000 * 8 * ROW_COPIES <= 16 * BLOCK_BYTES  # 30 MB, not 1.6 GB a block
    assert rows >= 16
    narrow = block_rows(X, model=nn.Linear(5, 1))
    assert narrow * (40 + 8 * ROW_COPIES) <= BLOCK_BYTES < (narrow + 1) * (40 + 8 * ROW_COPIES)
    huge = type("Huge", (), {"parameters": lambda self: [np.empty((0, 10**7))]})()
    assert block_rows(X, model=huge) == 1  # 10^7 outputs: even one row is large
    assert block_rows(X, 100, nn.Linear(5, 10_000)) == 100  # block_size is obeyed


def test_many_classes_train_block_by_block_to_the_gradient_of_one_block():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), np.repeat(np.arange(150), 2)
    models = [nn.Linear(3, 150, seed=1) for _ in range(2)]
    for model, block_size in zip(models, (None, 300)):  # None: rows per block from the width
        descend.fit(model, X, y, loss="cross_entropy", lr=0.5, epochs=3, tol=None,
                    verbose=False, block_size=block_size)  # fmt: skip
    np.testing.assert_allclose(models[0].weight.data, models[1].weight.data, rtol=1e-12)


def test_minibatches_are_the_rows_of_the_batch_indices_in_their_order():
    X, y, w = np.arange(14.0).reshape(7, 2), np.arange(7.0), np.linspace(1, 2, 7)
    batches = list(ArrayBlocks(X, y, w).batches(3, True, np.random.default_rng(5)))
    order = list(batch_indices(7, 3, shuffle=True, rng=np.random.default_rng(5)))
    assert [len(b[0]) for b in batches] == [3, 3, 1]
    for (bx, by, bw), rows in zip(batches, order):
        np.testing.assert_array_equal(bx, X[rows])
        np.testing.assert_array_equal(by, y[rows])
        np.testing.assert_array_equal(bw, w[rows])


def test_the_loss_of_a_model_is_the_weighted_mean_over_the_blocks():
    model = nn.Linear(1, 1, bias=False, init="zeros")
    model.weight.data[...] = 2.0
    X, y, w = np.array([[1.0], [2.0], [3.0]]), np.ones(3), np.array([1.0, 0.0, 3.0])
    # errors 1, 3, 5; weights 1, 0, 3: (1 + 0 + 75) / 4
    assert evaluate_loss(model, X, y, "mse", sample_weight=w, block_size=1) == 19.0
    assert ArrayBlocks(X, y, w, block_size=2).loss(model, descend.losses.mse) == 19.0
    assert model.weight.grad is None


def test_block_plan_visits_every_row_once_per_epoch():
    rng = np.random.default_rng(0)
    seen = [(b, r) for b, r in block_plan([5, 0, 7], 3, True, rng)]
    assert sorted((b, int(i)) for b, rows in seen for i in rows) == [(0, i) for i in range(5)] + [
        (2, i) for i in range(7)
    ]
    assert all(len(rows) <= 3 for _, rows in seen)


def test_evaluate_loss_takes_weights_as_a_list_and_checks_them_as_fit_does():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((9, 2)), rng.standard_normal(9)
    model = nn.Linear(2, 1, seed=1)
    weights = [1, 2, 0, 1, 3, 1, 1, 2, 1]
    residual = model(X).data.ravel() - y
    expected = np.sum(np.array(weights) * residual**2) / sum(weights)
    assert evaluate_loss(model, X, y, sample_weight=weights) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InputError, match="sample_weight"):
        evaluate_loss(model, X, y, sample_weight=[1.0] * 8)
    with pytest.raises(InputError, match="NaN"):
        evaluate_loss(model, np.r_[X[:8], [[np.nan, 0.0]]], y)
