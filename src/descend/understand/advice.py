"""What a verdict means for this run, and what to change: one small function per verdict.

``ADVICE[verdict](history, evidence)`` returns ``(explanation, suggestion,
suggested settings)``. The words name the library's parameters (``lr=0.5``,
``epochs=300``); the CLI translates them into its flags when it prints.

>>> from descend.learn.history import History
>>> from descend.understand.evidence import evidence
>>> h = History(loss=[1.96**k for k in range(8)], lr=[1.2] * 8, stop_reason="diverged")
>>> ADVICE["diverged"](h, evidence(h))[2]
{'lr': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..learn.history import History
from . import advice_optimum
from .alphas import restored
from .evidence import FLAT, GAP, JUMP, PERFECT, ZIGZAG, geometric_ratio
from .optimum import percent, share_of_optimum
from .phrases import Phrases, capital, nice, round_down, round_up

Advice = tuple[str, str, dict[str, Any]]
"""(plain-words explanation, suggestion, suggested settings)."""


# ----- estimates from the run ------------------------------------------------------------
def epochs_to_settle(history: History, e: dict[str, Any]) -> float:
    """Total epochs after which, at the pace of the last epochs, the run would count as converged.

    The decreases of a loss converging at a linear rate shrink by a factor r per
    epoch, so what is left of the decrease after m more epochs is ``left r^m``
    with ``left = d r / (1 - r)`` (d: the last decrease), and the loss tends to
    ``limit = final - left``. By the rules the run has converged once the
    decrease over the last w epochs, ``left r^(m-w) (1 - r^w)``, is below FLAT of
    the limit, or the loss is below PERFECT of the initial loss; m is solved
    from those. NaN when the pace is not geometric.
    """
    w = e["window"]
    tail = history.loss[-w - 1 :]
    decreases = [a - b for a, b in zip(tail[:-1], tail[1:])]
    r = geometric_ratio(decreases)
    if not 0 < r < 1 or decreases[-1] <= 0:
        return math.nan
    left = decreases[-1] * r / (1 - r)
    limit = history.loss[-1] - left
    more = math.log(PERFECT * abs(e["initial_loss"]) / left) / math.log(r)
    if limit > 0:
        more = min(more, w + math.log(FLAT * limit / (left * (1 - r**w))) / math.log(r))
    return e["epochs"] + max(more, 1.0)


def tiny_steps(e: dict[str, Any]) -> bool:
    """Full batch, the loss barely moved (at least 99% of its start), the gradient did not
    shrink (over half its first size) and, where known, the optimum is far: steps too small
    to get anywhere, however flat the loss looks."""
    if e["minibatch"] or not e["final_to_initial"] > 0.99 or not e["grad_norm_ratio"] > 0.5:
        return False
    return e.get("gap_relative", math.inf) > GAP


def diverged_lrs(history: History) -> list[float]:
    """The learning rates that diverged in this run (recovered or not), from its events."""
    return [
        float(e["lr"])
        for e in history.events
        if e.get("event") in ("recovered", "diverged") and "lr" in e
    ]


def lr_below_one_over_l(lr: float, loss_ratio: float) -> float:
    """1/L estimated from the per-epoch loss ratio rho = (1 - lr L)^2 when lr > 1/L.

    On a quadratic the loss shrinks (or grows) by (1 - lr L)^2 per step; with
    lr > 1/L that gives L = (1 + sqrt(rho)) / lr. A loss with a positive minimum
    shrinks more slowly than that, so the estimate errs low, never above 1/L.
    """
    if not math.isfinite(loss_ratio) or loss_ratio <= 0:
        return math.nan
    return lr / (1 + math.sqrt(loss_ratio))


# ----- one function per verdict ------------------------------------------------------------
def _overflowed(history: History, e: dict[str, Any], new: float) -> Advice:
    """A loss that was never finite: at the starting weights (full batch: the features or the
    target overflow), or within the first epoch's minibatch steps (the rate)."""
    if e["minibatch"]:
        text = (
            f"The loss was {history.loss[0]:g} from the first epoch: its minibatch steps threw "
            "the weights so far that the loss overflowed floating point before the epoch ended. "
            f"The learning rate {e['lr']:g} is far too large for the curvature (and for the "
            "scale of the target, with mse: the gradient grows with it)."
        )
        advice = (
            f"lower the learning rate to lr={new:g} with recover=True, which cuts it by 10 again "
            "each time the loss blows up (at most 5 times)."
        )
        return text, capital(advice), {"lr": new, "recover": True}
    text = (
        f"The loss was {history.loss[0]:g} from the first epoch, at the starting weights, before "
        "any step: the numbers overflow floating point (features or targets around 1e150 or "
        "larger, or weights that large)."
    )
    advice = (
        "standardise the features (standardize=True, the estimators' default) and scale the "
        "target, so that the loss is a finite number, and let lr='auto' choose a rate for them."
    )
    return text, capital(advice), {"standardize": True, "lr": "auto"}


