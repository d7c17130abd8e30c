"""The next run: what a suggestion must also change so that following it does what it says.

A suggestion is settings for the next run, which keeps the run's other settings. Three of
those can undo it, and ``adjust`` (which ``diagnose`` applies to every verdict's advice)
changes them too, and says why:

- a schedule that cut the rate (to half or less): the epochs and steps suggested are for a
  constant rate, and the cut rate is what slowed the run, so ``schedule=None``;
- Convergence, which stopped this run short of converged (``stalled``), or would stop the
  next one short of the gap the epochs were counted for (its rule, an improvement below tol
  per epoch, holds while the gap is still above tol): more epochs of the same steps come with
  ``tol=None`` (the run trains all its epochs);
- EarlyStopping, which ended the run where the validation loss stopped improving: such a
  run does not aim at the training optimum, and advice that does (more epochs, a larger
  rate, other steps) would fit the training rows better, not new ones. It says so and
  suggests nothing.

>>> from descend.learn.history import History
>>> from descend.understand.evidence import evidence
>>> h = History(loss=[1.0, 0.5, 0.4, 0.35, 0.33, 0.32], stop_reason="stalled")
>>> adjust(h, evidence(h), "still_improving", ("", "Train for epochs=60.", {"epochs": 60}))[2]
{'epochs': 60, 'tol': None}
"""

from __future__ import annotations

import math
from typing import Any

from ..learn.history import History
from .phrases import capital

Advice = tuple[str, str, dict[str, Any]]

AIMS_AT_OPTIMUM = ("still_improving", "slow_valley", "plateaued")
"""The verdicts whose advice aims at the training optimum (or a lower training loss)."""
CUT = 0.5
"""A schedule whose rate ended at this share of its largest (or less) cut it."""


def schedule_cut(history: History, e: dict[str, Any]) -> str:
    """'the schedule StepDecay(step_size=20, gamma=0.5) cut the rate from 0.5 to 0.0039' when
    the run's schedule cut the rate to CUT of its largest or less over the analysed epochs
    (after the last recovery); '' otherwise."""
    name = history.settings.get("schedule")
    rates = [r for r in history.lr[e["analysed_from_epoch"] :] if math.isfinite(r) and r > 0]
    if not name or len(rates) < 2 or not rates[-1] <= CUT * max(rates):
        return ""
    return f"the schedule {name} cut the rate from {max(rates):.3g} to {rates[-1]:.3g}"


def _early_stopped(history: History, e: dict[str, Any], advice: Advice) -> Advice:
    """Advice aimed at the training optimum, for a run EarlyStopping ended: say so instead."""
    text, words, _ = advice
    text += (
        f" EarlyStopping ended the run at epoch {e['epochs'] - 1}, where the validation loss "
        "had stopped improving, and returned the weights that did best on those held-out rows. "
        "Such a run does not aim at the training optimum: more epochs or other steps toward it "
        "would fit the training rows better, not new ones."
    )
    other = words[0].lower() + words[1:]
    suggestion = (
        "Nothing to change for new rows. To reach the training optimum all the same, leave "
        f"out EarlyStopping and {other}"
    )
    return text, suggestion, {}


def adjust(history: History, e: dict[str, Any], verdict: str, advice: Advice) -> Advice:
    """The advice, with what else the next run must change: see the module docstring."""
    if history.stop_reason == "early_stopping" and verdict in AIMS_AT_OPTIMUM:
        return _early_stopped(history, e, advice)
    text, words, suggested = advice
    if verdict not in AIMS_AT_OPTIMUM or not {"epochs", "lr", "optimizer"} & set(suggested):
        return advice
    cut = schedule_cut(history, e)
    if cut:
        suggested = {**suggested, "schedule": None}
        words += (
            f" Leave out the schedule (schedule=None): {cut}, which is what slowed the run; "
            "the settings above are for a constant rate."
        )
    if "epochs" in suggested and not {"optimizer", "batch_size"} & set(suggested):
        why = _convergence_stops(history, e, verdict)
        if why:
            suggested = {**suggested, "tol": None}
            words += f" Pass tol=None as well: {why}"
    return text, capital(words), suggested


def _convergence_stops(history: History, e: dict[str, Any], verdict: str) -> str:
    """Why Convergence would stop more epochs of the same steps short of the optimum ('' when
    it would not): it stopped this run so (``stalled``), or the suggestion aims at a gap
    within tol, which a loss improving by less than tol a epoch reaches only after Convergence
    gives up (linear regression in full batch excepted: its rule is the gradient bound)."""
    tol, patience = e["tol"], history.settings.get("patience", 10)
    rule = f"the loss improves by less than tol={tol:g} per epoch for {patience} epochs"
    stalled = history.stop_reason in ("stalled", "converged")  # fit marks it stalled after this
    if stalled:
        return (
            f"Convergence stopped this run at epoch {e['epochs'] - 1}, once {rule}, short of "
            "converged; it would stop the next run there too."
        )
    bound = history.settings.get("loss") == "mse" and not e["minibatch"]
    if verdict in AIMS_AT_OPTIMUM and math.isfinite(e.get("gap_relative", math.nan)) and not bound:
        return (
            f"Convergence stops a run once {rule}, and at this pace that happens while the gap "
            "is still above tol (a gap falling by a share c per epoch improves the loss by "
            "about c times the gap)."
        )
    return ""
