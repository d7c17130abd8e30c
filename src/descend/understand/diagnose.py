"""Reading a History: how the run learned, in numbers and in plain words.

``diagnose(history)`` gives one verdict, the evidence behind it and one
concrete suggestion. The verdicts follow the theory of gradient descent on a
quadratic with curvature L: a learning rate below 1/L descends smoothly (each
update points the same way as the one before, update cosine +1); between
1/L and 2/L the loss still falls but the weights zig-zag across the minimum
(cosine -1: ``oscillating``); above 2/L the loss grows (``diverged``).

The verdict is the first of these rules (``RULES``, in this order) that holds;
the numbers are ``evidence.evidence(history)`` and the words one function per
verdict in ``advice.ADVICE``:

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
converged      the loss fell to 1e-12 of its start
still_improving  the run did not stop as converged and the lowest loss still
               improved by 0.1% or more over the last epochs
plateaued      minibatches, and the loss bounces (the noise of the steps)
plateaued      flat, but the optimisation gap (when known) is over 1% of the
               optimum: a long, narrow valley
converged      flat, and minibatches with a steady loss, or (full batch) the
               gradient shrunk below 10% of its first size
still_improving  the loss never rose over the last epochs
plateaued      anything else: flat, with a gradient that did not shrink
============== ==========================================================

"The last epochs" is a window of epochs // 5 epochs (at least 5, at most
50), counted after the last divergence recovery (see ``evidence``).

For a single ``nn.Linear`` trained with ``mse`` or ``bce_with_logits``,
``optimisation_gap`` (``understand/optimum.py``) measures the loss reached
against the exact optimum (least squares; Newton's method); ``fit`` adds it to
the diagnosis.

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
from .evidence import (
    AT_MINIMUM,
    BOUNCE,
    FLAT,
    GAP,
    LEARNING,
    OVERFIT,
    PERFECT,
    ZIGZAG,
    evidence,
)
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

VERDICTS = ("converged", "still_improving", "oscillating", "diverged", "plateaued", "overfitting")


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
    """oscillating: the updates reverse, or a full-batch loss that bounces."""
    return e["update_cosine"] < ZIGZAG or (not e["minibatch"] and e["share_up"] > BOUNCE)


def overfits(h: History, e: Evidence) -> bool:
    """overfitting: the validation loss rose over its lowest while training still learned."""
    return (
        e.get("val_rise", 0.0) > OVERFIT
        and e["best_val_epoch"] < e["epochs"] - 1
        and e["train_improvement_since_best_val"] > LEARNING
    )


def fits_exactly(h: History, e: Evidence) -> bool:
    """converged: the loss fell to (almost) zero."""
    return bool(e["final_loss"] <= PERFECT * e["initial_loss"])


def still_falls(h: History, e: Evidence) -> bool:
    """still_improving: the lowest loss improved over the last epochs (and tol did not stop it)."""
    return h.stop_reason != "converged" and e["recent_improvement"] >= FLAT


def bounces(h: History, e: Evidence) -> bool:
    """plateaued: minibatch steps, and the loss bounces around a level."""
    return bool(e["minibatch"] and e["share_up"] > BOUNCE)


def _settled(e: Evidence) -> bool:
    """Flat, and steady (minibatches) or with a gradient shrunk to a minimum's (full batch)."""
    return bool(e["minibatch"] or not e["grad_norm_ratio"] > AT_MINIMUM)  # NaN: shrunk


def far_from_optimum(h: History, e: Evidence) -> bool:
    """plateaued: it looks settled, but the gap to the exact optimum is over GAP of it."""
    far = e.get("gap_relative", 0.0) > GAP and e.get("gap_absolute", 0.0) > PERFECT * abs(
        e["initial_loss"]
    )
    return _settled(e) and far


def settled(h: History, e: Evidence) -> bool:
    """converged: flat and steady, or flat with a gradient shrunk to a minimum's."""
    return _settled(e)


def steady_descent(h: History, e: Evidence) -> bool:
    """still_improving: the loss never rose in the last epochs."""
    return bool(e["share_up"] == 0)


def anything(h: History, e: Evidence) -> bool:
    """plateaued: what is left (flat, and the gradient did not shrink)."""
    return True


RULES: list[tuple[str, Callable[[History, Evidence], bool]]] = [
    ("diverged", blew_up),
    ("oscillating", zig_zags),
    ("overfitting", overfits),
    ("converged", fits_exactly),
    ("still_improving", still_falls),
    ("plateaued", bounces),
    ("plateaued", far_from_optimum),
    ("converged", settled),
    ("still_improving", steady_descent),
    ("plateaued", anything),
]
"""(verdict, rule): the verdict is the first whose rule holds."""


def verdict_of(history: History, e: Evidence) -> str:
    """The first verdict in RULES whose rule holds for the run."""
    return next(verdict for verdict, rule in RULES if rule(history, e))


def _notes(history: History, verdict: str, e: Evidence, note: str) -> str:
    """Sentences added to every explanation: a large generalisation gap, the caller's note."""
    text = ""
    val, final = history.val_loss, e["final_loss"]
    if val and verdict != "overfitting" and val[-1] > 2 * final > 0:
        text += (
            f" Note: the validation loss ({val[-1]:.4g}) is {val[-1] / final:.3g} times the "
            "training loss: the model fits the training rows far better than new ones."
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
) -> Diagnosis:
    """Read a History: ``diagnose(descend.fit(model, X, y))`` -> Diagnosis (see the module doc).

    ``note``: a sentence added to the explanation (fit: why the gap is unknown)."""
    if not history.loss:
        raise InputError("diagnose: the history has no epochs; train the model first.")
    e = evidence(history, window)
    if gap is not None:
        e["gap_relative"], e["gap_absolute"] = gap.relative, gap.absolute
    verdict = verdict_of(history, e)
    text, advice, suggested = ADVICE[verdict](history, e)
    text += _notes(history, verdict, e, note)
    return Diagnosis(verdict, e, advice, text, gap, suggested)
