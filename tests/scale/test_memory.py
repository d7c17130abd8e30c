"""Streaming memory is bounded by the block, not by the data: training on table files 10 times
larger raises the peak memory of the process (VmHWM) by at most a fifth.

Each run is a fresh process that first trains once on a tiny file of the same kind (every
module imported, pyarrow's pools started: the baseline every run shares), then on the data.
The allocators move a peak by up to a tenth from run to run: over the bound, both are
measured again and the lower peak of each counts.
200,000 rows against 2,000,000 (x 5 columns), laid out as pyarrow writes them by default: a
Parquet file of up to 1,048,576 rows in one row group, which streaming must not hold whole; a
folder of files of 100,000 rows, 10 times as many; a CSV file, which pyarrow's reader reads
ahead of the block in use. (With fewer rows, pyarrow's own buffers for a column, a page and
a dictionary of up to 1 MiB each, are not yet full in the smaller data.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import descend

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")

if not sys.platform.startswith("linux"):
    pytest.skip("peak memory is read from /proc/self/status", allow_module_level=True)

RATIO = 1.2
"""The largest peak memory of training on 10 times the rows, over that of the 1x data."""

CHILD = r"""
import json, sys
import descend
from descend import nn

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

tiny, path, batch_size = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
run = dict(lr=0.05, epochs=1, tol=None, verbose=False, batch_size=batch_size)
descend.fit(nn.Linear(5, 1, init="zeros"), tiny, "y", **run)
before = peak()
history = descend.fit(nn.Linear(5, 1, init="zeros"), path, "y", **run)
print(json.dumps({"before": before, "peak": peak(), "rows": history.settings["rows"]}))
"""


def table(rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 5))
    columns = {f"x{j}": X[:, j] for j in range(5)}
    return pa.table({**columns, "y": X @ np.arange(1.0, 6.0) + rng.standard_normal(rows)})


def write(kind, rows, where):
    """``rows`` rows as one Parquet file, a folder of Parquet files of 100,000 rows each, or
    one CSV file; the path to give ``fit``."""
    where.mkdir()
    data = table(rows)
    if kind == "csv":
        pcsv.write_csv(data, where / "t.csv")
        return where / "t.csv"
    if kind == "parquet":
        pq.write_table(data, where / "t.parquet")  # pyarrow's row groups: all rows in one
        return where / "t.parquet"
    for i, start in enumerate(range(0, rows, 100_000)):
        pq.write_table(data.slice(start, 100_000), where / f"part-{i:02d}.parquet")
    return where


def measure(tiny, path, batch_size):
    """The child's peak memory before and after training on ``path`` (bytes), and its rows."""
    words = [sys.executable, "-c", CHILD, str(tiny), str(path), json.dumps(batch_size)]
    here = os.path.dirname(os.path.dirname(descend.__file__))  # the descend under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(words, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory")
    return {
        kind: [write(kind, rows, root / f"{kind}-{rows}") for rows in (1_000, 200_000, 2_000_000)]
        for kind in ("parquet", "folder", "csv")
    }


@pytest.mark.parametrize("batch_size", [None, 1024])
@pytest.mark.parametrize("kind", ["parquet", "folder", "csv"])
def test_ten_times_the_rows_stream_in_at_most_a_fifth_more_peak_memory(files, kind, batch_size):
    tiny, one, ten = files[kind]
    small, large = measure(tiny, one, batch_size), measure(tiny, ten, batch_size)
    assert (small["rows"], large["rows"]) == (200_000, 2_000_000)
    if large["peak"] / small["peak"] > RATIO:  # allocators move a peak by ~10% run to run
        small["peak"] = min(small["peak"], measure(tiny, one, batch_size)["peak"])
        large["peak"] = min(large["peak"], measure(tiny, ten, batch_size)["peak"])
    ratio = large["peak"] / small["peak"]
    grown = [(run["peak"] - run["before"]) / 2**20 for run in (small, large)]
    assert ratio <= RATIO, (
        f"{kind}, batch_size={batch_size}: peak memory {small['peak'] / 2**20:.0f} MiB for "
        f"200,000 rows, {large['peak'] / 2**20:.0f} MiB for 2,000,000 (x{ratio:.2f}); grown "
        f"by {grown[0]:.0f} and {grown[1]:.0f} MiB over the baseline"
    )
