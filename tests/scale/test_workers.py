"""Tests for descend.scale.workers: the tasks that run where a partition lives give the sums
``learn.blocks`` gives in memory, and an actor holds its partitions by index. (On a real
dask.distributed cluster, with a worker killed mid-run: tests/scale/test_distributed.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from descend.learn import losses, nn
from descend.learn.blocks import accumulate, batch_gradient, blocks_of
from descend.scale.workers import BlockHolder, batch_sums, partition_sums

RNG = np.random.default_rng(6)
PARTS = [(RNG.normal(size=(n, 3)), RNG.normal(size=n)) for n in (40, 25)]
MODEL = nn.MLP([3, 4, 1], activation="tanh", seed=2)


def in_memory(X, y):
    """(loss sum, rows, gradient vector) of MODEL on (X, y), computed here."""
    MODEL.zero_grad()
    total, count = accumulate(MODEL, losses.mse, blocks_of(X, y, None, 16), True)
    grads = np.concatenate([p.grad.ravel() for p in MODEL.parameters()])
    MODEL.zero_grad()
    return total, count, grads


def test_a_partitions_sums_are_those_of_its_rows_in_memory():
    config, state = MODEL.to_config(), MODEL.state_dict()
    X, y = PARTS[0]
    total, count, vector = partition_sums(config, state, losses.mse, PARTS[0], backward=True)
    expected = in_memory(X, y)
    assert count == 40 and total == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(vector, expected[2], rtol=1e-12, atol=1e-15)
    again = partition_sums(config, state, losses.mse, PARTS[0], backward=False)
    assert again[0] == pytest.approx(total, rel=1e-12) and again[1:] == (40, None)


def test_a_minibatch_of_a_partition_is_its_mean_loss_and_gradient():
    config, state = MODEL.to_config(), MODEL.state_dict()
    X, y = PARTS[1]
    rows = np.array([0, 3, 7, 11])
    value, counted, vector = batch_sums(config, state, losses.mse, PARTS[1], rows)
    MODEL.zero_grad()
    expected, _ = batch_gradient(MODEL, losses.mse, (X[rows], y[rows], None))
    grads = np.concatenate([p.grad.ravel() for p in MODEL.parameters()])
    MODEL.zero_grad()
    assert counted == 4 and value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(vector, grads, rtol=1e-12, atol=1e-15)


def test_an_actor_answers_for_each_partition_it_holds_by_index():
    config, state = MODEL.to_config(), MODEL.state_dict()
    holder = BlockHolder([4, 9], *PARTS)
    sums = holder.sums(config, state, losses.mse, False)
    assert sorted(sums) == [4, 9]
    assert sums[9][1] == 25 and sums[9][0] == pytest.approx(in_memory(*PARTS[1])[0], rel=1e-12)
    value, counted, _ = holder.batch(config, state, losses.mse, 4, np.arange(10))
    assert counted == 10
    X, y = PARTS[0]
    assert value == pytest.approx(float(np.mean((MODEL(X[:10]).data[:, 0] - y[:10]) ** 2)))