def diverged(history: History, e: dict[str, Any]) -> Advice:
    """The loss blew up: a rate below 1/L, estimated from the growth of the loss."""
    say, lr, epochs = Phrases.of(e), e["lr"], e["epochs"]
    growth = [b / a for a, b in zip(history.loss[:-1], history.loss[1:]) if 0 < a < b < math.inf]
    new = lr_below_one_over_l(lr, growth[-1]) if growth else math.nan
    how = "the estimated 1/L from the last growth of the loss" if math.isfinite(new) else "a tenth"
    new = nice(new if math.isfinite(new) else lr / 10)
    if not math.isfinite(e["first_loss"]):  # never finite
        return _overflowed(history, e, new)
    body = (
        "The loss blew up: each step overshot the minimum by more than it corrected, so the "
        f"learning rate {lr:g} is above 2/L for the steepest direction."
    )
    text = f"{say.fell}. {body}"
    peak = history.loss[-1]
    if peak != e["final_loss"] and peak > e["initial_loss"]:  # the good weights put back
        text = (
            f"The loss went from {e['initial_loss']:.4g} to {peak:.4g} in {epochs} epochs; "
            f"the weights returned are the good ones from before (loss "
            f"{e['final_loss']:.4g}). {body}"
        )
    if history.stop_reason == "converged":
        text += (
            " (The run stopped as 'converged' because the loss stopped improving, not "
            "because it settled.)"
        )
    advice = (
        f"lower the learning rate to lr={new:g} ({how}); or pass recover=True "
        "to retry with a smaller rate automatically."
        if not e["recoveries"]
        else f"start at lr={new:g} ({how}): the recoveries ran out before the learning "
        "rate was small enough."
    )
    return text, capital(advice), {"lr": new}


def _jumping(history: History, e: dict[str, Any]) -> Advice:
    """Minibatch losses that jump by factors: steps too large for the curvature and the noise,
    by how much the run does not show: lr='auto' measures a rate (a tenth, when lr='auto'
    chose this one)."""
    say, lr = Phrases.of(e), e["lr"]
    if e.get("jump", 1.0) >= JUMP:
        what = (
            f"in the last half of the run the minibatch loss rose to {e['jump']:.3g} times its "
            f"lowest before (epoch {e['jump_epoch']})"
        )
    else:
        what = (
            f"the weights returned have a full-data loss of {e['final_loss']:.4g}, "
            f"{e['final_to_recent']:.3g} times the lowest epoch loss of the last epochs"
        )
    text = (
        f"{say.fell}{say.recovered}, but it jumps: {what}. The steps are too large for the "
        "curvature and the noise of the minibatches, so the weights are thrown about instead of "
        "settling; a loss that jumps by factors has not converged."
    )
    if history.settings.get("lr_rule"):
        new = nice(lr / 10)
        advice = f"lower the learning rate to lr={new:g}, a tenth of the one lr='auto' picked."
        return text, capital(advice), {"lr": new}
    advice = (
        f"let lr='auto' choose a smaller rate (it was {lr:g}): a range test, then for rows of "
        "this size copies of the model trained at rates around its pick and compared on rows "
        "they did not learn from. How much smaller the jumps do not tell: a tenth may jump too."
    )
    return text, capital(advice), {"lr": "auto"}


