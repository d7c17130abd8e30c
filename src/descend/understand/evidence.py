"""The numbers a diagnosis rests on, read from a History: ``evidence(history)``.

"The last epochs" is a window of epochs // 5 epochs (at least 5, at most
50), counted after the last divergence recovery. Everything is measured on the
epochs after that recovery (``analysed_from_epoch`` on): the initial loss every
relative threshold compares with is the first of those, not a loss that blew up
before it (``first_loss`` is the run's very first). Update cosines and loss
ratios of epochs whose gradient has shrunk to float noise (1e-8 of its first
size) are left out, and so are rises of the loss smaller than 1e-10 of its
start. The thresholds the verdict rules compare these numbers with live here too.

>>> from descend.learn.history import History
>>> e = evidence(History(loss=[4.0, 2.0, 1.0, 0.5, 0.25, 0.125]))
>>> e["final_to_initial"], e["share_up"], e["loss_ratio"]
(0.03125, 0.0, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..learn.history import History

FLAT = 1e-3
"""Relative improvement of the lowest loss over the window below which the loss stopped falling."""
ZIGZAG = -0.5
"""Mean update cosine below which the weights zig-zag."""
BOUNCE = 0.2
"""Share of the window's epochs with a rising loss above which the loss bounces."""
AT_MINIMUM = 0.1
"""Gradient norm (relative to its first value) below which full-batch weights sit at a minimum."""
OVERFIT = 0.02
"""Rise of the validation loss over its lowest value that counts as overfitting."""
LEARNING = 1e-6
"""Relative improvement of the training loss below which its new lows are float noise, not learning."""
GAP = 0.01
"""Optimisation gap (relative to the optimum) above which a flat loss has not converged."""
PERFECT = 1e-12
"""Final / initial loss below which the fit is perfect (converged whatever else)."""
NOISE = 1e-8
"""Gradient norm (relative to its first value) below which updates are float noise."""
TOL = 1e-5
"""The tolerance of a run that names none (fit's default ``tol``): converged means the loss is
within it (relative) of its minimum, where the minimum is known."""
JUMP = 2.0
"""Factor by which a minibatch loss rose over the lowest before it in the last half of the run
(or between the loss of the weights returned and the lowest epoch loss of the last epochs) at
which a stochastic run is not settling."""
JUMP_SIZE = 0.01
"""Rise of a minibatch loss (relative to the first epoch's) below which a jump by a factor is
the noise of a loss near 0, not steps thrown about."""
ILL_CONDITIONED = 100.0
"""Condition number L / mu from which gradient descent crawls along a long, narrow valley."""
SEPARABLE = 1e-6
"""Optimum of a classification loss (relative to its start) below which it has no minimum."""
MOVED = 0.5
"""Final / initial loss above which the loss of separable classes has barely moved: the steps
are the first thing to fix, not the missing minimum."""
FITTED = 0.05
"""Final / initial classification loss below which weights that put every training row in its
class read as separable data (when the optimum is not known)."""
CLASSIFICATION_LOSSES = ("bce_with_logits", "binary_cross_entropy", "cross_entropy")


def finite(values: Sequence[float]) -> list[float]:
    """The finite values, in order."""
    return [v for v in values if math.isfinite(v)]


