"""Advice for runs whose exact optimum or curvature is known (linear, logistic and softmax
models): how far from the optimum, why, and settings that get there.

The epochs suggested come from theory or from the run's own pace: a full-batch run
whose losses are known against the optimum f* shows its own rate; plain gradient descent
with lr shrinks the slowest direction's error by max(|1 - lr mu|, |1 - lr L|) per epoch (the
gap by its square); and Nesterov's steps with lr = 1/L and momentum beta (the optimizer's
default, 0.9) shrink it by about 1 - lr mu / (1 - beta) per epoch, or sqrt(beta) once that is
smaller (the roots of its iteration on a quadratic). Minibatch and adaptive runs (whose pace
says little of the full-batch loss) are told the full-batch steps, plain or Nesterov's,
whichever theory says reaches tol in fewer epochs, and those epochs. The suggested settings
name numbers, not ``lr='auto'`` (which aims at new rows, not at the gap).
"""

from __future__ import annotations

import math
from typing import Any

from ..learn.history import History
from .alphas import GAIN, Z, best_alpha, tried_words
from .evidence import finite
from .follow import schedule_cut
from .optimum import percent
from .phrases import Phrases, capital, nice, round_down, round_up

Advice = tuple[str, str, dict[str, Any]]

MARGIN = 1.25
"""Epochs suggested from a pace are this many times what the pace needs."""
CAP = 20
"""Epochs suggested from the run's pace are at most this many times the epochs it ran."""
SLOWING = 4.0
"""A pace that slows faster than t^-SLOWING is not extrapolated (it may never get there)."""
NESTEROV_MOMENTUM = 0.9
"""The momentum of optimizer='nesterov' by name (``learn/optim.py``'s default)."""
SCALES = 10.0
"""Ratio of feature scales (root mean squares) from which standardising is the first advice."""


def gap_of(e: dict[str, Any]) -> float:
    """The relative gap: measured, or bounded by the gradient and mu."""
    return float(e.get("gap_relative", e.get("gap_bound", math.nan)))


def _far(e: dict[str, Any]) -> str:
    """'the gap to the exact optimum is 0.28% of it (tol=1e-05 asks for at most 0.001%)'."""
    gap = gap_of(e)
    size = f"{percent(gap)} of it" if gap < 1 else f"{gap:.3g} times it"
    bound = "" if "gap_relative" in e else " at most (the gradient bound |g|^2 / (2 mu))"
    return (
        f"the gap to the exact optimum is {size}{bound} (tol={e['tol']:g} asks for at most "
        f"{percent(e['tol'])})"
    )


def _gaps(history: History, e: dict[str, Any]) -> list[tuple[float, float]]:
    """(steps since the analysed start, relative gap) over the last epochs: the lowest loss so
    far at the start of each epoch, then the weights returned."""
    optimum, start, n = e["gap_optimum"], e["analysed_from_epoch"], e["epochs"]
    first = max(n - e["window"], start)
    lowest = min(finite(history.loss[start : first + 1]), default=math.inf)
    points = []
    for i in range(first, n):
        v = history.loss[i]
        lowest = min(lowest, v) if math.isfinite(v) else lowest
        points.append((i - start + 1.0, (lowest - optimum) / optimum))
    return [*points, (n - start + 1.0, min(gap_of(e), points[-1][1] if points else math.inf))]