def oscillating(history: History, e: dict[str, Any]) -> Advice:
    """The weights zig-zag (or the full-batch loss bounces, or minibatch losses jump): a rate
    below 1/L."""
    if e["minibatch"] and e["update_cosine"] >= ZIGZAG:
        return _jumping(history, e)
    say, lr = Phrases.of(e), e["lr"]
    new = lr_below_one_over_l(lr, min(e["loss_ratio"], 1.0))
    new = nice(new if math.isfinite(new) else lr / 2)
    if e["update_cosine"] < ZIGZAG:
        fell = " even though the loss fell" if e["final_to_initial"] < 1 else ""
        why = (
            f"The steps are too large: {say.moves}, so the weights zig-zag across the "
            f"minimum{fell}. On a quadratic this means lr is between 1/L and 2/L"
        )
    else:
        why = (
            f"The loss went up in {percent(e['share_up'])} of the last {e['window']} epochs: "
            "full-batch gradient descent only climbs when a step overshoots, so the learning "
            "rate is too large for the curvature"
        )
    advice = (
        f"lower the learning rate to lr={new:g} (it was {lr:g}); below 1/L the steps go "
        "straight down instead of across the valley."
    )
    return f"{say.fell}{say.recovered}. {why}.", capital(advice), {"lr": new}


def overfitting(history: History, e: dict[str, Any]) -> Advice:
    """The validation loss rose while the training loss fell: stop where it was lowest."""
    best = int(e["best_val_epoch"])
    text = (
        f"{Phrases.of(e).fell}. The training loss kept falling (its lowest is "
        f"{percent(e['train_improvement_since_best_val'])} lower than at epoch {best}) but the "
        f"validation loss did not: over the last {e['window']} epochs it stayed at least "
        f"{percent(e['val_rise'])} above its lowest, at epoch {best}. The model is learning the "
        "training rows, not the pattern."
    )
    if not restored(e):
        advice = (
            f"train for epochs={best + 1} (where the validation loss was lowest), or add "
            "EarlyStopping(restore_best_weights=True); more data or a smaller model also help."
        )
        return text, capital(advice), {"epochs": best + 1}
    text += (
        f" The weights returned are those of epoch {best}, the best on the validation rows "
        "(EarlyStopping put them back): stopping earlier would change nothing."
    )
    advice, suggested = advice_optimum.regularised(
        history, e, "the weights are pulled toward 0, a simpler model"
    )
    return text, advice, suggested


def converged(history: History, e: dict[str, Any]) -> Advice:
    """The loss settled: nothing to change (or start where the recoveries ended)."""
    say, improved = Phrases.of(e), percent(max(e["recent_improvement"], 0))
    if e["final_loss"] <= PERFECT * e["initial_loss"]:
        why = "the loss reached (almost) zero: the model fits the data exactly"
    elif e["minibatch"]:
        why = f"{say.last} the lowest loss improved by only {improved} and the loss held steady"
    else:
        ratio = e["grad_norm_ratio"]
        shrunk = (
            f", and the gradient shrank to {percent(ratio)} of its first size: the weights "
            "sit at a minimum"
            if math.isfinite(ratio)
            else ""
        )
        why = f"{say.last} the lowest loss improved by only {improved}{shrunk}"
    smooth = f"; {say.moves}" if say.moves else ""
    text = f"{say.fell}{say.recovered}, then stopped changing: {why}{smooth}."
    if e["update_cosine"] < ZIGZAG:
        text += (
            " The weights zig-zagged across the minimum on the way (lr between 1/L and 2/L): "
            "a rate below 1/L would go straight down, but this one got there."
        )
    if advice_optimum.knows_optimum(e) and e["final_loss"] > PERFECT * e["initial_loss"]:
        bound = "" if "gap_relative" in e else " at most (the gradient bound |g|^2 / (2 mu))"
        gap = advice_optimum.gap_of(e)
        where = (
            f"{share_of_optimum(gap)} above it{bound}" if gap > 1e-9 else "on it, but for rounding"
        )
        text += f" It is within tol={e['tol']:g} of the minimum: {where}."
    if not e["recoveries"]:
        return text, "Nothing to change; this learning rate and epoch count work.", {}
    times = "one recovery" if e["recoveries"] == 1 else f"{e['recoveries']} recoveries"
    advice = f"start at lr={e['lr']:g} next time: it took {times} to get there."
    return text, capital(advice), {"lr": e["lr"]}


