"""Tests for descend.understand.phrases: numbers a person would type, and the phrases every
explanation of a verdict starts from."""

import math

from descend.learn.history import History
from descend.understand.evidence import evidence
from descend.understand.phrases import Phrases, capital, nice, round_down, round_up


def test_rounding_for_a_person():
    assert nice(0.123456) == 0.12 and round_down(0.5371) == 0.53 and round_up(684.2) == 690
    assert round_down(0.4999999997) == 0.5


def test_two_significant_digits_leave_what_is_not_a_positive_number_alone():
    assert nice(1234.0) == 1200.0 and nice(0.0) == 0.0 and math.isinf(nice(math.inf))
    assert round_up(7.01) == 8 and round_up(12345) == 13000
    assert round_down(0.0996) == 0.099 and capital("lr=0.1 is too large") == "Lr=0.1 is too large"


def test_a_falling_loss_is_said_as_a_share_of_where_it_started():
    h = History(loss=[2.0, 1.0, 0.5, 0.25], lr=[0.1] * 4, update_cosine=[math.nan, 1.0, 1.0, 1.0])
    h.final_loss = 0.125
    say = Phrases.of(evidence(h))
    assert say.fell == "The loss went from 2 to 0.125 in 4 epochs (6.25% of where it started)"
    assert say.last == "over the last 3 epochs"
    assert say.moves == (
        "the update cosine averaged +1.00 (each step went the same way as the one before)"
    )
    assert say.recovered == ""


def test_a_minibatch_run_names_both_of_its_losses_and_a_zigzag():
    settings = {"batch_size": 4, "rows": 100, "alpha": 0.1}
    h = History(loss=[2.0, 3.0], lr=[0.1] * 2, update_cosine=[math.nan, -1.0], settings=settings)
    say = Phrases.of(evidence(h))
    assert say.fell == (
        "The loss (with its L2 penalty) went from 2 (an epoch's mean over its "
        "minibatches) to 3 (all the training rows, at the weights returned) in 2 epochs "
        "(1.5 times where it started)"
    )
    assert say.moves == "the update cosine averaged -1.00 (each step reversed the one before)"


def test_a_recovery_is_said_with_the_epoch_the_analysis_starts_from():
    h = History(
        loss=[2.0, 3.0, 1.0, 0.5], lr=[0.1] * 4, update_cosine=[math.nan, -1.0, 0.2, 0.1],
        events=[{"epoch": 1, "event": "recovered", "loss": 3.0, "lr": 0.1, "new_lr": 0.01}],
    )  # fmt: skip
    say = Phrases.of(evidence(h))
    assert say.recovered == " after 1 divergence recovery (analysed from epoch 2)"
    assert say.moves == "the update cosine averaged +0.10"  # neither way: no words added
