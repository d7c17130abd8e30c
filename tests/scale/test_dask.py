import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.scale.dask import is_dask

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


def data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3 + rng.normal(0, 0.1, n)


def in_memory(X, y, **kwargs):
    model = nn.MLP([3, 5, 1], activation="tanh", seed=1)
    return model, descend.fit(model, X, y, verbose=False, tol=None, **kwargs)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_array_training_equals_in_memory_training(scheduler):
    import dask

    X, y = data()
    reference, expected = in_memory(X, y, lr=0.1, epochs=15)
    model = nn.MLP([3, 5, 1], activation="tanh", seed=1)
    with dask.config.set(scheduler=scheduler):
        history = descend.fit(
            model,
            da.from_array(X, chunks=(256, 3)),
            da.from_array(y, chunks=256),
            lr=0.1,
            epochs=15,
            verbose=False,
            tol=None,
        )
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-12)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-11, atol=1e-13)


def test_partitions_are_kept_column_major_for_every_epoch():
    """Each column contiguous, as pandas keeps a table: a full-batch pass reads them in order."""
    import dask

    from descend.scale.dask import DaskBlocks

    X, y = data(400)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y), npartitions=2)
    rows = DaskBlocks(frame[["a", "b", "c"]], frame["y"])
    train, _ = rows.split(0.25, seed=0)
    for part in (*rows.parts, *train.parts):
        features, target = dask.compute(part)[0]
        assert features.flags.f_contiguous and not features.flags.c_contiguous
        assert features.shape[1] == 3 and target.ndim == 1
    first = dask.compute(rows.parts[0])[0][0]
    np.testing.assert_array_equal(first, X[: len(first)])


def test_dask_dataframe_training_with_in_memory_validation():
    X, y = data(400)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    ddf = dd.from_pandas(frame, npartitions=4)
    assert is_dask(ddf) and not is_dask(X)
    model = nn.Linear(3, 1, init="zeros")
    history = descend.fit(
        model,
        ddf[["a", "b", "c"]],
        ddf["y"],
        lr=0.3,
        epochs=300,
        validation=(X[:50], y[:50]),
        verbose=False,
        tol=None,
    )
    exact = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    np.testing.assert_allclose(model.weight.data.ravel(), exact[:3], atol=1e-8)
    assert len(history.val_loss) == 300


def test_dask_minibatches_and_a_validation_fraction_are_row_blocks():
    X, y = data(400)
    model = nn.Linear(3, 1, init="zeros")
    history = descend.fit(
        model, da.from_array(X, chunks=100), da.from_array(y, chunks=100), lr=0.05, epochs=30,
        batch_size=25, validation=0.25, verbose=False, tol=None,
    )  # fmt: skip
    rows, held = history.settings["rows"], history.settings["validation_rows"]
    assert rows + held == 400 and 60 < held < 140  # about a quarter, chosen by row number
    assert history.val_loss[-1] < 0.05


def test_dask_takes_no_sample_weight():
    X, y = data(100)
    with pytest.raises(InputError, match="sample_weight"):
        descend.fit(
            nn.Linear(3, 1), da.from_array(X, chunks=50), da.from_array(y, chunks=50),
            sample_weight=np.ones(100), verbose=False,
        )  # fmt: skip


def test_dask_targets_must_be_dask_too():
    X, y = data(100)
    with pytest.raises(InputError, match="targets must be a Dask Array or Series"):
        descend.fit(nn.Linear(3, 1), da.from_array(X, chunks=50), y, verbose=False)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_the_estimators_fit_columns_of_a_csv_read_by_dask(scheduler, tmp_path):
    """dd.read_csv: partitions of unknown divisions, each indexed from 0. Persisted apart,
    the features and target could no longer be matched row by row."""
    import dask

    X, y = data(3000)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        kind=np.where(X[:, 0] > 0, "p", "n"), y=y
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = dd.read_csv(tmp_path / "t.csv", blocksize=25_000)
    assert table.npartitions >= 4 and not table.known_divisions
    cols = ["a", "b", "c", "kind"]
    expected = descend.Regressor(epochs=20, tol=None).fit(frame[cols], frame["y"])
    streamed = descend.Regressor(epochs=20, tol=None, validation=0.2).fit(tmp_path / "t.csv", "y")
    with dask.config.set(scheduler=scheduler):
        whole = descend.Regressor(epochs=20, tol=None).fit(table[cols], table["y"])
        held = descend.Regressor(epochs=20, tol=None, validation=0.2).fit(table[cols], table["y"])
    assert whole.history_.settings["rows"] == 3000
    np.testing.assert_allclose(
        whole.predict(frame[cols]), expected.predict(frame[cols]), rtol=1e-10
    )
    # the validation rows chosen by row number: the same as streaming the file
    assert held.history_.settings["rows"] == streamed.history_.settings["rows"] < 2600
    np.testing.assert_allclose(held.predict(frame[cols]), streamed.predict(frame[cols]), rtol=1e-10)
