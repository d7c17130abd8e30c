"""Each verdict's explanation and suggestion, one function per verdict."""

import math

import pytest

from descend.learn.history import History
from descend.understand.advice import ADVICE, lr_below_one_over_l
from descend.understand.diagnose import VERDICTS
from descend.understand.evidence import evidence


def test_every_verdict_has_advice():
    assert set(ADVICE) == set(VERDICTS)


def test_one_over_l_from_the_loss_ratio_of_a_quadratic():
    # lr = 0.8 on L = 2: the loss shrinks by (1 - 1.6)^2 = 0.36 a step; 1/L = 0.5
    assert lr_below_one_over_l(0.8, 0.36) == pytest.approx(0.5)
    assert math.isnan(lr_below_one_over_l(0.8, 0.0))


def test_oscillating_advice_names_the_parameter():
    h = History(loss=[0.36**k for k in range(30)], lr=[0.8] * 30, update_cosine=[-1.0] * 30)
    text, suggestion, suggested = ADVICE["oscillating"](h, evidence(h))
    assert suggested == {"lr": 0.5}
    assert "lr=0.5 (it was 0.8)" in suggestion and "zig-zag" in text


def test_an_mlp_whose_validation_loss_stopped_improving_is_not_told_to_train_on():
    # the audit: "more epochs" to MLPs made the held-out loss worse (+34%); with validation
    # rows, the advice is judged on them
    train = [1.0 / (1 + 0.1 * k) for k in range(40)]
    val = [0.9 / (1 + 0.1 * k) for k in range(20)] + [0.9 / 3] * 20  # flat, never rising
    h = History(loss=train, val_loss=val, lr=[0.1] * 40, update_cosine=[1.0] * 40)
    h.settings = {"optimizer": "Adam", "batch_size": 16, "rows": 100}
    e = evidence(h)
    assert e["val_improvement"] == 0 and e["val_rise"] == 0
    text, suggestion, suggested = ADVICE["still_improving"](h, e)
    assert suggested == {} and suggestion.startswith("Nothing to change for new rows")
    assert "The validation loss, though, did not improve" in text
    h.val_loss = [0.9 / (1 + 0.1 * k) for k in range(40)]  # still improving: train on
    assert "epochs" in ADVICE["still_improving"](h, evidence(h))[2]
