"""Reading a History: how the run learned, in numbers and in plain words.

``diagnose(history)`` gives one verdict, the evidence behind it and one
concrete suggestion. The verdicts follow the theory of gradient descent on a
quadratic with curvature L: a learning rate below 1/L descends smoothly (each
update points the same way as the one before, update cosine +1); between
1/L and 2/L the loss still falls but the weights zig-zag across the minimum
(cosine -1: ``oscillating``); above 2/L the loss grows (``diverged``).

============== ==========================================================
verdict        rule (checked in this order)
============== ==========================================================
diverged       the run stopped as diverged, the last loss is not finite, or
               the loss ended above its start and rose in over half of the
               last epochs
oscillating    the mean update cosine over the last epochs is below -0.5, or
               (full batch) the loss went up in more than 20% of them
overfitting    the validation loss ended over 2% above its lowest while the
               training loss kept falling (by over 1e-6 of itself: a model
               at its optimum only sees new lows of float noise)
converged      the loss fell to 1e-12 of its start, or stopped falling (its
               lowest value improved by under 0.1% over the last epochs) with
               the gradient shrunk below 10% of its first size (full batch)
               or a steady loss (minibatches)
plateaued      the loss stopped falling but bounces (minibatches: the noise
               of the steps) or the gradient did not shrink (full batch)
still_improving  anything else: the loss was still falling when the run ended
============== ==========================================================

"The last epochs" is a window of epochs // 5 epochs (at least 5, at most
50), counted after the last divergence recovery. Update cosines and loss
ratios of epochs whose gradient has shrunk to float noise (1e-8 of its first
size) are left out, and so are rises of the loss smaller than 1e-10 of its
start.

For a single ``nn.Linear`` trained with ``mse`` or ``bce_with_logits``,
``optimisation_gap`` measures the loss reached against the exact optimum
(least squares; Newton's method); ``fit`` adds it to the diagnosis.

>>> from descend.learn.history import History
>>> h = History(loss=[0.36**k for k in range(30)], update_cosine=[float("nan")] + [-1.0] * 29)
>>> d = diagnose(h)
>>> d.verdict, d.evidence["update_cosine"]
('oscillating', -1.0)
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._validation import NONE, InstanceOf, at_least, validate_params
from ..data import row_blocks, to_array
from ..engine.backend import xp
from ..errors import InputError
from ..learn import losses
from ..learn.history import History
from ..learn.nn import Linear

VERDICTS = ("converged", "still_improving", "oscillating", "diverged", "plateaued", "overfitting")

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
ROUNDING = 1e-9
"""Optimisation gap (relative to the optimum) below which the optimum is reached, up to rounding."""
NOISE = 1e-8
"""Gradient norm (relative to its first value) below which updates are float noise."""


@dataclass
class OptimisationGap:
    """The loss reached against the exact optimum of a linear or logistic model.

    ``absolute = reached - optimum`` (0 when rounding puts reached below the
    optimum) and ``relative = absolute / optimum``: the gap as a share of the optimum.
    """

    reached: float
    optimum: float
    absolute: float
    relative: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The numbers as plain data."""
        return asdict(self)

    def __str__(self) -> str:
        if self.relative <= ROUNDING or self.reached <= self.optimum:
            return (
                f"Optimisation gap: none. The loss reached, {self.reached:.6g}, is the exact "
                f"optimum {self.optimum:.6g} ({self.method}), up to rounding."
            )
        if math.isfinite(self.relative):
            share = f" ({_share(self.relative)})"
        else:
            share = " (a perfect fit is possible)"
        return (
            f"Optimisation gap: the loss reached, {self.reached:.6g}, is {self.absolute:.3g}"
            f"{share} above the exact optimum {self.optimum:.6g} ({self.method})."
        )


def _share(relative: float) -> str:
    """The gap relative to the optimum, in words: '4.1% of the optimum', '3.81 times the optimum'."""
    if relative < 1:
        return f"{_pct(relative)} of the optimum"
    return f"{relative:.3g} times the optimum"


@dataclass
class Diagnosis:
    """A verdict on a run, its evidence in numbers, one suggestion and (linear models) the gap."""

    verdict: str
    evidence: dict[str, Any]
    suggestion: str
    explanation: str = ""
    gap: OptimisationGap | None = None
    suggested: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain data, for History and the model file."""
        data = asdict(self)
        data["gap"] = None if self.gap is None else self.gap.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        """Rebuild a Diagnosis from ``to_dict()`` (as stored in ``History.diagnosis``)."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if values.get("gap") is not None:
            values["gap"] = OptimisationGap(**values["gap"])
        return cls(**values)

    def __str__(self) -> str:
        paragraphs = [f"Diagnosis: {self.verdict}. {self.explanation}"]
        if self.gap is not None:
            paragraphs.append(str(self.gap))
        paragraphs.append(f"Suggestion: {self.suggestion}")
        return "\n".join(textwrap.fill(p, 100, subsequent_indent="  ") for p in paragraphs)