def epochs_at_own_pace(history: History, e: dict[str, Any]) -> float:
    """Total epochs until the gap is within tol, at the pace the gap shrank over the last epochs
    and slowing as it slowed (full batch, optimum known, a constant rate); NaN when the gap
    did not shrink, or shrinks too slowly to get there within CAP times the epochs run.

    The gap falls by a factor e^(c t) over t epochs; c is measured over each half of the last
    epochs (c1, then c2) and taken to go as t^-q from there, q = ln(c1 / c2) / ln(t2 / t1)
    (0 for a steady, linear pace; 1 for a gap that falls as a power of the epochs, as it does
    where the loss flattens on the way, nearly separable classes most). The epochs solve
    ``integral of c(t) dt = ln(gap / tol)``; MARGIN times the ones still to go."""
    if "gap_optimum" not in e or e["minibatch"] or not e["gap_optimum"] > 0:
        return math.nan
    if schedule_cut(history, e) or not gap_of(e) > e["tol"]:
        return math.nan  # the pace of a rate the schedule kept cutting says nothing
    points = _gaps(history, e)
    if len(points) < 5 or not all(g > 0 for _, g in points):
        return math.nan
    half = len(points) // 2
    (ta, ga), (tm, gm), (tb, gb) = points[0], points[half], points[-1]
    c1, c2 = math.log(ga / gm) / (tm - ta), math.log(gm / gb) / (tb - tm)
    if not (c1 > 0 and c2 > 0):
        return math.nan
    q = max(math.log(c1 / c2) / math.log((tb + tm) / (tm + ta)), 0.0)
    if q > SLOWING:
        return math.nan
    left, n = math.log(gap_of(e) / e["tol"]), tb
    scale = c2 * ((tb + tm) / 2) ** q  # c(t) = scale t^-q
    if abs(1 - q) < 1e-9:
        log_end = math.log(n) + left / scale
    else:
        power = n ** (1 - q) + left * (1 - q) / scale
        log_end = math.log(power) / (1 - q) if power > 0 else math.inf
    if log_end > math.log(CAP * e["epochs"]):
        return math.nan
    return e["analysed_from_epoch"] + n + MARGIN * (math.exp(log_end) - n)


def theory_epochs(e: dict[str, Any], lr: float, beta: float = 0.0) -> float:
    """Epochs full-batch steps at ``lr`` with momentum ``beta`` (Nesterov's; 0: plain gradient
    descent) need from the start to a gap of tol: the slowest direction's error shrinks per
    epoch by max(|1 - lr mu|, |1 - lr L|) without momentum, by max(1 - lr mu / (1 - beta),
    sqrt(beta)) with it; the gap by its square, from 2 (f0 - f*) to tol f*."""
    optimum, L, mu = e.get("gap_optimum", math.nan), e.get("L", math.nan), e.get("mu", math.nan)
    if not (optimum > 0 and 0 < mu <= L < math.inf):
        return math.nan
    if beta:
        factor = max(1 - lr * mu / (1 - beta), math.sqrt(beta))
    else:
        factor = max(abs(1 - lr * mu), abs(1 - lr * L))
    if not 0 < factor < 1:
        return math.nan
    start = max(e["first_loss"] - optimum, optimum * e["tol"])  # a new run starts anew
    return MARGIN * math.log(2 * start / (e["tol"] * optimum)) / (-2 * math.log(factor)) + 1


