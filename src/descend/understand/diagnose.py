"""Reading a History: how the run learned, in numbers and in plain words.

``diagnose(history)`` gives one verdict, the evidence behind it and one
concrete suggestion. The verdicts follow the theory of gradient descent on a
quadratic with curvature L: a learning rate below 1/L descends smoothly (each
update points the same way as the one before, update cosine +1); between
1/L and 2/L the loss still falls but the weights zig-zag across the minimum
(cosine -1: ``oscillating``); above 2/L the loss grows (``diverged``).

The verdict is the first of these rules (``RULES``, in this order) that holds;
the numbers are ``evidence.evidence(history)`` and the words one function per
verdict in ``advice.ADVICE``, with what else the next run must change (``follow.adjust``:
leave out a schedule that cut the rate, ``tol=None`` where Convergence stopped the run short,
nothing aimed at the training optimum for a run EarlyStopping ended):

============== ==========================================================
verdict        rule (checked in this order)
============== ==========================================================
diverged       the run stopped as diverged, the last loss is not finite, or
               the loss ended above its start and rose in over half of the
               last epochs
converged      the optimisation gap (measured, or bounded by |g|^2 / (2 mu))
               is within the run's tol, whatever path the run took (but for
               a loss without a minimum: see separable)
oscillating    the mean update cosine over the last epochs is below -0.5
oscillating    (full batch, no momentum) the loss went up in more than 20% of
               the last epochs, or (minibatches) in the last half of the run a
               loss rose to 2 times the lowest before it (by 1% of the first
               loss or more), or the weights returned are 2 times the lowest
               epoch loss of the last epochs: a loss that jumps by factors
separable      a classification loss without alpha whose minimum does not
               exist: the exact optimum is 0 (and the loss fell below half its
               start: steps that barely moved it come first), or (optimum
               unknown) the weights returned classify every training row right
               and the loss fell below 5% of its start
overfitting    the validation loss ended over 2% above its lowest while the
               training loss kept falling (by over 1e-6 of itself: a model
               at its optimum only sees new lows of float noise)
converged      the loss fell to 1e-12 of its start
slow_valley    full batch, the gap over tol, and an ill-conditioned loss
               (L / mu of 100 or more) or weights that zig-zagged
plateaued      minibatches, the gap over tol, and the loss no longer falling
still_improving  the gap (when known) is over tol
still_improving  the run did not stop as converged and the lowest loss still
               improved by 0.1% or more over the last epochs
plateaued      minibatches, and the loss bounces (the noise of the steps)
converged      flat, and minibatches with a steady loss, or (full batch) the
               gradient shrunk below 10% of its first size; never for a
               convex model (linear, logistic, softmax) whose gap is unknown
still_improving  the loss never rose over the last epochs
plateaued      anything else: flat, with a gradient that did not shrink (or a
               convex model whose gap to its optimum is unknown)
============== ==========================================================

"The last epochs" is a window of epochs // 5 epochs (at least 5, at most
50), counted after the last divergence recovery (see ``evidence``).

For a single ``nn.Linear`` trained with ``mse``, ``bce_with_logits`` or
``cross_entropy``, ``optimisation_gap`` (``understand/optimum.py``) measures the loss
reached against the exact optimum (least squares; Newton's method); ``fit`` adds it to
the diagnosis. So for these convex models ``converged`` means within tol of the optimum,
measured, and nothing less.

>>> from descend.learn.history import History
>>> h = History(loss=[0.36**k for k in range(30)], update_cosine=[float("nan")] + [-1.0] * 29)
>>> d = diagnose(h)
>>> d.verdict, d.evidence["update_cosine"]
('oscillating', -1.0)
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .._validation import NONE, InstanceOf, at_least, validate_params
from ..errors import InputError
from ..learn.history import History
from .advice import ADVICE
from .curvature import Curvature
from .evidence import (
    AT_MINIMUM,
    BOUNCE,
    FITTED,
    FLAT,
    ILL_CONDITIONED,
    JUMP,
    LEARNING,
    MOVED,
    OVERFIT,
    PERFECT,
    SEPARABLE,
    ZIGZAG,
    evidence,
)
from .follow import adjust
from .optimum import (
    GapUnknown,
    OptimisationGap,
    gap_and_note,
    linear_gap,
    linear_gap_applies,
    optimisation_gap,
)

__all__ = [
    "VERDICTS",
    "Diagnosis",
    "GapUnknown",
    "OptimisationGap",
    "diagnose",
    "gap_and_note",
    "linear_gap",
    "linear_gap_applies",
    "optimisation_gap",
]

VERDICTS = (
    "converged",
    "still_improving",
    "slow_valley",
    "oscillating",
    "diverged",
    "plateaued",
    "overfitting",
    "separable",
)


@dataclass
class Diagnosis:
    """A verdict on a run, its evidence in numbers, one suggestion and (linear models) the gap."""

    verdict: str
    evidence: dict[str, Any]
    suggestion: str
    explanation: str = ""
    gap: OptimisationGap | None = None
    suggested: dict[str, Any] = field(default_factory=dict)

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


# ----- the rules: one small function per verdict, checked in order ----------------------
Evidence = dict[str, Any]


def blew_up(h: History, e: Evidence) -> bool:
    """diverged: stopped as diverged, a loss that is not finite, or one that climbed."""
    final, initial = e["final_loss"], e["initial_loss"]
    return (
        h.stop_reason == "diverged"
        or not math.isfinite(final)
        or (final > initial and e["share_up"] > 0.5)
    )


def zig_zags(h: History, e: Evidence) -> bool:
    """oscillating: each update reverses the one before (the weights zig-zag across the
    valley, whatever the loss reached)."""
    return bool(e["update_cosine"] < ZIGZAG)


def jumps(h: History, e: Evidence) -> bool:
    """oscillating: a full-batch loss that bounces (without momentum, whose loss may rise on
    its way down), or minibatch losses that jump by a factor (or weights returned whose loss
    is a factor above the run's)."""
    plain = not e["minibatch"] and not e["momentum"]
    if plain and e["share_up"] > BOUNCE:
        return True
    return bool(e.get("jump", 1.0) >= JUMP or e.get("final_to_recent", 1.0) >= JUMP)


def overfits(h: History, e: Evidence) -> bool:
    """overfitting: the validation loss rose over its lowest while training still learned."""
    return (
        e.get("val_rise", 0.0) > OVERFIT
        and e["best_val_epoch"] < e["epochs"] - 1
        and e["train_improvement_since_best_val"] > LEARNING
    )


def separates(h: History, e: Evidence) -> bool:
    """separable: a classification loss without alpha whose minimum does not exist: the exact
    optimum is 0 (the loss falls toward it as the weights grow), or, without the optimum, the
    weights returned put every training row in its class (scaling the last layer up drives
    the loss to 0) and the loss fell below FITTED of its start."""
    if not e["classification"] or e["alpha"] > 0:
        return False
    if "gap_optimum" in e:  # and the steps got somewhere: tiny ones are the first thing to fix
        return bool(
            e["gap_optimum"] <= SEPARABLE * e["initial_loss"] and e["final_to_initial"] < MOVED
        )
    return bool(e.get("rows_separated") and e["final_to_initial"] < FITTED)


def fits_exactly(h: History, e: Evidence) -> bool:
    """converged: the loss fell to (almost) zero."""
    return bool(e["final_loss"] <= PERFECT * e["initial_loss"])


def _known_gap(e: Evidence) -> float:
    """The relative gap to the optimum: measured, or bounded by |g|^2 / (2 mu); NaN if neither."""
    gap = e.get("gap_relative", e.get("gap_bound", math.nan))
    return math.nan if gap is None else float(gap)


def within_tolerance(h: History, e: Evidence) -> bool:
    """converged: the gap to the optimum (measured, or bounded) is within the run's tol; not
    for a loss without a minimum (separable classes: the 'optimum' 0 is only approached, and
    a run past Newton's last step reads a gap of 0)."""
    return bool(_known_gap(e) <= e["tol"]) and not separates(h, e)


def crawls_in_valley(h: History, e: Evidence) -> bool:
    """slow_valley: full batch, short of the tolerance, and an ill-conditioned loss (L / mu of
    ILL_CONDITIONED or more, or weights that zig-zagged while the loss crept on)."""
    if e["minibatch"] or not _known_gap(e) > e["tol"]:
        return False
    return bool(e.get("condition_number", math.nan) >= ILL_CONDITIONED or e["zigzag_epochs"])


def noise_floor(h: History, e: Evidence) -> bool:
    """plateaued: minibatches, short of the tolerance, and the loss no longer falling."""
    short = _known_gap(e) > e["tol"]
    return bool(e["minibatch"] and short and e["recent_improvement"] < FLAT)


def short_of_tolerance(h: History, e: Evidence) -> bool:
    """still_improving: the gap is known and above the tolerance (more epochs, or a larger lr)."""
    return bool(_known_gap(e) > e["tol"])


def still_falls(h: History, e: Evidence) -> bool:
    """still_improving: the lowest loss improved over the last epochs (and tol did not stop it)."""
    return h.stop_reason != "converged" and e["recent_improvement"] >= FLAT


def bounces(h: History, e: Evidence) -> bool:
    """plateaued: minibatch steps, and the loss bounces around a level."""
    return bool(e["minibatch"] and e["share_up"] > BOUNCE)


def settled(h: History, e: Evidence) -> bool:
    """converged: flat and steady (minibatches), or flat with a gradient shrunk to a minimum's;
    never a convex model whose gap to its optimum is unknown (a flat loss can be far from it)."""
    if e.get("convex") and not math.isfinite(_known_gap(e)):
        return False
    return bool(e["minibatch"] or not e["grad_norm_ratio"] > AT_MINIMUM)  # NaN: shrunk


def steady_descent(h: History, e: Evidence) -> bool:
    """still_improving: the loss never rose in the last epochs."""
    return bool(e["share_up"] == 0)


def anything(h: History, e: Evidence) -> bool:
    """plateaued: what is left (flat, and the gradient did not shrink)."""
    return True


RULES: list[tuple[str, Callable[[History, Evidence], bool]]] = [
    ("diverged", blew_up),
    ("converged", within_tolerance),
    ("oscillating", zig_zags),
    ("oscillating", jumps),
    ("separable", separates),
    ("overfitting", overfits),
    ("converged", fits_exactly),
    ("slow_valley", crawls_in_valley),
    ("plateaued", noise_floor),
    ("still_improving", short_of_tolerance),
    ("still_improving", still_falls),
    ("plateaued", bounces),
    ("converged", settled),
    ("still_improving", steady_descent),
    ("plateaued", anything),
]
"""(verdict, rule): the verdict is the first whose rule holds. ``within_tolerance``,
``crawls_in_valley``, ``noise_floor`` and ``short_of_tolerance`` need the optimum (or the
curvature's bound): where it is known, ``converged`` means within the run's tol of it, nothing
less, and a run within it has converged whatever path it took."""


def verdict_of(history: History, e: Evidence) -> str:
    """The first verdict in RULES whose rule holds for the run."""
    return next(verdict for verdict, rule in RULES if rule(history, e))


def _facts(
    e: Evidence, gap: OptimisationGap | None, curv: Curvature | None, facts: dict[str, Any] | None
) -> None:
    """Add what the caller measured beyond the History: the gap, the curvature, and the rest."""
    if gap is not None:
        e["gap_relative"], e["gap_absolute"] = gap.relative, gap.absolute
        e["gap_optimum"] = gap.optimum
    if curv is not None:
        e["L"], e["mu"], e["condition_number"] = curv.L, curv.mu, curv.condition
        e["lr_times_L"] = e["lr"] * curv.L
        e["scale_ratio"] = curv.scale_ratio
        grad, final = e.get("last_grad_norm", math.nan), e["final_loss"]
        if curv.mu > 0 and not e["minibatch"] and "gap_relative" not in e:
            bound = grad**2 / (2 * curv.mu)  # the loss is at most this above its minimum
            e["gap_bound"] = bound / (final - bound) if final > bound else math.inf
    e.update(facts or {})


def _notes(history: History, verdict: str, e: Evidence, note: str) -> str:
    """Sentences added to every explanation: a large generalisation gap, the caller's note."""
    text = ""
    final = e["final_loss"]
    held = e.get("final_val_loss", history.val_loss[-1] if history.val_loss else math.nan)
    if verdict != "overfitting" and held > 2 * final > 0:
        text += (
            f" Note: the validation loss ({held:.4g}) is {held / final:.3g} times the training "
            "loss (both of the weights returned): the model fits the training rows far better "
            "than new ones."
        )
    if note:
        text += f" Note: {note[0].lower()}{note[1:]}"
    return text


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
    curvature: Curvature | None = None,
    facts: dict[str, Any] | None = None,
) -> Diagnosis:
    """Read a History: ``diagnose(descend.fit(model, X, y))`` -> Diagnosis (see the module doc).

    ``gap`` and ``curvature`` (``understand/optimum.py``) are what is known of the exact
    optimum; ``facts`` any other numbers measured on the model (``update_curvature``,
    ``weight_growth``), added to the evidence; ``note``: a sentence added to the
    explanation (fit: why the gap is unknown)."""
    if not history.loss:
        raise InputError("diagnose: the history has no epochs; train the model first.")
    e = evidence(history, window)
    _facts(e, gap, curvature, facts)
    verdict = verdict_of(history, e)
    text, advice, suggested = adjust(history, e, verdict, ADVICE[verdict](history, e))
    text += _notes(history, verdict, e, note)
    return Diagnosis(verdict, e, advice, text, gap, suggested)
