"""Tests for descend.learn.blocks: the gradient of a data set is the sum of the gradients of
its row blocks, and a block is sized by the rows of X and the outputs of the model."""

import numpy as np
import pytest

import descend
from descend import nn
from descend.learn.blocks import accumulate, blocks_of


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
