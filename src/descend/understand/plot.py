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

from .._validation import at_least, validate_params
from ..errors import InputError
from ..files import atomic_write


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


@validate_params({"width": [at_least(1)], "height": [at_least(1)]})
def text_chart(values: Sequence[float], width: int = 60, height: int = 10) -> str:
    """The loss as a small text chart, like the lesson's: one column per group of epochs.

    A log scale when the positive values span more than two decades; on it, a value of 0
    or below is drawn as ``_`` on the bottom row. A value that is not a finite number
    (a diverged epoch) is drawn as ``!`` on the top row. A note under the chart says so.

    >>> print(text_chart([1000.0, 1.0, 0.0], height=3))
    Loss (log scale)
    1000 │×
         │
       1 │ ×_
         └───→ Epoch
         _: 0 or below, off the log scale
    """
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return "Loss\n(no finite values to draw)"
    log = spans_decades(finite)
    shown = [v for v in finite if v > 0] if log else finite
    top, bottom = max(shown), min(shown)
    high, low = _scaled(top, log), _scaled(bottom, log)
    columns = min(width, len(values))
    rows = [[" "] * columns for _ in range(height)]
    marks = set()
    for x in range(columns):
        level, mark = _place(float(values[x * len(values) // columns]), log, low, high, height)
        rows[level][x] = mark
        marks.add(mark)
    label_top, label_bottom = f"{top:.4g}", f"{bottom:.4g}"
    pad = max(len(label_top), len(label_bottom))
    lines = ["Loss" + (" (log scale)" if log else "")]
    for i, cells in enumerate(rows):
        label = label_top if i == 0 else label_bottom if i == height - 1 else ""
        lines.append(f"{label:>{pad}} │{''.join(cells)}".rstrip())
    lines.append(" " * pad + " └" + "─" * columns + "→ Epoch")
    notes = {"_": "_: 0 or below, off the log scale", "!": "!: not a finite number"}
    lines += [" " * (pad + 1) + notes[m] for m in ("_", "!") if m in marks]
    return "\n".join(lines)


def _scaled(v: float, log: bool) -> float:
    return math.log10(v) if log else v


def _place(v: float, log: bool, low: float, high: float, height: int) -> tuple[int, str]:
    """(row, mark) of one value on the chart: rows count from the top."""
    if not math.isfinite(v):
        return 0, "!"
    if log and v <= 0:
        return height - 1, "_"
    level = 0 if high == low else (_scaled(v, log) - low) / (high - low)
    level = min(max(level, 0.0), 1.0)
    return height - 1 - round(level * (height - 1)), "×"


# ----- pictures of learning rates: the descent path and the sweep ------------------------
def descent_path(
    path: str | os.PathLike[str],
    x: Any = None,
    y: Any = None,
    lrs: Sequence[float] | None = None,
    epochs: int = 50,
) -> str:
    """Compute the descent paths (``descend.sweep.descent_paths(x, y, lrs, epochs)``) and draw
    them with ``draw_descent_paths``: ``descent_path('path.png')``.

    Defaults: the patients' creatinine (centred) against INR, with a learning rate too
    small, one just right and one too large (the zig-zag). The one function of this module
    that computes what it draws, for convenience; the training happens in ``sweep``.
    """
    from .sweep import descent_paths

    return draw_descent_paths(descent_paths(x, y, lrs, epochs), path)


def _surface_grid(paths: Any) -> tuple[Any, Any]:
    """A 200 x 200 grid of (weight, bias) around the paths' start and the optimum; a
    diverging path leaves the view."""
    import numpy as np

    start, best = paths.paths[0][0], paths.optimum
    reach = max(float(np.abs(start - best).max()), 1e-12)
    points = np.vstack([p for p in paths.paths] + [best[None, :]])
    near = points[np.all(np.isfinite(points), axis=1)]
    near = near[np.abs(near - best).max(axis=1) <= 3 * reach]
    low, high = near.min(axis=0), near.max(axis=0)
    pad = 0.15 * (high - low) + 1e-9
    return np.meshgrid(
        np.linspace(low[0] - pad[0], high[0] + pad[0], 200),
        np.linspace(low[1] - pad[1], high[1] + pad[1], 200),
    )


def draw_descent_paths(paths: Any, path: str | os.PathLike[str]) -> str:
    """Draw the (weight, bias) paths of gradient descent (a ``sweep.DescentPaths``) on the
    contours of the MSE surface of a one-feature model, one path per learning rate."""
    plt = pyplot()
    import numpy as np

    start, best = paths.paths[0][0], paths.optimum
    W, B = _surface_grid(paths)
    surface = paths.loss(W, B)
    floor = float(paths.loss(best[0], best[1]))
    levels = floor + np.geomspace(1e-4, 1, 16) * (surface.max() - floor)
    figure, axes = plt.subplots(figsize=(7.0, 5.2))
    axes.contour(W, B, surface, levels=levels, cmap="Greys", linewidths=0.8)
    L = paths.curvature
    for (lr, trail, history), color in zip(
        zip(paths.lrs, paths.paths, paths.histories), ("tab:blue", "tab:green", "tab:red")
    ):
        verdict = (history.diagnosis or {}).get("verdict", "")
        label = f"lr = {lr:g} ({lr * L:.2g}/L): {verdict}"
        axes.plot(trail[:, 0], trail[:, 1], "o-", ms=3, lw=1.2, color=color, label=label)
    axes.plot(best[0], best[1], "k*", ms=12, label="minimum (least squares)")
    axes.plot(start[0], start[1], "ks", ms=6, label="start")
    axes.set_xlim(W.min(), W.max())
    axes.set_ylim(B.min(), B.max())
    axes.set_xlabel("weight")
    axes.set_ylabel("bias")
    epochs = max(len(trail) for trail in paths.paths) - 1
    axes.set_title(
        f"Gradient descent on the MSE surface, {epochs} epochs\n"
        f"curvature L = {L:.3g}: smooth below 1/L = {1 / L:.2g}, zig-zag up to 2/L = {2 / L:.2g}"
    )
    axes.legend(loc="best", fontsize=8)
    return save_figure(figure, path)


def _over_l(lr: float, L: float | None) -> str:
    """' (0.72/L)' when the curvature is known, else ''."""
    return f" ({lr * L:.2g}/L)" if L else ""


def sweep_curves(result: Any, path: str | os.PathLike[str], title: str | None = None) -> str:
    """Overlay the loss curves of a learning-rate sweep (``descend.sweep``) in one PNG.

    Solid lines descended smoothly, dashed ones zig-zagged, dotted ones diverged; the
    recommended rate is drawn thick. The loss axis ends at the highest loss of the runs
    that did not diverge: a diverged run is cut where it leaves the axes, marked with an
    x at the top. The legend sits below the axes, clear of the curves.
    """
    plt = pyplot()
    import numpy as np

    figure, axes = plt.subplots(figsize=(7.0, 4.4))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(result.lrs)))
    styles = {"oscillating": "--", "diverged": ":"}
    kept = [
        v
        for h, d in zip(result.histories, result.diagnoses)
        if d.verdict != "diverged"
        for v in h.loss
        if math.isfinite(v)
    ]
    starts = [h.loss[0] for h in result.histories if math.isfinite(h.loss[0])]
    top = max(kept) if kept else 10 * max(starts, default=1.0)
    shown: list[float] = []
    exits: list[tuple[int, Any]] = []
    for lr, history, diagnosis, color in zip(
        result.lrs, result.histories, result.diagnoses, colors
    ):
        raw = np.asarray(history.loss, dtype=float)
        inside = np.isfinite(raw) & (raw <= top)
        losses = np.where(inside, raw, np.nan)
        chosen = lr == result.recommended_lr
        axes.plot(
            np.arange(len(losses)),
            losses,
            styles.get(diagnosis.verdict, "-"),
            color=color,
            lw=2.8 if chosen else 1.3,
            label=f"lr = {lr:g}{_over_l(lr, getattr(result, 'L', None))}: {diagnosis.verdict}"
            + (" (recommended)" if chosen else ""),
        )
        if diagnosis.verdict == "diverged" and not inside.all():
            exits.append((int(np.argmin(inside)), color))  # the first epoch off the axes
        shown.extend(v for v in losses if np.isfinite(v))
    for epoch, color in exits:  # drawn after the curves: one x per diverged run, at the top
        axes.plot([epoch], [top], "x", color=color, ms=9, mew=2, clip_on=False)
    log = spans_decades(shown)
    if log:
        axes.set_yscale("log")
    if shown:
        axes.set_ylim(top=top)
    axes.set_xlabel("Epoch")
    axes.set_ylabel("Loss")
    L = getattr(result, "L", None)
    limits = (
        f"\n1/L = {1 / L:.3g} (no zig-zag below), 2/L = {2 / L:.3g} (diverges above)" if L else ""
    )
    axes.set_title(
        title or f"Learning-rate sweep: recommended lr = {result.recommended_lr:g}{limits}"
    )
    axes.grid(alpha=0.3)
    note = " (x: diverged, off the top)" if exits else ""
    axes.legend(
        fontsize=7,
        ncol=3,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        frameon=False,
        title=f"learning rates{note}",
        title_fontsize=7,
    )
    return save_figure(figure, path)
