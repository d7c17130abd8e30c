"""Pictures of learning: loss curves as PNG (matplotlib, imported lazily) and as text.

>>> print(text_chart([5.0, 4.0, 3.0, 2.0, 1.5, 1.2, 1.1, 1.05], height=4, width=8))
Loss
   5 │×
     │ ×
     │  ××
1.05 │    ××××
     └────────→ Epoch
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from .errors import InputError
from .files import atomic_write


def pyplot() -> Any:
    """matplotlib.pyplot with a file-only backend, or a clear error when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(
            "Pictures need matplotlib: pip install 'descend[plot]' (or 'descend[cli]')."
        ) from None
    return plt


def save_figure(figure: Any, path: str | os.PathLike[str]) -> str:
    """Write ``figure`` as a PNG through a temporary file; close it; return the path."""
    plt = pyplot()
    try:
        with atomic_write(path, "wb") as f:
            figure.savefig(f, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(figure)
    return os.fspath(path)


def spans_decades(values: Sequence[float]) -> bool:
    """True when the positive finite values span more than two orders of magnitude."""
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return len(finite) > 1 and max(finite) / min(finite) > 100


def loss_curve(history: Any, path: str | os.PathLike[str], title: str | None = None) -> str:
    """Draw training (and validation) loss per epoch into a PNG; log scale when it spans decades."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    epochs = range(len(history.loss))
    axes.plot(epochs, history.loss, label="training loss", color="tab:blue")
    if history.val_loss:
        axes.plot(epochs, history.val_loss, label="validation loss", color="tab:orange")
    if spans_decades(list(history.loss) + list(history.val_loss)):
        axes.set_yscale("log")
    axes.set_xlabel("Epoch")
    axes.set_ylabel("Loss")
    axes.set_title(title or f"Loss per epoch (stopped: {history.stop_reason})")
    axes.grid(alpha=0.3)
    axes.legend()
    return save_figure(figure, path)


def text_chart(values: Sequence[float], width: int = 60, height: int = 10) -> str:
    """The loss as a small text chart, like the lesson's: one column per group of epochs."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return "Loss\n(no finite values to draw)"
    columns = min(width, len(values))
    groups = [values[i * len(values) // columns] for i in range(columns)]
    top, bottom = max(finite), min(finite)
    log = spans_decades(finite)

    def scale(v: float) -> float:
        return math.log10(v) if log else v

    high, low = scale(top), scale(bottom)
    rows = [[" "] * columns for _ in range(height)]
    for x, v in enumerate(groups):
        if not math.isfinite(v):
            continue
        level = 0 if high == low else (scale(v) - low) / (high - low)
        rows[height - 1 - round(level * (height - 1))][x] = "×"
    label_top, label_bottom = f"{top:.4g}", f"{bottom:.4g}"
    pad = max(len(label_top), len(label_bottom))
    lines = ["Loss" + (" (log scale)" if log else "")]
    for i, row in enumerate(rows):
        label = label_top if i == 0 else label_bottom if i == height - 1 else ""
        lines.append(f"{label:>{pad}} │{''.join(row)}".rstrip())
    lines.append(" " * pad + " └" + "─" * columns + "→ Epoch")
    return "\n".join(lines)