def plateaued(history: History, e: dict[str, Any]) -> Advice:
    """The loss stopped falling above a minimum: smaller steps for as many more epochs."""
    if e["minibatch"] and advice_optimum.knows_optimum(e):
        return advice_optimum.noise_floor(history, e)
    say, lr = Phrases.of(e), e["lr"]
    mae = history.settings.get("loss") == "mae"
    if e.get("convex") and not advice_optimum.knows_optimum(e) and not mae:
        why = (
            "it stopped falling, and how far it is from the optimum is unknown: these rows are "
            "beyond what the exact optimum and the curvature are computed for, so the "
            "diagnosis cannot say it converged"
        )
        advice = (
            "measure the gap on rows in memory, descend.optimisation_gap(model, X, y, loss), or "
            "train on a sample of the rows small enough for the diagnosis to measure it."
        )
        return f"{say.fell}{say.recovered}, but {why}.", capital(advice), {}
    if e["minibatch"]:
        why = (
            f"the loss stopped falling and hovers: it went up in {percent(e['share_up'])} of "
            f"the last {e['window']} epochs. Each minibatch step is noisy, so the weights jiggle "
            "around a minimum instead of settling into it; a smaller rate settles closer, but "
            "only with as many more epochs"
        )
    else:
        why = (
            "the loss stopped falling while the gradient is still "
            f"{percent(e['grad_norm_ratio'])} of its first size: the weights are not at a "
            "minimum but on a flat or bumpy stretch"
        )
    if mae and e.get("convex"):
        why = (
            "the loss stopped falling, and the gradient of mae does not shrink near its minimum "
            "(each row pulls with the same force, whatever its error), so steps of a constant "
            "size hover around it. How far above the optimum is unknown (for mae it is a "
            "linear program, not computed here), so the diagnosis cannot say it converged"
        )
    new, epochs = nice(lr / 10), round_up(10 * e["epochs"])
    advice = (
        f"lower the learning rate to lr={new:g} (it was {lr:g}), as ReduceLROnPlateau "
        f"would, and train ten times as long, epochs={epochs}, so smaller steps settle lower."
    )
    return f"{say.fell}{say.recovered}, but {why}.", capital(advice), {"lr": new, "epochs": epochs}


def _tiny_note(history: History, e: dict[str, Any]) -> str:
    far = (
        f", {share_of_optimum(e['gap_relative'])} above the exact optimum"
        if "gap_relative" in e
        else ""
    )
    note = (
        f" The steps are tiny: the loss is still {percent(e['final_to_initial'])} of where "
        f"it started{far}, and the gradient is still {percent(e['grad_norm_ratio'])} of its "
        "first size, so the weights have barely moved."
    )
    if history.stop_reason == "converged":
        note += (
            " (The run stopped as 'converged' because each epoch improved the loss by "
            "less than tol, not because it settled.)"
        )
    return note


