"""The op benchmark runs, covers every primitive, and leaves PyTorch's columns empty without it.

Nothing here is timed: the budget is tiny and no duration is asserted.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from descend import ops

spec = importlib.util.spec_from_file_location(
    "ops_bench", Path(__file__).parents[1] / "bench" / "ops_bench.py"
)
assert spec is not None and spec.loader is not None
ops_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ops_bench)


def test_bench_has_a_case_for_every_primitive() -> None:
    assert set(ops_bench.CASES) == set(ops.PRIMITIVES)


def test_measure_returns_a_row_per_primitive() -> None:
    rows = ops_bench.measure(size=3, repeat=1, budget=1e-5)
    assert [row["op"] for row in rows] == list(ops_bench.CASES)
    for row in rows:
        assert row["size"] == 3 and row["descend_us"] > 0
        if ops_bench.torch is None:
            assert row["torch_us"] is None and row["ratio"] is None
        else:
            assert row["ratio"] == row["descend_us"] / row["torch_us"]
