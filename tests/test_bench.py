"""The benchmarks run: the op benchmark covers every primitive, and bench/run.py runs every
workload of the benchmark issue at tiny sizes, with or without PyTorch and scikit-learn.

Nothing here is timed: the budgets are tiny and no duration is asserted.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from descend import ops

BENCH = Path(__file__).parents[1] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ops_bench = load("ops_bench")


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


# ----- bench/run.py: every workload at tiny sizes ----------------------------------------
sys.path.insert(0, str(BENCH))  # the bench's modules import each other by name
run = load("run")


@pytest.fixture(scope="module")
def quick_rows() -> dict[str, list]:
    return {key: workload() for key, workload in run.workloads(quick=True).items()}


def test_every_workload_of_the_issue_runs_at_tiny_sizes(quick_rows) -> None:
    assert list(quick_rows) == ["1", "2", "3", "4", "5", "6", "7"]
    for key, rows in quick_rows.items():
        assert rows, f"workload {key} gave no rows"
        assert all(row.workload.startswith(f"{key}.") for row in rows)


def test_rows_are_measured_or_skipped_with_a_note(quick_rows) -> None:
    rows = [row for rows in quick_rows.values() for row in rows]
    for row in rows:
        if row.ratio is None and (row.target or row.workload.startswith("7.")):
            assert "not installed" in row.note
        if row.limit is not None and row.ratio is not None:
            assert row.holds == (row.ratio <= row.limit)
    rivals = " ".join(row.comparison for row in rows)
    assert "NumPy train()" in rivals and "PyTorch" in rivals and "sklearn" in rivals


def test_the_lesson_and_mlp_rivals_compute_what_descend_computes(quick_rows) -> None:
    # same weights as the lesson's loop, and the MLP's rivals start from descend's weights
    assert "differ" not in quick_rows["1"][0].note
    gap = float(quick_rows["2"][0].note.rsplit(" ", 1)[1])
    assert gap < 1e-4


def test_memory_is_measured_in_a_child_process(quick_rows) -> None:
    (row,) = quick_rows["5"]
    assert row.ratio is not None and row.ratio > 0
    assert "before X" in row.note


def test_the_report_keeps_what_people_wrote_around_the_table(tmp_path: Path, quick_rows) -> None:
    rows = [row for rows in quick_rows.values() for row in rows]
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(
        f"# Benchmarks\n\nintro\n\n{run.BEGIN}\nold table\n{run.END}\n\n## Why\nnotes\n"
    )
    run.write(path, run.report(rows, [("CPU", "test")], 1.0, "python bench/run.py"))
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n") and text.endswith("## Why\nnotes\n")
    assert "old table" not in text and "| CPU | test |" in text
    assert all(text.count(f"| **{key}. ") == 1 for key in "1234567")  # each workload named once


def test_streaming_memory_and_epoch_times_are_measured(quick_rows) -> None:
    memory, model, streamed, *dask_rows = quick_rows["7"]
    assert memory.ratio is not None and memory.ratio > 0 and "MiB" in memory.note
    assert model.ratio is not None and model.ratio < 1e-10  # the streamed model is the same
    assert streamed.ratio is not None and len(dask_rows) == 2