# ----- the evidence -------------------------------------------------------------------
def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _pct(x: float) -> str:
    """A share as a readable percentage: 0.0042 -> '0.42%'."""
    return f"{100 * x:.2g}%" if abs(x) < 0.01 else f"{100 * x:.3g}%"


def _window_size(epochs: int, window: int | None) -> int:
    if window is not None:
        return window
    return min(max(epochs // 5, 5), 50)


def _recovered_at(history: History) -> list[int]:
    return [int(e["epoch"]) for e in history.events if e.get("event") == "recovered"]


def _minibatch(history: History) -> bool:
    size, rows = history.settings.get("batch_size"), history.settings.get("rows")
    return size is not None and (rows is None or size < rows)


def _geometric_ratio(values: Sequence[float]) -> float:
    """The mean factor by which positive values shrink from one to the next (NaN if undefined)."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if len(positive) < 2:
        return math.nan
    return (positive[-1] / positive[0]) ** (1 / (len(positive) - 1))


def _first_step_curvature(history: History) -> float:
    """The curvature c of the loss along the first gradient g, from the first step of
    full-batch SGD (NaN for other runs).

    That step, -lr g (with or without momentum), changes the loss by
    ``-lr |g|^2 + lr^2 c |g|^2 / 2`` to second order (exactly, on a quadratic),
    so ``c = 2 (lr |g|^2 - decrease) / (lr |g|)^2``.
    """
    loss, lr, grad = history.loss, history.lr, history.grad_norm
    plain = history.settings.get("optimizer") == "SGD" and not _minibatch(history)
    if not plain or len(loss) < 2 or not lr or not grad or _recovered_at(history)[:1] == [0]:
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


def _evidence(history: History, window: int | None) -> dict[str, Any]:
    """The numbers the verdict rests on (see the module docstring)."""
    loss = history.loss
    n = len(loss)
    recovered = _recovered_at(history)
    start = recovered[-1] + 1 if recovered and recovered[-1] + 1 < n else 0
    segment = loss[start:]
    w = min(_window_size(n, window), max(len(segment) - 1, 1))
    initial = next((v for v in loss if math.isfinite(v)), math.nan)
    final = (
        loss[-1] if history.final_loss is None else history.final_loss
    )  # of the weights returned
    scale = abs(initial) if math.isfinite(initial) and initial != 0 else 1.0

    before, inside = _finite(segment[: len(segment) - w]), _finite(segment[-w:])
    best_before = min(before) if before else (inside[0] if inside else math.nan)
    best_inside = min(inside) if inside else math.nan
    improvement = (best_before - best_inside) / max(abs(best_before), 1e-300)

    tail = segment[-w - 1 :]
    steps = list(zip(tail[:-1], tail[1:]))
    rises = sum(1 for a, b in steps if not b <= a + 1e-10 * scale)
    share_up = rises / len(steps) if steps else 0.0

    # Epochs whose gradient is more than float noise: the updates (and the loss ratios)
    # of the others say nothing about the learning rate.
    grads = history.grad_norm[start:] if len(history.grad_norm) == n else []
    first_grad = next((g for g in grads if math.isfinite(g) and g > 0), math.nan)
    moving = [
        i
        for i in range(1, len(segment))
        if not math.isfinite(first_grad) or grads[i] > NOISE * first_grad
    ]
    recent = moving[-w:]
    cosine_of = history.update_cosine if len(history.update_cosine) == n else [math.nan] * n
    zigzags = sum(1 for i in moving if cosine_of[start + i] < ZIGZAG)
    active = _finite([cosine_of[start + i] for i in recent])
    moving_tail = segment[recent[0] - 1 : recent[-1] + 1] if recent else tail
    last_grad = next((g for g in reversed(grads) if math.isfinite(g)), math.nan)

    evidence: dict[str, Any] = {
        "epochs": n,
        "initial_loss": initial,
        "final_loss": final,
        "best_loss": min(_finite(loss)) if _finite(loss) else math.nan,
        "final_to_initial": final / initial if initial else math.nan,
        "window": w,
        "recent_improvement": improvement,
        "share_up": share_up,
        "update_cosine": sum(active) / len(active) if active else math.nan,
        "grad_norm_ratio": last_grad / first_grad,
        "loss_ratio": _geometric_ratio(moving_tail),
        "lr": history.lr[-1] if history.lr else history.settings.get("lr", math.nan),
        "minibatch": _minibatch(history),
        "zigzag_epochs": zigzags,
        "first_step_curvature": _first_step_curvature(history),
        "recoveries": len(recovered),
        "analysed_from_epoch": start,
    }
    val = history.val_loss
    if len(val) >= 3 and _finite(val):
        best_val = min(range(len(val)), key=lambda i: val[i] if math.isfinite(val[i]) else math.inf)
        evidence["best_val_epoch"] = best_val
        recent_val = min(_finite(val[-w:]), default=math.nan)
        evidence["val_rise"] = (recent_val - val[best_val]) / max(abs(val[best_val]), 1e-300)
        train_then = min(_finite(loss[: best_val + 1]), default=math.nan)
        train_since = min(_finite(loss[best_val + 1 :]), default=train_then)
        evidence["train_improvement_since_best_val"] = (train_then - train_since) / max(
            abs(train_then), 1e-300
        )
    return evidence


# ----- the verdict ----------------------------------------------------------------------
def _verdict(history: History, e: dict[str, Any]) -> str:
    final, initial = e["final_loss"], e["initial_loss"]
    cosine, share_up = e["update_cosine"], e["share_up"]
    if (
        history.stop_reason == "diverged"
        or not math.isfinite(final)
        or (final > initial and share_up > 0.5)
    ):
        return "diverged"
    if cosine < ZIGZAG or (not e["minibatch"] and share_up > BOUNCE):
        return "oscillating"
    if (
        e.get("val_rise", 0.0) > OVERFIT
        and e["best_val_epoch"] < e["epochs"] - 1
        and e["train_improvement_since_best_val"] > LEARNING
    ):
        return "overfitting"
    if final <= PERFECT * initial:
        return "converged"
    if history.stop_reason != "converged" and e["recent_improvement"] >= FLAT:
        return "still_improving"
    if e["minibatch"]:
        return "plateaued" if share_up > BOUNCE else "converged"
    if not e["grad_norm_ratio"] > AT_MINIMUM:  # NaN (not recorded) counts as shrunk
        return "converged"
    return "still_improving" if share_up == 0 else "plateaued"


def _nice(x: float) -> float:
    """Round to two significant digits, for a learning rate or epoch count a person would type."""
    return float(f"{x:.2g}") if x > 0 and math.isfinite(x) else x


VALLEY = (
    "Standardise the features (subtract each column's mean, divide by its standard deviation: "
    "Regressor and descend train do it by default) so that one learning rate suits every "
    "direction; or use optimizer='momentum'."
)


def _round_down(x: float) -> float:
    """x rounded down to two significant digits (float noise aside): 0.5371 -> 0.53."""
    unit = 10 ** (math.floor(math.log10(x)) - 1)
    return float(f"{math.floor(x / unit + 1e-6) * unit:.2g}")  # 0.4999999997 -> 0.5, not 0.49


def _round_up(x: float) -> int:
    """x rounded up to two significant digits: 684.2 -> 690."""
    unit = 10 ** max(len(str(math.ceil(x))) - 2, 0)
    return math.ceil(x / unit) * unit


def _epochs_to_settle(history: History, e: dict[str, Any]) -> float:
    """Total epochs after which, at the pace of the last epochs, the run would count as converged.

    The decreases of a loss converging at a linear rate shrink by a factor r per
    epoch, so what is left of the decrease after m more epochs is ``left r^m``
    with ``left = d r / (1 - r)`` (d: the last decrease), and the loss tends to
    ``limit = final - left``. By the rules above the run has converged once the
    decrease over the last w epochs, ``left r^(m-w) (1 - r^w)``, is below FLAT of
    the limit, or the loss is below PERFECT of the initial loss; m is solved
    from those. NaN when the pace is not geometric.
    """
    w = e["window"]
    tail = history.loss[-w - 1 :]
    decreases = [a - b for a, b in zip(tail[:-1], tail[1:])]
    r = _geometric_ratio(decreases)
    if not 0 < r < 1 or decreases[-1] <= 0:
        return math.nan
    left = decreases[-1] * r / (1 - r)
    limit = history.loss[-1] - left
    more = math.log(PERFECT * abs(e["initial_loss"]) / left) / math.log(r)
    if limit > 0:
        more = min(more, w + math.log(FLAT * limit / (left * (1 - r**w))) / math.log(r))
    return e["epochs"] + max(more, 1.0)


def _tiny_steps(e: dict[str, Any]) -> bool:
    """Full batch, the loss barely moved (at least 99% of its start), the gradient did not
    shrink (over half its first size) and, where known, the optimum is far: steps too small
    to get anywhere, however flat the loss looks."""
    if e["minibatch"] or not e["final_to_initial"] > 0.99 or not e["grad_norm_ratio"] > 0.5:
        return False
    return e.get("gap_relative", math.inf) > GAP


def _diverged_lrs(history: History) -> list[float]:
    """The learning rates that diverged in this run (recovered or not), from its events."""
    return [
        float(e["lr"])
        for e in history.events
        if e.get("event") in ("recovered", "diverged") and "lr" in e
    ]


def _lr_below_one_over_l(lr: float, loss_ratio: float) -> float:
    """1/L estimated from the per-epoch loss ratio rho = (1 - lr L)^2 when lr > 1/L.

    On a quadratic the loss shrinks (or grows) by (1 - lr L)^2 per step; with
    lr > 1/L that gives L = (1 + sqrt(rho)) / lr. A loss with a positive minimum
    shrinks more slowly than that, so the estimate errs low, never above 1/L.
    """
    if not math.isfinite(loss_ratio) or loss_ratio <= 0:
        return math.nan
    return lr / (1 + math.sqrt(loss_ratio))


def _explain(
    history: History, verdict: str, e: dict[str, Any]
) -> tuple[str, str, dict[str, float]]:
    """(plain-words explanation, suggestion, suggested settings)."""
    lr, epochs, w = e["lr"], e["epochs"], e["window"]
    start = (
        f"The loss went from {e['initial_loss']:.4g} to {e['final_loss']:.4g} in {epochs} "
        f"epoch{'s' if epochs != 1 else ''}"
    )
    ratio = e["final_to_initial"]
    if not math.isfinite(ratio):
        fell = start
    elif ratio <= 1:
        fell = f"{start} ({_pct(ratio)} of where it started)"
    else:
        fell = f"{start} ({ratio:.3g} times where it started)"
    last = f"over the last {w} epochs"
    cosine = e["update_cosine"]
    moves = (
        f"the update cosine averaged {cosine:+.2f}"
        + (
            " (each step reversed the one before)"
            if cosine < ZIGZAG
            else " (each step went the same way as the one before)"
            if cosine > 0.5
            else ""
        )
        if math.isfinite(cosine)
        else ""
    )
    recovered = (
        f" after {e['recoveries']} divergence recover{'y' if e['recoveries'] == 1 else 'ies'}"
        f" (analysed from epoch {e['analysed_from_epoch']})"
        if e["recoveries"]
        else ""
    )
    suggested: dict[str, float] = {}

    if verdict == "diverged":
        growth = [
            b / a for a, b in zip(history.loss[:-1], history.loss[1:]) if 0 < a < b < math.inf
        ]
        new = _lr_below_one_over_l(lr, growth[-1]) if growth else math.nan
        how = (
            "the estimated 1/L from the last growth of the loss"
            if math.isfinite(new)
            else "a tenth"
        )
        new = _nice(new if math.isfinite(new) else lr / 10)
        suggested["lr"] = new
        text = (
            f"{fell}. The loss blew up: each step overshot the minimum by more than it "
            f"corrected, so the learning rate {lr:g} is above 2/L for the steepest direction."
        )
        peak = history.loss[-1]
        if peak != e["final_loss"] and peak > e["initial_loss"]:  # the good weights put back
            text = (
                f"The loss went from {e['initial_loss']:.4g} to {peak:.4g} in {epochs} epochs; "
                f"the weights returned are the good ones from before (loss "
                f"{e['final_loss']:.4g}).{text[len(fell) + 1 :]}"
            )
        if not math.isfinite(e["initial_loss"]):
            text = (
                f"The loss was {history.loss[0]:g} from the first epoch, before any step could "
                "overshoot: the numbers overflow floating point (features or targets around "
                "1e150 or larger, or weights that large)."
            )
            advice = (
                "standardise the features (and scale the target) so that the loss is a finite "
                "number; Regressor and descend train standardise by default."
            )
            return text, advice[0].upper() + advice[1:], suggested
        if history.stop_reason == "converged":
            text += (
                " (The run stopped as 'converged' because the loss stopped improving, not "
                "because it settled.)"
            )
        advice = (
            f"lower the learning rate to lr={new:g} ({how}); or pass recover=True "
            "(--recover) to retry with a smaller rate automatically."
            if not e["recoveries"]
            else f"start at lr={new:g} ({how}): the recoveries ran out before the learning "
            "rate was small enough."
        )
    elif verdict == "oscillating":
        new = _lr_below_one_over_l(lr, min(e["loss_ratio"], 1.0))
        new = _nice(new if math.isfinite(new) else lr / 2)
        suggested["lr"] = new
        if cosine < ZIGZAG:
            why = (
                f"The steps are too large: {moves}, so the weights zig-zag across the "
                f"minimum{' even though the loss fell' if e['final_to_initial'] < 1 else ''}"
                f". On a quadratic this means lr is between 1/L and 2/L"
            )
        else:
            why = (
                f"The loss went up in {_pct(e['share_up'])} of the last {w} epochs: full-batch "
                "gradient descent only climbs when a step overshoots, so the learning rate is "
                "too large for the curvature"
            )
        text = f"{fell}{recovered}. {why}."
        advice = (
            f"lower the learning rate to lr={new:g} (it was {lr:g}); below 1/L the steps go "
            "straight down instead of across the valley."
        )
    elif verdict == "overfitting":
        best = int(e["best_val_epoch"])
        suggested["epochs"] = best + 1
        text = (
            f"{fell}. The training loss kept falling (its lowest is "
            f"{_pct(e['train_improvement_since_best_val'])} lower than at epoch {best}) but the "
            f"validation loss did not: over the last {w} epochs it stayed at least "
            f"{_pct(e['val_rise'])} above its lowest, at epoch {best}. The model is learning the "
            "training rows, not the pattern."
        )
        advice = (
            f"train for epochs={best + 1} (where the validation loss was lowest), or add "
            "EarlyStopping(restore_best_weights=True); more data or a smaller model also help."
        )
    elif verdict == "converged":
        if e["final_loss"] <= PERFECT * e["initial_loss"]:
            why = "the loss reached (almost) zero: the model fits the data exactly"
        elif e["minibatch"]:
            why = (
                f"{last} the lowest loss improved by only {_pct(max(e['recent_improvement'], 0))} "
                "and the loss held steady"
            )
        else:
            ratio = e["grad_norm_ratio"]
            shrunk = (
                f", and the gradient shrank to {_pct(ratio)} of its first size: the weights "
                "sit at a minimum"
                if math.isfinite(ratio)
                else ""
            )
            why = (
                f"{last} the lowest loss improved by only "
                f"{_pct(max(e['recent_improvement'], 0))}{shrunk}"
            )
        smooth = f"; {moves}" if moves else ""
        text = f"{fell}{recovered}, then stopped changing: {why}{smooth}."
        advice = "nothing to change; this learning rate and epoch count work."
        if e["recoveries"]:
            suggested["lr"] = lr
            times = "one recovery" if e["recoveries"] == 1 else f"{e['recoveries']} recoveries"
            advice = f"start at lr={lr:g} next time: it took {times} to get there."
    elif verdict == "plateaued":
        new = _nice(lr / 10)
        suggested["lr"] = new
        if "gap_relative" in e and e["gap_relative"] > GAP and not e["minibatch"]:
            why = (
                f"{last} its lowest value improved by only "
                f"{_pct(max(e['recent_improvement'], 0))} while it is still "
                f"{_share(e['gap_relative'])} above the exact optimum. The weights crawl along the "
                "floor of a long, narrow valley of the loss: steps small enough for its steep "
                "sides are too small for its long direction. This happens when features have "
                "very different scales"
            )
        elif e["minibatch"]:
            why = (
                f"the loss stopped falling and hovers: it went up in {_pct(e['share_up'])} of "
                f"the last {w} epochs. Each minibatch step is noisy, so the weights jiggle "
                "around a minimum instead of settling into it"
            )
        else:
            why = (
                f"the loss stopped falling while the gradient is still {_pct(e['grad_norm_ratio'])}"
                " of its first size: the weights are not at a minimum but on a flat or bumpy stretch"
            )
        text = f"{fell}{recovered}, but {why}."
        advice = (
            f"lower the learning rate to lr={new:g} (it was {lr:g}), as ReduceLROnPlateau "
            "would, so smaller steps can settle lower."
        )
        if "gap_relative" in e and e["gap_relative"] > GAP and not e["minibatch"]:
            del suggested["lr"]
            advice = VALLEY
    else:  # still_improving
        total = _epochs_to_settle(history, e)
        text = (
            f"{fell}{recovered}, and it was still falling at the end: {last} the lowest loss "
            f"improved by {_pct(e['recent_improvement'])}"
            + (f"; {moves}" if moves else "")
            + ". The run ended before the loss settled."
        )
        curvature = e["first_step_curvature"]
        tiny = _tiny_steps(e)
        if tiny:
            far = (
                f", {_share(e['gap_relative'])} above the exact optimum"
                if "gap_relative" in e
                else ""
            )
            text += (
                f" The steps are tiny: the loss is still {_pct(e['final_to_initial'])} of where "
                f"it started{far}, and the gradient is still {_pct(e['grad_norm_ratio'])} of its "
                "first size, so the weights have barely moved."
            )
            if history.stop_reason == "converged":
                text += (
                    " (The run stopped as 'converged' because each epoch improved the loss by "
                    "less than tol, not because it settled.)"
                )
        if not tiny and math.isfinite(total) and total <= 20 * epochs:
            epochs_new = _round_up(total)
            suggested["epochs"] = epochs_new
            advice = (
                f"train for epochs={epochs_new}: at this pace the loss will have settled by then."
            )
        elif e["zigzag_epochs"] and not tiny:
            text += (
                f" Yet the weights zig-zagged in {e['zigzag_epochs']} epochs: the learning rate "
                "is already as large as the steepest direction of the loss allows, and too small "
                "for its flattest one (a long, narrow valley)."
            )
            advice = VALLEY
        else:
            if math.isfinite(curvature) and 1 / curvature > lr:
                new = _round_down(1 / curvature)
                why = (
                    f"the first step showed a curvature of about {curvature:.3g} along the "
                    "gradient, and steps up to 1/curvature still go straight down"
                )
            else:
                new = _nice(lr * (100 if tiny else 10))
                why = (
                    "the steps are too small for the loss to settle in a sensible number of epochs"
                )
            bad = _diverged_lrs(history)
            if bad and new >= min(bad):
                new = _round_down(math.sqrt(lr * min(bad)))
                why += f"; but not as high as lr={min(bad):g}, which diverged in this run"
            if new > lr:
                suggested["lr"] = new
                advice = f"raise the learning rate to lr={new:g} (it was {lr:g}): {why}."
            else:
                advice = f"train for more epochs at lr={lr:g}: a larger rate diverged in this run."
    return text, advice[0].upper() + advice[1:], suggested


@validate_params(
    {
        "history": [InstanceOf(History, "a descend History (what fit returns)")],
        "window": [at_least(1), NONE],
    }
)
def diagnose(
    history: History,
    gap: OptimisationGap | None = None,
    *,
    window: int | None = None,
    note: str = "",
) -> Diagnosis:
    """Read a History: ``diagnose(descend.fit(model, X, y))`` -> Diagnosis (see the module doc).

    ``note``: a sentence added to the explanation (fit: why the gap is unknown)."""
    if not history.loss:
        raise InputError("diagnose: the history has no epochs; train the model first.")
    evidence = _evidence(history, window)
    verdict = _verdict(history, evidence)
    if gap is not None:
        evidence["gap_relative"] = gap.relative
        far = gap.relative > GAP and gap.absolute > PERFECT * abs(evidence["initial_loss"])
        if verdict == "converged" and far:
            verdict = "plateaued"  # flat, but not at the optimum: a long, narrow valley
    text, advice, suggested = _explain(history, verdict, evidence)
    val, final = history.val_loss, evidence["final_loss"]
    if val and verdict != "overfitting" and val[-1] > 2 * final > 0:
        text += (
            f" Note: the validation loss ({val[-1]:.4g}) is {val[-1] / final:.3g} times the "
            "training loss: the model fits the training rows far better than new ones."
        )
    if note:
        text += f" Note: {note[0].lower()}{note[1:]}"
    return Diagnosis(verdict, evidence, advice, text, gap, suggested)


# ----- the optimisation gap of linear and logistic models -------------------------------
Blocks = Callable[[], Iterator[tuple[Any, Any, Any]]]


def _blocks(X: Any, Y: Any, weight: Any, with_bias: bool) -> Blocks:
    """Row blocks (A, Y, weights) of the lesson's ``X @ weights + bias`` written as one
    product ``A @ theta``: A is a block of X with a column of ones for the bias.

    Block by block, as fit does, so that X is never copied whole; each call of
    the result starts a new pass over the rows.
    """
    rows = max(64, (1 << 21) // (8 * (X.shape[1] + 1)))

    def each() -> Iterator[tuple[Any, Any, Any]]:
        for part in row_blocks(len(X), rows):
            A = xp.asarray(X[part], dtype=xp.float64)
            if with_bias:
                A = xp.hstack([A, xp.ones((len(A), 1))])
            yield A, Y[part], None if weight is None else weight[part]

    return each


def _row_space(X: Any, Y: Any, weight: Any, with_bias: bool) -> Blocks:
    """With more columns than rows: one block of an orthonormal basis of the span of A's
    columns in place of A. ``A @ theta`` reaches the same predictions, so the optimum is the
    same, from at most n columns: an SVD of A costs n^2 (d + 1), where the normal equations
    would cost a (d + 1) x (d + 1) Gram matrix."""
    parts = list(_blocks(X, Y, weight, with_bias)())
    A = xp.vstack([a for a, _, _ in parts])
    U, s, _ = xp.linalg.svd(A, full_matrices=False)
    basis = U[:, : int((s > s[0] * max(A.shape) * xp.finfo(A.dtype).eps).sum())]
    return lambda: iter([(basis, Y, weight)])


def _total(blocks: Blocks, per_row: Any) -> float:
    """The (weighted) mean over all rows of ``per_row(A, Y)``."""
    total = count = 0.0
    for A, Yb, w in blocks():
        values = per_row(A, Yb)
        total += float(values.sum() if w is None else (values * w).sum())
        count += len(values) if w is None else float(w.sum())
    return total / count


def _squared_error(theta: Any) -> Any:
    return lambda A, Yb: ((A @ theta - Yb) ** 2).mean(axis=1)


def _cross_entropy(theta: Any) -> Any:
    """Binary cross-entropy of logits z = A theta: max(z, 0) - z t + log(1 + e^-|z|)."""

    def per_row(A: Any, t: Any) -> Any:
        z = A @ theta
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    return per_row


class GapUnknown(InputError):
    """The exact optimum cannot be computed in floating point (the message says why)."""


def _solve(matrix: Any, right: Any, what: str) -> Any:
    """``lstsq(matrix, right)``, but only on finite numbers: LAPACK fails (and prints to the
    terminal) on infinities and NaN."""
    if not (bool(xp.isfinite(matrix).all()) and bool(xp.isfinite(right).all())):
        raise GapUnknown(
            f"The exact optimum is unknown: computing the {what} overflows floating point "
            "(features or targets of 1e150 or more); standardise the features."
        )
    try:
        return xp.linalg.lstsq(matrix, right, rcond=None)[0]
    except xp.linalg.LinAlgError as error:
        raise GapUnknown(
            f"The exact optimum is unknown: solving for the {what} failed ({error})."
        ) from error


def _least_squares(blocks: Blocks) -> Any:
    """The weights of least squares, from the normal equations summed over blocks."""
    with xp.errstate(over="ignore", invalid="ignore"):
        gram = sum(A.T @ (A if w is None else A * w[:, None]) for A, _, w in blocks())
        moment = sum(A.T @ (Yb if w is None else Yb * w[:, None]) for A, Yb, w in blocks())
    return _solve(gram, moment, "least-squares optimum")


def _newton_logistic(blocks: Blocks, columns: int, steps: int = 100) -> Any:
    """Minimise the mean binary cross-entropy by Newton's method with backtracking.

    One output at a time (``Y`` of each block has one column). For separable
    data there is no minimum (the loss tends to 0 as the weights grow); the
    iterations then stop after ``steps`` with a loss close to 0.
    """
    theta = xp.zeros((columns, 1))
    loss = _total(blocks, _cross_entropy(theta))
    for _ in range(steps):
        grad, hess, count = 0.0, 0.0, 0.0
        for A, t, w in blocks():
            p = 0.5 * (1 + xp.tanh(0.5 * (A @ theta)))  # the sigmoid, without overflow
            ww = xp.ones((len(A), 1)) if w is None else w[:, None]
            grad = grad + A.T @ (ww * (p - t))
            hess = hess + (A * (ww * p * (1 - p))).T @ A
            count += float(ww.sum())
        direction = _solve(hess / count, grad / count, "Newton step")
        step, trial, trial_loss = 1.0, theta, loss
        while step > 1e-10:
            trial = theta - step * direction
            trial_loss = _total(blocks, _cross_entropy(trial))
            if trial_loss <= loss:
                break
            step /= 2
        if not trial_loss <= loss:
            break
        gain = loss - trial_loss
        theta, loss = trial, trial_loss
        if gain <= 1e-15 * max(loss, 1e-300):
            break
    return theta


def optimisation_gap(
    model: Any, X: Any, y: Any, loss: Any = "mse", sample_weight: Any = None
) -> OptimisationGap:
    """How far a trained ``nn.Linear`` is from the best weights: ``optimisation_gap(m, X, y)``.

    ``mse``: the optimum is least squares (with a column of ones for the bias).
    ``bce_with_logits``: Newton's method on the logistic loss, one output at a
    time. The loss reached is computed from the model's weights by the same
    formula, so the two are comparable.
    """
    loss_fn = losses.get_loss(loss)
    if not isinstance(model, Linear):
        raise InputError(
            f"optimisation_gap needs a single nn.Linear (a linear or logistic model); got "
            f"{type(model).__name__}. Deeper models have no closed-form optimum."
        )
    if loss_fn not in (losses.mse, losses.bce_with_logits):
        raise InputError(
            "optimisation_gap knows the exact optimum for the losses 'mse' and "
            f"'bce_with_logits'; got {getattr(loss_fn, '__name__', loss_fn)!r}."
        )
    X = to_array(X, name="X")
    Y = xp.asarray(y, dtype=xp.float64).reshape(len(X), -1)
    weight = None if sample_weight is None else to_array(sample_weight, "sample_weight", ndim=1)
    theta = xp.asarray(model.weight.data, dtype=xp.float64)
    if model.bias is not None:
        theta = xp.vstack([theta, xp.asarray(model.bias.data, dtype=xp.float64)[None, :]])
    if Y.shape[1] != theta.shape[1] or X.shape[1] != model.in_features:
        raise InputError(
            f"optimisation_gap: X has {X.shape[1]} columns and y {Y.shape[1]}, but the model "
            f"takes {model.in_features} and gives {theta.shape[1]}; pass the data it was trained on."
        )
    for name, values in (("X", X), ("y", Y), ("sample_weight", weight), ("weights", theta)):
        if values is not None and not bool(xp.isfinite(values).all()):
            raise GapUnknown(f"The exact optimum is unknown: {name} holds NaN or infinite values.")
    bias = model.bias is not None
    space = _row_space if len(theta) > len(X) else _blocks  # wide: n x n, not (d+1) x (d+1)
    with xp.errstate(over="ignore", invalid="ignore"):
        if loss_fn is losses.mse:
            reached = _total(_blocks(X, Y, weight, bias), _squared_error(theta))
            optimal = space(X, Y, weight, bias)
            optimum = _total(optimal, _squared_error(_least_squares(optimal)))
            method = "least squares"
        else:  # the loss is a mean over outputs too: add up each output's share
            reached = optimum = 0.0
            for k in range(Y.shape[1]):
                column = _blocks(X, Y[:, k : k + 1], weight, bias)
                optimal = space(X, Y[:, k : k + 1], weight, bias)
                best = _newton_logistic(optimal, next(optimal())[0].shape[1])
                reached += _total(column, _cross_entropy(theta[:, k : k + 1])) / Y.shape[1]
                optimum += _total(optimal, _cross_entropy(best)) / Y.shape[1]
            method = "Newton's method"
    if not (math.isfinite(reached) and math.isfinite(optimum)):
        raise GapUnknown(
            "The exact optimum is unknown: the loss overflows floating point (features or "
            "targets of 1e150 or more); standardise the features."
        )
    absolute = max(reached - optimum, 0.0)
    if optimum > PERFECT * reached:
        relative = absolute / optimum
    else:  # a perfect fit is possible: no share of it to speak of
        relative = 0.0 if absolute == 0 else math.inf
    return OptimisationGap(reached, optimum, absolute, relative, method)


def linear_gap_applies(model: Any, loss: Any) -> bool:
    """True for a single Linear trained with mse or bce_with_logits: its optimum is known."""
    return isinstance(model, Linear) and losses.get_loss(loss) in (
        losses.mse,
        losses.bce_with_logits,
    )


def linear_gap(
    model: Any, X: Any, y: Any, loss: Any, sample_weight: Any = None
) -> OptimisationGap | None:
    """``optimisation_gap`` for a single Linear trained with mse or bce_with_logits, else None."""
    return gap_and_note(model, X, y, loss, sample_weight)[0]


def gap_and_note(
    model: Any, X: Any, y: Any, loss: Any, sample_weight: Any = None
) -> tuple[OptimisationGap | None, str]:
    """``linear_gap`` and, when the gap of a linear model cannot be computed, why not
    (for the diagnosis: it never stops a run)."""
    if not linear_gap_applies(model, loss):
        return None, ""
    if not all(bool(xp.isfinite(p.data).all()) for p in model.parameters()):
        return None, ""
    try:
        return optimisation_gap(model, X, y, loss, sample_weight), ""
    except GapUnknown as error:
        return None, str(error)