def _larger_rate(history: History, e: dict[str, Any], tiny: bool) -> tuple[str, dict[str, float]]:
    """A larger rate: up to 1/curvature of the first step, never one that diverged or jumped
    in this run."""
    lr, curvature = e["lr"], e["first_step_curvature"]
    if math.isfinite(curvature) and 1 / curvature > lr:
        new = round_down(1 / curvature)
        why = (
            f"the first step showed a curvature of about {curvature:.3g} along the "
            "gradient, and steps up to 1/curvature still go straight down"
        )
    else:
        new = nice(lr * 100)
        why = "the steps are so small that the weights have barely moved"
    bad = diverged_lrs(history)
    if bad and new >= min(bad):
        new = round_down(math.sqrt(lr * min(bad)))
        why += f"; but not as high as lr={min(bad):g}, which diverged in this run"
    if new > lr:
        return f"raise the learning rate to lr={new:g} (it was {lr:g}): {why}.", {"lr": new}
    return _longer(e, "a larger rate diverged in this run")


def _longer(e: dict[str, Any], why: str, total: float = math.nan) -> tuple[str, dict[str, float]]:
    """More epochs at this rate: ``total`` when it is known, else three times as many."""
    if math.isfinite(total) and total <= 20 * e["epochs"]:
        epochs = round_up(total)
        return (
            f"train for epochs={epochs}: at this pace the loss will have settled by then.",
            {"epochs": epochs},
        )
    epochs = round_up(3 * e["epochs"])
    return f"train for epochs={epochs}, three times as long: {why}.", {"epochs": epochs}


def still_improving(history: History, e: dict[str, Any]) -> Advice:
    """The run ended while the loss fell: more epochs at this pace; a larger rate only where
    the steps are measured to be small (full-batch SGD: the first step's curvature, or tiny
    steps), never above a rate that diverged or jumped here."""
    if advice_optimum.knows_optimum(e) and not tiny_steps(e):
        return advice_optimum.short_of_tolerance(history, e)
    say = Phrases.of(e)
    text = (
        f"{say.fell}{say.recovered}, and it was still falling at the end: {say.last} the lowest "
        f"loss improved by {percent(e['recent_improvement'])}"
        + (f"; {say.moves}" if say.moves else "")
        + ". The run ended before the loss settled."
    )
    tiny = tiny_steps(e)
    if tiny:
        text += _tiny_note(history, e)
    elif e["zigzag_epochs"]:
        text += (
            f" The weights zig-zagged in {e['zigzag_epochs']} epochs: the learning rate is "
            "already as large as the steepest direction of the loss allows, so a larger one "
            "would not help; more epochs will."
        )
    plain = history.settings.get("optimizer", "SGD") == "SGD" and not e["minibatch"]
    jumped = e.get("jump_any", 1.0) >= JUMP
    faster = plain and not e["zigzag_epochs"] and 1 / e["first_step_curvature"] > 2 * e["lr"]
    if (tiny or faster) and not jumped:
        advice, suggested = _larger_rate(history, e, tiny)
    else:
        why = "the loss was still falling"
        if jumped:
            why += f" (a larger rate would not help: the loss jumped by {e['jump_any']:.3g} times here)"
        advice, suggested = _longer(e, why, epochs_to_settle(history, e))
    if e.get("val_improvement", math.inf) < FLAT:  # new rows gained nothing of late
        text += (
            f" The validation loss, though, did not improve over the last {e['window']} "
            f"epochs (its lowest is {e['best_val_loss']:.4g}, at epoch {e['best_val_epoch']}): "
            "what the training rows still gain, new rows do not."
        )
        advice = (
            "nothing to change for new rows: more epochs or larger steps would fit the training "
            f"rows better, not the validation rows. To lower the training loss anyway, {advice}"
        )
        return text, capital(advice), {}
    return text, capital(advice), suggested


ADVICE: dict[str, Callable[[History, dict[str, Any]], Advice]] = {
    "diverged": diverged,
    "oscillating": oscillating,
    "overfitting": overfitting,
    "converged": converged,
    "plateaued": plateaued,
    "still_improving": still_improving,
    "slow_valley": advice_optimum.slow_valley,
    "separable": advice_optimum.separable,
}
"""The explanation and suggestion of each verdict."""
