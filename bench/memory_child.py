"""Workload 5's child process: make X, fit on it full batch, print the peak memory.

Run by ``linear.memory`` in a fresh interpreter that imports only NumPy and
descend, so the peak resident memory is descend's and X's, not the bench's:

    python bench/memory_child.py 2000000 100 3
"""

from __future__ import annotations

import json
import sys

import numpy as np

import descend
from descend import nn


def peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM, or ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main(n: int, d: int, epochs: int) -> None:
    before = peak_rss_bytes()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))  # written in place: X is the only n x d array
    y = X @ rng.standard_normal(d) + 0.5 + rng.standard_normal(n)
    model = nn.Linear(d, 1, init="zeros")
    descend.fit(model, X, y, lr=0.01, epochs=epochs, tol=None, verbose=False)
    print(json.dumps({"x_bytes": X.nbytes, "peak": peak_rss_bytes(), "before": before}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
