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
from .evidence import finite, geometric_ratio
from .optimum import percent
from .phrases import Phrases, capital, nice, round_down, round_up

Advice = tuple[str, str, dict[str, Any]]

MARGIN = 1.25
"""Epochs suggested from a pace are this many times what the pace needs."""
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


def epochs_at_own_pace(history: History, e: dict[str, Any]) -> float:
    """Total epochs until the gap is within tol, at the rate the gap shrank over the last epochs
    (full batch, optimum known); NaN when the gap did not shrink steadily."""
    if "gap_optimum" not in e or e["minibatch"]:
        return math.nan
    optimum = e["gap_optimum"]
    gaps = [v - optimum for v in finite(history.loss[-e["window"] - 1 :])]
    r = geometric_ratio(gaps)
    if not 0 < r < 1 or not gap_of(e) > e["tol"]:
        return math.nan
    return e["epochs"] + MARGIN * math.log(gap_of(e) / e["tol"]) / -math.log(r)


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
        f"{full}{how} for epochs={epochs}: for this curvature (condition number {kappa:.3g}) "
        f"they take the gap below tol={e['tol']:g} by then, by theory (the loss can be flatter "
        "still on the way there, nearly separable classes most)"
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
            f"a factor of {scales:.3g}, which is what makes the valley narrow."
        )
        return text, capital(advice), {"standardize": True}
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
    batch), at plain gradient descent's (lr mu, full-batch SGD), or else with full-batch
    Nesterov steps, whose epochs theory gives."""
    total = epochs_at_own_pace(history, e)
    plain = not e["minibatch"] and not _accelerated(history)
    lr_mu = e["lr"] * e.get("mu", math.nan)
    if not math.isfinite(total) and plain and 0 < lr_mu < 1:
        total = e["epochs"] + MARGIN * math.log(gap_of(e) / e["tol"]) / (-2 * math.log(1 - lr_mu))
    if math.isfinite(total):
        epochs = round_up(total)
        return (
            f"Train for epochs={epochs}: at the pace of the last epochs the gap falls below "
            f"tol={e['tol']:g} by then.",
            {"epochs": epochs},
        )
    steps = _theory_steps(e)
    if steps is not None:
        words, settings = steps
        return capital(f"take {words}."), settings
    epochs = round_up(3 * e["epochs"])
    return (
        f"Train for epochs={epochs}: the gap is still above tol and was still shrinking.",
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
    """The classes can be split perfectly: the loss has no minimum; give it one (alpha)."""
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
        "each further epoch makes the predicted probabilities more extreme, over-confident on "
        "new rows."
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
    rows = history.settings.get("rows") or 0
    alpha = nice(1.0 / rows) if rows else 1e-3
    advice = (
        f"give the loss a minimum with L2 regularisation, alpha={alpha:g} (scikit-learn's "
        f"LogisticRegression with its default C=1, for these {rows} rows), or stop early on "
        "held-out rows: validation=0.2 with EarlyStopping(restore_best_weights=True)."
    )
    return text, capital(advice), {"alpha": alpha}


def knows_optimum(e: dict[str, Any]) -> bool:
    """True when the gap (measured or bounded) is known: the advice of this module applies."""
    return math.isfinite(gap_of(e))
