"""Streaming table files in row blocks: the same model as in memory, minibatches by
block_plan, the same validation rows every pass, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.learn.blocks import block_plan
from descend.learn.losses import get_loss
from descend.learn.optim import SGD
from descend.scale.sources import Selection, TableFiles
from descend.scale.stream import FileBlocks
from tests.scale.frames import table

pytest.importorskip("pyarrow")


def mlp():
    return nn.MLP([3, 4, 1], activation="tanh", seed=0)


@pytest.mark.parametrize("kind", ["folder", "glob", "list", "csv"])
def test_streaming_full_batch_gives_the_in_memory_model_to_1e_10(files, kind):
    df, folder = files
    source = {
        "folder": str(folder),
        "glob": str(folder / "*.parquet"),
        "list": sorted(str(p) for p in folder.glob("*.parquet")),
        "csv": str(folder.parent / "big.csv"),
    }[kind]
    reference = mlp()
    expected = descend.fit(reference, df[["a", "b", "c"]].to_numpy(), df["y"].to_numpy(),
                           lr=0.1, epochs=15, tol=None, verbose=False)  # fmt: skip
    model = mlp()
    history = descend.fit(model, source, "y", lr=0.1, epochs=15, tol=None, verbose=False,
                          block_size=700)  # fmt: skip
    assert history.settings["rows"] == 3000
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-10)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)


def test_minibatches_follow_the_block_plan_over_row_groups(files):
    df, folder = files
    X, y = df[["a", "b", "c"]].to_numpy(), df["y"].to_numpy()
    model = mlp()
    descend.fit(model, str(folder), "y", lr=0.05, epochs=2, batch_size=128, tol=None,
                verbose=False, seed=3)  # fmt: skip
    # the lesson's minibatch loop over the same plan: the files' row groups
    groups = [500, 500, 500, 300, 500, 500, 200]
    assert TableFiles(str(folder)).unit_rows == groups
    starts = np.cumsum([0, *groups])
    reference = mlp()
    optimizer, loss = SGD(reference.parameters(), lr=0.05), get_loss("mse")
    rng = np.random.default_rng(3)
    for _ in range(2):
        for group, rows in block_plan(groups, 128, True, rng):
            optimizer.zero_grad()
            index = starts[group] + rows
            loss(reference(X[index]), y[index]).backward()
            optimizer.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def test_a_row_group_larger_than_a_block_is_read_and_shuffled_block_by_block(files):
    """Memory holds one block: the row groups in a shuffled order, each read in blocks of
    block_size rows, the rows shuffled within each block."""
    df, folder = files
    X, y = df[["a", "b", "c"]].to_numpy(), df["y"].to_numpy()
    model = mlp()
    descend.fit(model, str(folder), "y", lr=0.05, epochs=2, batch_size=64, tol=None,
                verbose=False, seed=3, block_size=200)  # fmt: skip
    groups = [500, 500, 500, 300, 500, 500, 200]
    starts = np.cumsum([0, *groups])
    reference = mlp()
    optimizer, loss = SGD(reference.parameters(), lr=0.05), get_loss("mse")
    rng = np.random.default_rng(3)
    for _ in range(2):
        for group in rng.permutation(len(groups)):
            for begin in range(0, groups[group], 200):
                block = starts[group] + np.arange(begin, min(begin + 200, groups[group]))
                for _, rows in block_plan([len(block)], 64, True, rng):
                    optimizer.zero_grad()
                    loss(reference(X[block[rows]]), y[block[rows]]).backward()
                    optimizer.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def test_a_validation_fraction_holds_out_the_same_rows_on_every_pass(files):
    _, folder = files
    rows = FileBlocks(str(folder), "y", block_size=256)
    train, held = rows.split(0.2, seed=1)
    assert train.n_rows + held.n_rows == 3000 and 500 < held.n_rows < 700
    first = np.concatenate([X[:, 0] for X, _, _ in held.blocks()])
    again = np.concatenate([X[:, 0] for X, _, _ in held.blocks()])
    np.testing.assert_array_equal(first, again)
    mask = Selection(0.2, 1, True).mask(0, 3000)
    assert mask.sum() == held.n_rows and (~mask).sum() == train.n_rows


def test_verify_compares_a_block_of_the_files_with_the_same_rows_in_memory(tmp_path, monkeypatch):
    table(3000).to_parquet(tmp_path / "t.parquet", row_group_size=1000)
    said = []
    descend.fit(nn.Linear(3, 1), str(tmp_path / "t.parquet"), "y", lr=0.1, epochs=2, tol=None,
                verify=True, verbose=said.append, block_size=700)  # fmt: skip
    first = "verify: the loss and gradient of 700 sample rows equal the in-memory ones"
    assert any(line.startswith(first) for line in said)
    estimator = descend.Regressor(epochs=2, tol=None, verify=True, verbose=said.append)
    estimator.fit(str(tmp_path / "t.parquet"), "y")
    assert sum("verify: the loss and gradient of 1000 sample rows" in s for s in said) == 1
    with pytest.raises(InputError, match="The 'verify' parameter of Regressor must be"):
        descend.Regressor(verify="yes").fit(str(tmp_path / "t.parquet"), "y")
    read = FileBlocks.gradient  # a source whose sums are 0.1% off: verify says so

    def wrong(self, model, loss_fn):
        total, count = read(self, model, loss_fn)
        return total * 1.001, count

    monkeypatch.setattr(FileBlocks, "gradient", wrong)
    with pytest.raises(InputError, match="verify: the loss and gradient of a sample of 1000"):
        descend.Regressor(epochs=2, verify=True).fit(str(tmp_path / "t.parquet"), "y")
