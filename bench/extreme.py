"""Extreme inputs: many classes, many columns. Peak memory and time, each in a fresh process.

    python bench/extreme.py            # every case; one line each, then a JSON summary
    python bench/extreme.py classes    # 10,000 classes x 2 rows: library fit and `descend train`
    python bench/extreme.py wide       # 200,000 columns x 5 rows: library fit and `descend train`

Targets (issue 15): 10,000 classes x 2 rows train within 1 GB of peak resident memory or
are refused in one line naming the classes and the memory; 200,000 columns x 5 rows
finish or are refused within 60 s. Every run is a child process (``child``), so its peak
memory (VmHWM) is its own; a child over 10 minutes is stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

GIB = 1 << 30
LIMITS = {"classes": ("peak", 1 * GIB), "wide": ("seconds", 60.0)}
EPOCHS = {"classes": 20, "wide": None}
"""20 epochs of 10,000 classes take minutes (2 x 10^8 logits an epoch) and the peak memory
does not grow with epochs; the wide table trains with the defaults."""


def peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def many_classes(folder: str, classes: int = 10_000, per_class: int = 2) -> str:
    rng = np.random.default_rng(0)
    n = classes * per_class
    lines = ["a,b,c,d,e,y"]
    labels = np.repeat(np.arange(classes), per_class)
    X = rng.normal(size=(n, 5)) + labels[:, None] % 7
    lines += [",".join(f"{v:.4f}" for v in row) + f",c{label}" for row, label in zip(X, labels)]
    path = os.path.join(folder, "classes.csv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wide_table(folder: str, columns: int = 200_000, rows: int = 5) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, columns))
    y = X[:, :10].sum(axis=1)
    path = os.path.join(folder, "wide.csv")
    with open(path, "w") as f:
        f.write(",".join(f"x{j}" for j in range(columns)) + ",y\n")
        for row, target in zip(X, y):
            f.write(",".join(f"{v:.3f}" for v in row) + f",{target:.3f}\n")
    return path


def child(kind: str, how: str, data: str, out: str) -> None:
    """Run one case in this (fresh) process and write its numbers to ``out``."""
    import descend
    from descend.cli.main import main
    from descend.errors import InputError

    started = time.perf_counter()
    result: dict[str, Any] = {}
    epochs = EPOCHS[kind]
    if how == "cli":
        flags = ["--epochs", str(epochs)] if epochs else []
        result["status"] = main(["train", data, "--target", "y", "--quiet", *flags])
    else:
        import pandas as pd

        df = pd.read_csv(data)
        X, y = df.drop(columns="y"), df["y"]
        estimator = descend.Classifier if kind == "classes" else descend.Regressor
        try:
            model = estimator(epochs=epochs).fit(X, y)
            result.update(status=0, epochs=model.history_.epochs, loss=model.history_.loss[-1])
        except InputError as error:
            result.update(status=2, message=str(error))
    result.update(seconds=time.perf_counter() - started, peak=peak_rss_bytes())
    with open(out, "w") as f:
        json.dump(result, f)


def run(kind: str, how: str, data: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "child", kind, how, data, out.name],
            capture_output=True,
            text=True,
            timeout=600,
        )
        with open(out.name) as f:
            result = json.load(f) if os.path.getsize(out.name) else {}
    result.setdefault("status", done.returncode)
    result["wall"] = time.perf_counter() - started
    errors = [line for line in done.stderr.splitlines() if line.startswith("descend: error")]
    result["error"] = errors[0] if errors else ""
    result["traceback"] = "Traceback" in done.stderr
    measure, limit = LIMITS[kind]
    value = result.get(measure, result["wall"])
    refused_cleanly = result["status"] == 2 and not result["traceback"]
    result["holds"] = bool(value <= limit and (result["status"] == 0 or refused_cleanly))
    return result


def main(kinds: list[str]) -> None:
    folder = tempfile.mkdtemp(prefix="descend-extreme-")
    summary = {}
    for kind in kinds:
        data = many_classes(folder) if kind == "classes" else wide_table(folder)
        for how in ("library", "cli"):
            result = run(kind, how, data)
            summary[f"{kind} {how}"] = result
            print(
                f"{kind:8s} {how:8s} status {result['status']}  peak "
                f"{result.get('peak', 0) / GIB:.2f} GiB  {result['wall']:.1f} s  "
                f"{'holds' if result['holds'] else 'MISSES'}  {result['error'][:150]}",
                flush=True,
            )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:6])
    else:
        main(sys.argv[1:] or ["classes", "wide"])
