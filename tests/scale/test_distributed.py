"""Training on a real dask.distributed LocalCluster: two worker processes on the loopback,
started once for the module. Full batch equals in-memory to 1e-10; minibatches over the
partitions equal streaming the same blocks from a file; a worker killed mid-run changes
nothing."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import descend
from descend import nn

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50,
    )  # fmt: skip
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.3 + rng.normal(0, 0.2, n)
    return pd.DataFrame(X, columns=list("abcd")).assign(y=y)


def mlp():
    return nn.MLP([4, 5, 1], activation="tanh", seed=1)


def test_full_batch_on_two_workers_equals_in_memory(client):
    df = table()
    reference = mlp()
    expected = descend.fit(reference, df[list("abcd")].to_numpy(), df["y"].to_numpy(), lr=0.1,
                           epochs=20, tol=None, verbose=False)  # fmt: skip
    ddf = dd.from_pandas(df, npartitions=5)
    model = mlp()
    history = descend.fit(model, ddf[list("abcd")], ddf["y"], lr=0.1, epochs=20, tol=None,
                          verbose=False, verify=True)  # fmt: skip
    assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-10)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)


def test_minibatches_over_partitions_equal_streaming_the_same_blocks(client, tmp_path):
    df = table(1200)
    path = tmp_path / "t.parquet"
    df.to_parquet(path, row_group_size=300)  # one row group per partition
    streamed = mlp()
    expected = descend.fit(streamed, str(path), "y", optimizer="adam", lr=0.01, epochs=3,
                           batch_size=64, tol=None, verbose=False)  # fmt: skip
    ddf = dd.from_pandas(df, npartitions=4)
    assert list(ddf.map_partitions(len).compute()) == [300] * 4
    model = mlp()
    history = descend.fit(model, ddf[list("abcd")], ddf["y"], optimizer="adam", lr=0.01,
                          epochs=3, batch_size=64, tol=None, verbose=False)  # fmt: skip
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-12)
    for p, q in zip(model.parameters(), streamed.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


class KillingLoss:
    """Mean squared error that, computed in a worker process for the ``at``-th time, kills
    that process there (SIGKILL), in the middle of its task; once a run. The calls are
    counted in a file, which the workers share with this process."""

    def __init__(self, folder, at):
        self.folder, self.at, self.client_pid = str(folder), at, os.getpid()
        self.__name__ = "mse"

    def __call__(self, prediction, target, reduction="mean", weight=None):
        if os.getpid() != self.client_pid:
            with open(os.path.join(self.folder, "calls"), "ab") as calls:
                calls.write(b".")
                count = calls.tell()
            if count >= self.at and self._first():
                os.kill(os.getpid(), signal.SIGKILL)
        return descend.losses.mse(prediction, target, reduction=reduction, weight=weight)

    def _first(self):
        try:  # one process wins the file: one kill a run
            os.close(os.open(os.path.join(self.folder, "killed"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        with open(os.path.join(self.folder, "killed"), "w") as note:
            note.write(str(os.getpid()))
        return True


@pytest.mark.parametrize("batch_size", [None, 400])
def test_a_worker_killed_in_the_middle_of_a_task_changes_nothing(client, batch_size, tmp_path):
    df = table(1600)
    X, y = df[list("abcd")].to_numpy(), df["y"].to_numpy()
    ddf = dd.from_pandas(df, npartitions=4)
    runs = []
    for folder in (tmp_path / "whole", tmp_path / "killed"):
        folder.mkdir()
        at = 10**9 if folder.name == "whole" else 25  # 4 calls an epoch: in epoch 6 of 8
        before = set(client.run(os.getpid).values())
        model = mlp()
        history = descend.fit(model, ddf[list("abcd")], ddf["y"], loss=KillingLoss(folder, at),
                              lr=0.05, epochs=8, batch_size=batch_size, tol=None,
                              verbose=False)  # fmt: skip
        client.wait_for_workers(2, timeout=60)
        runs.append((model, history, before, set(client.run(os.getpid).values())))
    (model, history, *_), (survivor, survived, before, after) = runs
    victim = int((tmp_path / "killed" / "killed").read_text())  # killed inside a task
    assert victim in before and victim not in after and len(after) == 2  # a new worker
    assert survived.epochs == 8 and survived.stop_reason == "max_epochs"
    np.testing.assert_array_equal(survived.loss, history.loss)  # Dask recomputed, same numbers
    for p, q in zip(model.parameters(), survivor.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    if batch_size is None:  # and the same as in memory
        reference = mlp()
        descend.fit(reference, X, y, lr=0.05, epochs=8, tol=None, verbose=False)
        for p, q in zip(survivor.parameters(), reference.parameters()):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)


def test_the_estimators_fit_dask_columns_and_arrays(client):
    df = table(1000).assign(kind=lambda d: np.where(d.a > 0, "p", "n"))
    ddf = dd.from_pandas(df, npartitions=3)
    cols = ["a", "b", "c", "kind"]
    expected = descend.Regressor(epochs=25, tol=None).fit(df[cols], df["y"])
    fitted = descend.Regressor(epochs=25, tol=None).fit(ddf[cols], ddf["y"])
    assert fitted.preprocessor_.feature_names_out_ == ["a", "b", "c", "kind=n", "kind=p"]
    np.testing.assert_allclose(fitted.predict(df[cols]), expected.predict(df[cols]), rtol=1e-10)
    array = da.from_array(df[list("abcd")].to_numpy(), chunks=(250, 4))
    target = da.from_array(df["y"].to_numpy(), chunks=250)
    on_arrays = descend.Regressor(epochs=15, lr=0.5, tol=None).fit(array, target)
    assert on_arrays.score(df[list("abcd")].to_numpy(), df["y"]) > 0.99


def test_columns_read_from_parquet_by_dask_keep_their_partitions(client, tmp_path):
    df = table(4000)
    for i in range(4):
        df.iloc[1000 * i : 1000 * (i + 1)].to_parquet(tmp_path / f"part-{i}.parquet")
    frame = dd.read_parquet(str(tmp_path))
    features, target = frame[list("abcd")], frame["y"]  # read alone, y may merge partitions
    reference = mlp()
    descend.fit(reference, df[list("abcd")].to_numpy(), df["y"].to_numpy(), lr=0.1, epochs=5,
                tol=None, verbose=False)  # fmt: skip
    model = mlp()
    descend.fit(model, features, target, lr=0.1, epochs=5, tol=None, verbose=False)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)
