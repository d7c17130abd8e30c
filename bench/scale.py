"""Workload 7: data beyond memory. Peak memory streaming 1x and 10x the data, and time per
full-batch epoch in memory, streamed from Parquet, and on a Dask LocalCluster of 1 and 2
worker processes (partitions persisted once), as ratios measured in one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import Row, duration

import descend
from descend import nn

D = 10


def write_parquet(folder: Path, n: int, files: int = 1, group: int = 50_000) -> None:
    """``n`` rows of the lesson's data, d = 10, as Parquet files with row groups of ``group``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    w = rng.standard_normal(D)
    per_file = n // files
    for f in range(files):
        X = rng.standard_normal((per_file, D))
        y = X @ w + 0.5 + rng.standard_normal(per_file)
        columns = {f"x{j}": X[:, j] for j in range(D)} | {"y": y}
        pq.write_table(pa.table(columns), folder / f"part-{f:03d}.parquet", row_group_size=group)


def read_all(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    df = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))])
    return df[[f"x{j}" for j in range(D)]].to_numpy(), df["y"].to_numpy()


def child(folder: Path, epochs: int) -> dict:
    script = Path(__file__).with_name("stream_child.py")
    result = subprocess.run(
        [sys.executable, str(script), str(folder), str(epochs)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


NAME = "7. Beyond memory: streaming Parquet, Dask LocalCluster"


def stream_memory(n: int = 200_000, epochs: int = 2) -> list[Row]:
    """Peak RSS of a child streaming 10x the rows over that of one streaming 1x; the 1x
    model against the in-memory one."""
    name = NAME
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp, "1x"), Path(tmp, "10x")
        small.mkdir()
        big.mkdir()
        write_parquet(small, n, files=2)
        write_parquet(big, 10 * n, files=10)
        one, ten = child(small, epochs), child(big, epochs)
        X, y = read_all(small)
    model = nn.Linear(D, 1, init="zeros")
    descend.fit(model, X, y, lr=0.1, epochs=epochs, tol=None, verbose=False)
    exact = [*model.weight.data.ravel(), *model.bias.data.ravel()]
    gap = float(np.max(np.abs(np.array(one["weights"]) - exact)) / np.max(np.abs(exact)))
    mib = 2**20
    return [
        Row(name, f"peak RSS streaming {10 * n:,} / {n:,} rows x {D}", f"{ten['peak'] / mib:,.0f} MiB",
            f"{one['peak'] / mib:,.0f} MiB", ten["peak"] / one["peak"], 1.2, "<= 1.2",
            f"10x the data is {10 * n * (D + 1) * 8 / mib:,.0f} MiB of float64; interpreter "
            f"and libraries {one['before'] / mib:,.0f} MiB"),
        Row(name, f"streamed / in-memory model, {n:,} rows", f"{gap:.1e}", "in memory",
            gap, 1e-10, "<= 1e-10", "largest relative weight difference"),
    ]  # fmt: skip


def epoch_seconds(fit_rows, epochs: int) -> float:
    """Median seconds per epoch of a full-batch fit (set-up, the first epoch left out)."""
    model = nn.Linear(D, 1, init="zeros")
    history = fit_rows(model, epochs)
    return float(np.median(np.diff(history.time)))


def dask_seconds(folder: Path, workers: int, epochs: int) -> float:
    """Seconds per epoch on a LocalCluster of ``workers`` processes, the Parquet files read
    by Dask (one partition a file) and persisted once."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50,
    ) as cluster, Client(cluster):  # fmt: skip
        frame = dd.read_parquet(str(folder))
        X, y = frame[[f"x{j}" for j in range(D)]], frame["y"]
        return epoch_seconds(
            lambda m, e: descend.fit(m, X, y, lr=0.1, epochs=e, tol=None, verbose=False), epochs
        )


def epoch_times(n: int = 1_000_000, epochs: int = 12) -> list[Row]:
    """Seconds per full-batch epoch: in memory, streamed, and Dask with 1 and 2 workers."""
    name, size = NAME, f"epoch at {n:,} x {D}"
    try:
        import distributed  # noqa: F401
    except ImportError:
        distributed = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_parquet(folder, n, files=4, group=max(1, n // 8))
        X, y = read_all(folder)

        def fit(source, target):
            return lambda m, e: descend.fit(m, source, target, lr=0.1, epochs=e, tol=None,
                                            verbose=False)  # fmt: skip

        memory = epoch_seconds(fit(X, y), epochs)
        streamed = epoch_seconds(fit(str(folder), "y"), epochs)
        rows = [Row(name, f"{size}: streamed / in memory", duration(streamed),
                    duration(memory), streamed / memory,
                    note="reads and checks every block each epoch")]  # fmt: skip
        for workers in (1, 2):
            comparison = f"{size}: Dask, {workers} worker process(es) / in memory"
            limit = 3.0 if workers == 2 else None
            if distributed is None:
                rows.append(Row(name, comparison, target="<= 3" if limit else "",
                                note="dask.distributed is not installed"))  # fmt: skip
                continue
            seconds = dask_seconds(folder, workers, epochs)
            rows.append(Row(
                name, comparison, duration(seconds), duration(memory), seconds / memory, limit,
                "<= 3" if limit else "", "partitions persisted once; the gradient vector travels",
            ))  # fmt: skip
    return rows


def beyond_memory(quick: bool = False) -> list[Row]:
    if quick:
        return [*stream_memory(n=5_000, epochs=1), *epoch_times(n=20_000, epochs=3)]
    return [*stream_memory(), *epoch_times()]