def window_size(epochs: int, window: int | None) -> int:
    """The epochs that count as "the last epochs": ``window``, or epochs // 5 in [5, 50]."""
    if window is not None:
        return window
    return min(max(epochs // 5, 5), 50)


def recovered_at(history: History) -> list[int]:
    """The epochs at which Divergence recovered (put back good weights, cut the rate)."""
    return [int(e["epoch"]) for e in history.events if e.get("event") == "recovered"]


def is_minibatch(history: History) -> bool:
    """True when the run took minibatch steps (a batch size smaller than the rows)."""
    size, rows = history.settings.get("batch_size"), history.settings.get("rows")
    return size is not None and (rows is None or size < rows)


def geometric_ratio(values: Sequence[float]) -> float:
    """The mean factor by which positive values shrink from one to the next (NaN if undefined)."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if len(positive) < 2:
        return math.nan
    return (positive[-1] / positive[0]) ** (1 / (len(positive) - 1))


def first_step_curvature(history: History) -> float:
    """The curvature c of the loss along the first gradient g, from the first step of
    full-batch SGD (NaN for other runs).

    That step, -lr g (with or without momentum), changes the loss by
    ``-lr |g|^2 + lr^2 c |g|^2 / 2`` to second order (exactly, on a quadratic),
    so ``c = 2 (lr |g|^2 - decrease) / (lr |g|)^2``.
    """
    loss, lr, grad = history.loss, history.lr, history.grad_norm
    plain = history.settings.get("optimizer") == "SGD" and not is_minibatch(history)
    if not plain or len(loss) < 2 or not lr or not grad or recovered_at(history)[:1] == [0]:
        return math.nan
    if not all(math.isfinite(v) for v in (loss[0], loss[1], lr[0], grad[0])):
        return math.nan
    try:
        decrease, step = loss[0] - loss[1], lr[0] * grad[0] ** 2
        if step - decrease <= 32 * 2.2e-16 * abs(loss[0]):  # the second order lost in rounding
            return math.nan
        c = 2 * (step - decrease) / (lr[0] * grad[0]) ** 2 if step > 0 else math.nan
    except (OverflowError, ZeroDivisionError):  # lr |g|^2 beyond float range: no estimate
        return math.nan
    return c if 0 < c < math.inf else math.nan


def _movement(history: History, start: int, w: int) -> dict[str, Any]:
    """Update cosines and gradient norms of the analysed epochs: the epochs whose gradient is
    more than float noise (the updates and loss ratios of the others say nothing of the rate)."""
    n = len(history.loss)
    segment = history.loss[start:]
    grads = history.grad_norm[start:] if len(history.grad_norm) == n else []
    first_grad = next((g for g in grads if math.isfinite(g) and g > 0), math.nan)
    moving = [
        i
        for i in range(1, len(segment))
        if not math.isfinite(first_grad) or grads[i] > NOISE * first_grad
    ]
    recent = moving[-w:]
    cosine_of = history.update_cosine if len(history.update_cosine) == n else [math.nan] * n
    active = finite([cosine_of[start + i] for i in recent])
    tail = segment[-w - 1 :]
    moving_tail = segment[recent[0] - 1 : recent[-1] + 1] if recent else tail
    last_grad = next((g for g in reversed(grads) if math.isfinite(g)), math.nan)
    return {
        "update_cosine": sum(active) / len(active) if active else math.nan,
        "grad_norm_ratio": last_grad / first_grad,
        "last_grad_norm": last_grad,
        "loss_ratio": geometric_ratio(moving_tail),
        "zigzag_epochs": sum(1 for i in moving if cosine_of[start + i] < ZIGZAG),
    }


def _validation(history: History, w: int) -> dict[str, Any]:
    """The validation loss's lowest epoch, its rise since, and what training gained since."""
    val, loss = history.val_loss, history.loss
    if len(val) < 3 or not finite(val):
        return {}
    best_val = min(range(len(val)), key=lambda i: val[i] if math.isfinite(val[i]) else math.inf)
    recent_val = min(finite(val[-w:]), default=math.nan)
    earlier_val = min(finite(val[:-w]), default=math.nan)
    train_then = min(finite(loss[: best_val + 1]), default=math.nan)
    train_since = min(finite(loss[best_val + 1 :]), default=train_then)
    return {
        "best_val_epoch": best_val,
        "best_val_loss": val[best_val],
        "val_rise": (recent_val - val[best_val]) / max(abs(val[best_val]), 1e-300),
        "val_improvement": (earlier_val - recent_val) / max(abs(earlier_val), 1e-300),
        "train_improvement_since_best_val": (train_then - train_since)
        / max(abs(train_then), 1e-300),
    }


def evidence(history: History, window: int | None = None) -> dict[str, Any]:
    """The numbers the verdict rests on (see the module docstring)."""
    loss = history.loss
    n = len(loss)
    recovered = recovered_at(history)
    start = recovered[-1] + 1 if recovered and recovered[-1] + 1 < n else 0
    segment = loss[start:]
    w = min(window_size(n, window), max(len(segment) - 1, 1))
    initial = next((v for v in segment if math.isfinite(v)), math.nan)  # after the recovery
    final = loss[-1] if history.final_loss is None else history.final_loss  # of the weights

    before, inside = finite(segment[: len(segment) - w]), finite(segment[-w:])
    best_before = min(before) if before else (inside[0] if inside else math.nan)
    best_inside = min(inside) if inside else math.nan
    scale = abs(initial) if math.isfinite(initial) and initial != 0 else 1.0
    tail = segment[-w - 1 :]
    steps = list(zip(tail[:-1], tail[1:]))
    rises = sum(1 for a, b in steps if not b <= a + 1e-10 * scale)
    moves = _movement(history, start, w)
    return {
        "epochs": n,
        "initial_loss": initial,
        "first_loss": next((v for v in loss if math.isfinite(v)), math.nan),
        "final_loss": final,
        "best_loss": min(finite(loss)) if finite(loss) else math.nan,
        "final_to_initial": final / initial if initial else math.nan,
        "window": w,
        "recent_improvement": (best_before - best_inside) / max(abs(best_before), 1e-300),
        "share_up": rises / len(steps) if steps else 0.0,
        "update_cosine": moves["update_cosine"],
        "grad_norm_ratio": moves["grad_norm_ratio"],
        "last_grad_norm": moves["last_grad_norm"],
        "loss_ratio": moves["loss_ratio"],
        "lr": history.lr[-1] if history.lr else history.settings.get("lr", math.nan),
        "minibatch": is_minibatch(history),
        "zigzag_epochs": moves["zigzag_epochs"],
        "first_step_curvature": first_step_curvature(history),
        "recoveries": len(recovered),
        "analysed_from_epoch": start,
        **_validation(history, w),
        **_settings(history),
        **_noise(history, start, w, final),
    }


def _settings(history: History) -> dict[str, Any]:
    """What the run asked for: its tolerance, its L2 penalty, whether its loss is a classifier's."""
    tol = history.settings.get("tol")
    return {
        "tol": TOL if tol is None else float(tol),
        "alpha": float(history.settings.get("alpha") or 0.0),
        "momentum": float(history.settings.get("momentum") or 0.0)
        or history.settings.get("optimizer", "SGD") != "SGD",
        "classification": history.settings.get("loss") in CLASSIFICATION_LOSSES,
    }


def _jumps(values: list[float], first: int, size: float) -> tuple[float, int]:
    """The largest factor by which a loss from position ``first`` on rose over the lowest before
    it (by ``size`` or more; 1 without one), and its position (-1)."""
    jump, at = 1.0, -1
    low = min(values[:first], default=math.inf)
    for i in range(first, len(values)):
        v = values[i]
        if 0 < low < v < math.inf and v - low >= size and v / low > jump:
            jump, at = v / low, i
        low = min(low, v)
    return jump, at


def _noise(history: History, start: int, w: int, final: float) -> dict[str, Any]:
    """Minibatch runs: the largest jump of an epoch's loss over the lowest before it in the last
    half of the analysed epochs (at least the window; a falling loss has none: 1), where it
    rose by JUMP_SIZE of the first loss or more, and the epoch it ended at; the same over all
    the analysed epochs (``jump_any``); and the full-data loss of the weights returned against
    the lowest epoch loss of the last epochs."""
    values = [v if math.isfinite(v) else math.inf for v in history.loss[start:]]
    recent = [v for v in finite(history.loss[start:][-w - 1 :]) if v > 0]
    if not is_minibatch(history) or len(recent) < 2:
        return {}
    size = JUMP_SIZE * abs(next(iter(finite(values)), 0.0))
    jump, at = _jumps(values, max(len(values) - max(len(values) // 2, w), 1), size)
    return {
        "jump": jump,
        "jump_epoch": start + at if at >= 0 else -1,
        "jump_any": _jumps(values, 1, size)[0],
        "final_to_recent": final / min(recent[1:]),
    }