def _theory_steps(e: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Full-batch steps from the curvature, whichever needs fewer epochs by theory: plain
    gradient descent at 0.9 x 2 / (L + mu) (at most 1.5/L), or Nesterov's (momentum 0.9, by
    name) at 1/L; ``(words, settings)``, None when L or mu is unknown."""
    L, mu = e.get("L", math.nan), e.get("mu", math.nan)
    if not (0 < mu <= L < math.inf):
        return None
    plain = round_down(min(0.9 * 2 / (L + mu), 1.5 / L))
    options = [
        ("sgd", plain, theory_epochs(e, plain), f"plain steps at lr={plain:g} (0.9 x 2/(L + mu))"),
        (
            "nesterov", round_down(1 / L), theory_epochs(e, round_down(1 / L), NESTEROV_MOMENTUM),
            f"optimizer='nesterov' at lr={round_down(1 / L):g} (1/L; its momentum "
            f"{NESTEROV_MOMENTUM:g})",
        ),
    ]  # fmt: skip
    options = [o for o in options if math.isfinite(o[2])]
    if not options:
        return None
    optimizer, lr, epochs, how = min(options, key=lambda o: o[2])
    epochs = round_up(max(epochs, 1))
    settings: dict[str, Any] = {"optimizer": optimizer, "lr": lr, "epochs": epochs}
    full = ""
    if e["minibatch"]:
        settings = {"batch_size": None, **settings}
        full = "full-batch steps (batch_size=None): "
    kappa = e["condition_number"]
    words = (
        f"{full}{how} for epochs={epochs}: theory's estimate of the epochs that take the gap "
        f"below tol={e['tol']:g} for this curvature (condition number {kappa:.3g}, its "
        "flattest direction measured where the run ended and at the optimum). An estimate: "
        "where the loss is flatter on the way (nearly separable classes most) it takes longer, "
        "and the next run's diagnosis will say so"
    )
    if epochs > 100 * e["epochs"]:
        words += (
            ". That is many: the optimum lies along a very flat direction of the loss, where "
            "a little L2 regularisation (alpha) would make it rounder"
        )
    return words, settings


def _accelerated(history: History) -> bool:
    """True when the run already used momentum (or an adaptive optimizer)."""
    return bool(history.settings.get("momentum")) or history.settings.get("optimizer") != "SGD"


def _valley_text(e: dict[str, Any]) -> str:
    """Why the loss crawls: L, mu and the condition number, or (unknown) the zig-zag."""
    if not math.isfinite(e.get("condition_number", math.nan)):
        return (
            f" The weights zig-zagged in {e['zigzag_epochs']} epochs while the loss crept on: the "
            "learning rate is already as large as the steepest direction of the loss allows, "
            "and too small for its flattest one (a long, narrow valley)."
        )
    return (
        f" The loss is a long, narrow valley: its curvature is L = {e['L']:.3g} across it and "
        f"only mu = {e['mu']:.3g} along its floor (condition number {e['condition_number']:.3g})."
        f" A rate small enough for the steep sides (2/L = {2 / e['L']:.3g} diverges) moves along "
        f"the floor by only lr × mu = {e['lr'] * e['mu']:.2g} of the remaining way per epoch: "
        "the lesson's 'too small: converges very slowly', caused by the shape of the loss, not "
        "by lr alone."
    )


def slow_valley(history: History, e: dict[str, Any]) -> Advice:
    """Short of the optimum in an ill-conditioned loss: standardise, Nesterov's steps for the
    epochs theory gives, or (already accelerated) more epochs at the run's own pace."""
    say = Phrases.of(e)
    moves = f"; {say.moves}" if say.moves else ""
    text = f"{say.fell}{say.recovered}, but {_far(e)}{moves}." + _valley_text(e)
    text += _stopped_early(history)
    scales = e.get("scale_ratio", math.nan)
    if scales >= SCALES:
        advice = (
            "standardise the features (subtract each column's mean, divide by its standard "
            f"deviation; standardize=True, the estimators' default): their scales differ by "
            f"a factor of {scales:.3g}, which is what makes the valley narrow. Let lr='auto' "
            f"choose the rate for the new scales: the rate {e['lr']:g} was for the old ones."
        )
        return text, capital(advice), {"standardize": True, "lr": "auto"}
    steps = _theory_steps(e)
    if not _accelerated(history) and steps is not None and steps[1]["optimizer"] == "nesterov":
        words, settings = steps
        return (
            text,
            capital(f"use {words}: momentum crosses the valley where plain steps crawl."),
            settings,
        )
    return text, *_more_epochs(history, e)


