"""Workload 7's child process: stream a Parquet data set full batch, print the peak memory.

Run by ``scale.stream_memory`` in a fresh interpreter, so the peak resident memory
is what streaming costs, whatever the parent holds:

    python bench/stream_child.py big/ 3
"""

from __future__ import annotations

import json
import sys

from memory_child import peak_rss_bytes

import descend
from descend import nn


def main(path: str, epochs: int) -> None:
    before = peak_rss_bytes()
    model = nn.Linear(10, 1, init="zeros")
    history = descend.fit(model, path, "y", lr=0.1, epochs=epochs, tol=None, verbose=False)
    weights = [float(v) for v in (*model.weight.data.ravel(), *model.bias.data.ravel())]
    print(json.dumps({"peak": peak_rss_bytes(), "before": before, "weights": weights,
                      "rows": history.settings["rows"]}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
