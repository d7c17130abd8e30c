"""Tests for descend.understand.advice_optimum: the epochs suggested where the exact optimum is
known, from theory (plain and Nesterov steps on the curvature) and from the run's own pace,
checked by running those epochs on a quadratic whose L and mu are known."""

from __future__ import annotations

import math

import pytest

from descend.learn.history import History
from descend.understand.advice_optimum import (
    MARGIN,
    epochs_at_own_pace,
    gap_of,
    knows_optimum,
    theory_epochs,
)

L, MU, OPTIMUM, TOL = 2.0, 0.02, 1.0, 1e-5
START = 100.0  # the gap at the start, all of it along the flattest direction


def gap_after(epochs: int, lr: float, beta: float = 0.0) -> float:
    """The gap of f* + (L a^2 + mu b^2) / 2 after ``epochs`` steps of (Nesterov's) gradient
    descent from a gap of START along b (PyTorch's rule: v = beta v + g, x -= lr (g + beta v))."""
    x = [0.0, math.sqrt(2 * START / MU)]
    v = [0.0, 0.0]
    for _ in range(epochs):
        for i, c in enumerate((L, MU)):
            g = c * x[i]
            v[i] = beta * v[i] + g
            x[i] -= lr * (g + beta * v[i] if beta else g)
    return (L * x[0] ** 2 + MU * x[1] ** 2) / 2


EVIDENCE = {"gap_optimum": OPTIMUM, "L": L, "mu": MU, "initial_loss": OPTIMUM + START, "tol": TOL}


@pytest.mark.parametrize(
    ("lr", "beta", "most"),
    [(1 / L, 0.0, 1.6), (0.9 * 2 / (L + MU), 0.0, 1.6), (1 / L, 0.9, 2.5)],  # sqrt(beta): a bound
)
def test_the_epochs_from_theory_take_the_gap_below_tol_and_are_not_many_more(lr, beta, most):
    epochs = theory_epochs(EVIDENCE, lr, beta)
    assert gap_after(math.ceil(epochs), lr, beta) <= TOL * OPTIMUM
    needed = next(t for t in range(1, 10**5) if gap_after(t, lr, beta) <= TOL * OPTIMUM)
    assert needed <= epochs <= most * needed


def test_no_epochs_from_theory_without_a_curvature_or_for_a_rate_that_diverges():
    assert math.isnan(theory_epochs({**EVIDENCE, "mu": math.nan}, 0.5))
    assert math.isnan(theory_epochs(EVIDENCE, 1.5))  # |1 - 1.5 L| = 2: the gap grows
    assert math.isnan(theory_epochs({**EVIDENCE, "gap_optimum": 0.0}, 0.5))


def own_pace(ratio: float, epochs: int = 10, **changes) -> tuple[History, dict]:
    loss = [OPTIMUM + START * ratio**t for t in range(epochs)]
    e = {"gap_optimum": OPTIMUM, "minibatch": False, "window": 5, "epochs": epochs, "tol": TOL,
         "gap_relative": (loss[-1] - OPTIMUM) / OPTIMUM, **changes}  # fmt: skip
    return History(loss=loss), e


def test_the_runs_own_pace_gives_the_epochs_at_which_its_gap_reaches_tol():
    history, e = own_pace(0.5)
    gap = START * 0.5**9  # the relative gap at the last epoch (f* = 1)
    expected = 10 + MARGIN * math.log(gap / TOL) / math.log(2)
    assert epochs_at_own_pace(history, e) == pytest.approx(expected, rel=1e-12)
    assert START * 0.5 ** (expected - 1) <= TOL  # at that pace, the gap is within tol by then


def test_no_pace_for_minibatches_a_gap_that_grows_or_one_within_tol_already():
    assert math.isnan(epochs_at_own_pace(*own_pace(0.5, minibatch=True)))
    assert math.isnan(epochs_at_own_pace(*own_pace(1.1)))
    assert math.isnan(epochs_at_own_pace(*own_pace(0.5, gap_relative=TOL / 2)))


def test_the_gap_is_the_measured_one_or_else_the_gradient_bound():
    assert gap_of({"gap_relative": 0.01, "gap_bound": 0.5}) == 0.01
    assert gap_of({"gap_bound": 0.5}) == 0.5
    assert math.isnan(gap_of({})) and not knows_optimum({})
    assert knows_optimum({"gap_bound": 0.5})
