"""What every workload shares: optional rivals, thread limits, timing side by side, rows.

A ratio is descend's time (or memory, or growth) over the rival's, measured in
the same run; lower is better, and each row says the limit it must stay under.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import descend

try:
    import torch
except ImportError:  # PyTorch rows are skipped with a note
    torch = None

try:
    import sklearn
except ImportError:  # scikit-learn rows are skipped with a note
    sklearn = None

try:
    import threadpoolctl
except ImportError:  # the BLAS threads are then set by environment variables only
    threadpoolctl = None

NO_TORCH = "PyTorch is not installed: `make bench-torch` runs the bench with it."
NO_SKLEARN = "scikit-learn is not installed: pip install scikit-learn (or `make bench-torch`)."


@dataclass
class Row:
    """One line of the table: descend against one rival on one workload."""

    workload: str
    comparison: str
    ours: str = "-"
    theirs: str = "-"
    ratio: float | None = None
    limit: float | None = None
    target: str = ""
    note: str = ""

    @property
    def holds(self) -> bool | None:
        """Whether the ratio is within its limit; None when it was not measured."""
        if self.ratio is None or self.limit is None:
            return None
        return self.ratio <= self.limit


def skipped(workload: str, comparison: str, target: str, note: str) -> Row:
    """A row whose rival is not installed."""
    return Row(workload, comparison, target=target, note=note)


def limit_threads(n: int) -> None:
    """Give NumPy's BLAS and PyTorch the same number of threads."""
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(limits=n)
    if torch is not None:
        torch.set_num_threads(n)


def interleaved(contenders: dict[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """Median of ``repeat`` runs of each contender, run in turn (A B C A B C ...).

    Each contender returns the seconds it measured itself (so set-up that is not
    part of the workload, like building the data, stays out). Taking turns spreads
    a noisy neighbour over every contender instead of one.
    """
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():
            runs[name].append(run())
    return {name: statistics.median(values) for name, values in runs.items()}


def seconds(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def duration(s: float) -> str:
    """A duration with a unit a reader takes in at a glance."""
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


# ----- the machine -------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def blas() -> str:
    """The BLAS NumPy calls, its kernel and threads (threadpoolctl's view)."""
    if threadpoolctl is None:
        return "unknown (threadpoolctl not installed)"
    pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
    numpy_pools = [p for p in pools if "numpy" in p.get("filepath", "")] or pools
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')} kernel, "
        f"threads: {p.get('num_threads')})"
        for p in numpy_pools
    )


def machine(threads: int) -> list[tuple[str, str]]:
    """What a reader needs to compare these numbers with their own."""
    memory = memory_gib()
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    unset = [k for k, v in env.items() if v is None]
    env_note = (
        f"{', '.join(unset)} unset for this run"
        if len(unset) == 2
        else ", ".join(f"{k}={v}" for k, v in env.items() if v is not None) + " (set)"
    )
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("Memory", "unknown" if memory is None else f"{memory:.0f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", sys.version.split()[0]),
        ("descend", descend.__version__),
        ("NumPy", np.__version__),
        ("BLAS", blas()),
        ("OpenBLAS environment", env_note),
        ("PyTorch", "not installed" if torch is None else torch.__version__),
        ("scikit-learn", "not installed" if sklearn is None else sklearn.__version__),
        (
            "Threads",
            f"{threads} for NumPy's BLAS and {threads} for PyTorch"
            + ("" if torch is None else f" (torch.get_num_threads() = {torch.get_num_threads()})"),
        ),
    ]