def _more_epochs(history: History, e: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Train on for the epochs the gap needs to fall below tol: at the run's own pace (full
    batch, a constant rate), else full-batch steps whose epochs theory estimates, else three
    times as long, without a promise."""
    total = epochs_at_own_pace(history, e)
    if math.isfinite(total):
        epochs = round_up(total)
        return (
            f"Train for epochs={epochs}: at the pace the gap fell over the last epochs (slowing "
            f"as it slowed), it falls below tol={e['tol']:g} by then.",
            {"epochs": epochs},
        )
    steps = _theory_steps(e)
    if steps is not None:
        words, settings = steps
        return capital(f"take {words}."), settings
    epochs = round_up(3 * e["epochs"])
    return (
        f"Train for epochs={epochs}, three times as long: the gap is still above tol, and how "
        "many epochs it needs the run's pace does not tell.",
        {"epochs": epochs},
    )


def _stopped_early(history: History) -> str:
    """The note for a run that Convergence stopped on a slow loss, short of the optimum."""
    if history.stop_reason != "converged":
        return ""
    return (
        " (The run stopped because the loss improved by less than tol per epoch, not because "
        "it reached the optimum.)"
    )


def short_of_tolerance(history: History, e: dict[str, Any]) -> Advice:
    """Still above the tolerance, in a well-conditioned loss: a rate up to 1/L, or more epochs."""
    say = Phrases.of(e)
    text = f"{say.fell}{say.recovered}, but {_far(e)}: the run stopped short of the optimum."
    text += _stopped_early(history)
    lr, L = e["lr"], e.get("L", math.nan)
    sgd = history.settings.get("optimizer", "SGD") == "SGD"
    if math.isfinite(L) and lr * L < 0.5 and not e["minibatch"] and sgd:
        new = round_down(1 / L)
        text += (
            f" The steps are small for this loss: lr × L = {lr * L:.2g} (L = {L:.3g}, the largest "
            "curvature), where steps up to 1/L still go straight down."
        )
        advice = f"raise the learning rate to lr={new:g} (it was {lr:g}): 1/L, rounded down."
        return text, capital(advice), {"lr": new}
    return text, *_more_epochs(history, e)


def noise_floor(history: History, e: dict[str, Any]) -> Advice:
    """Minibatches stopped short of the optimum: full-batch steps have no noise and reach it."""
    say = Phrases.of(e)
    text = (
        f"{say.fell}{say.recovered}, but it stopped falling and {_far(e)}. With minibatches each step "
        "follows a noisy estimate of the gradient, so at this rate the weights jiggle around "
        "the minimum, at a distance set by the learning rate and the batch size: a smaller rate "
        "settles closer, but only with as many more epochs."
    )
    steps = _theory_steps(e)
    if steps is not None:
        words, settings = steps
        return text, capital(f"take {words}."), settings
    new, epochs = nice(e["lr"] / 10), round_up(10 * e["epochs"])
    advice = (
        f"lower the learning rate to lr={new:g} (it was {e['lr']:g}) and train ten times as "
        f"long, epochs={epochs}: a tenth of the noise, the same distance travelled."
    )
    return text, capital(advice), {"lr": new, "epochs": epochs}


def separable(history: History, e: dict[str, Any]) -> Advice:
    """The classes can be split perfectly: the loss has no minimum. alpha gives it one; which
    alpha does best on new rows (or none) the measured comparison says (``alphas.py``)."""
    say = Phrases.of(e)
    grew, over = e.get("weight_growth", math.nan), e.get("weight_growth_epochs", 0)
    growing = (
        f" while the weights keep growing (their norm grew {percent(grew - 1)} over the last "
        f"{over} epochs)"
        if math.isfinite(grew) and grew > 1 and over
        else ""
    )
    text = (
        f"{say.fell}, and it keeps falling toward 0{growing}. This model can tell the classes "
        "apart perfectly (the data are separable): its loss has no minimum. It only approaches "
        "0 as the weights grow without bound, so no number of epochs makes it converge, and "
        "each further epoch makes the predicted probabilities more extreme."
    )
    if "gap_optimum" in e:
        text += (
            f" The exact optimum confirms it: the lowest loss is {e['gap_optimum']:.2g}, zero "
            "but for rounding."
        )
    elif e.get("rows_separated"):
        text += (
            " The weights put every training row in its class, so scaling the last layer up "
            "drives the loss to 0."
        )
    return (
        text,
        *regularised(history, e, "the loss then has a minimum, which the run can converge to"),
    )


def regularised(history: History, e: dict[str, Any], gives: str) -> tuple[str, dict[str, Any]]:
    """The alpha the measured comparison found best on held-out rows, or (none better) that no
    alpha tried helps new rows; without trials, an alpha for what it surely ``gives``."""
    if "held_out_of_run" not in e:
        rows = history.settings.get("rows") or 0
        alpha = nice(1.0 / rows) if rows else 1e-3
        advice = (
            f"give the loss a minimum with L2 regularisation, such as alpha={alpha:g} "
            f"(scikit-learn's LogisticRegression with its default C=1, for these {rows} rows): "
            f"{gives}. Which alpha does best on new rows only held-out rows tell: hold some out "
            "(validation=0.2) and compare a few, or stop early on them with "
            "EarlyStopping(restore_best_weights=True)."
        )
        return capital(advice), {"alpha": alpha}
    found = best_alpha(e)
    if found is None:
        advice = (
            f"nothing to change for new rows: {tried_words(e)}. No alpha tried does better on "
            f"rows the model did not learn from, by {percent(GAIN)} and by more than "
            f"{Z:g} standard errors of the difference row by row (the luck of these rows). An "
            "alpha gives the loss a minimum, but here not a model better on new rows."
        )
        return capital(advice), {}
    alpha, value = found
    advice = (
        f"use L2 regularisation, alpha={alpha:g}: {tried_words(e)}, so alpha={alpha:g} lowers "
        f"the held-out loss by {percent(1 - value / e['held_out_of_run'])}; and {gives}."
    )
    return capital(advice), {"alpha": alpha}


def knows_optimum(e: dict[str, Any]) -> bool:
    """True when the gap (measured or bounded) is known: the advice of this module applies."""
    return math.isfinite(gap_of(e))
