"""The numbers of a diagnosis, read from hand-made Histories."""

import math

import pytest

from descend.learn.history import History
from descend.understand.evidence import evidence, geometric_ratio, window_size

NAN = math.nan


def test_window_is_a_fifth_of_the_epochs_between_5_and_50():
    assert [window_size(n, None) for n in (3, 30, 100, 1000)] == [5, 6, 20, 50]
    assert window_size(1000, 7) == 7


def test_geometric_ratio_of_a_halving_sequence():
    assert geometric_ratio([8.0, 4.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert math.isnan(geometric_ratio([1.0]))


def test_evidence_counts_rises_and_reads_the_update_cosine():
    loss = [1.0, 0.5, 0.6, 0.4, 0.45, 0.3, 0.35]
    cosine = [NAN, -1.0, -1.0, -0.5, -1.0, -1.0, -0.5]
    e = evidence(History(loss=loss, update_cosine=cosine, grad_norm=[1.0] * 7), window=5)
    assert e["share_up"] == pytest.approx(3 / 5)  # 0.5 -> 0.6, 0.4 -> 0.45, 0.3 -> 0.35
    assert e["update_cosine"] == pytest.approx(-4.0 / 5)  # the last five epochs
    assert e["zigzag_epochs"] == 4
    assert e["final_to_initial"] == pytest.approx(0.35)


def test_evidence_starts_after_the_last_recovery():
    h = History(loss=[1.0, 100.0, 1.0, 0.5, 0.25, 0.125])
    h.events.append({"epoch": 1, "event": "recovered", "lr": 1.0})
    e = evidence(h)
    assert e["analysed_from_epoch"] == 2 and e["recoveries"] == 1
    assert e["loss_ratio"] == pytest.approx(0.5)


def test_a_first_epoch_that_blew_up_sets_no_threshold():
    # thresholds relative to the first loss came from 1.26e17, the epoch before the recovery
    h = History(loss=[1e17, 2.0, 1.0, 0.5, 0.25, 0.125, 0.2, 0.1])
    h.events.append({"epoch": 0, "event": "recovered", "lr": 2.0})
    e = evidence(h)
    assert e["initial_loss"] == 2.0 and e["first_loss"] == 1e17
    assert e["final_to_initial"] == pytest.approx(0.05)
    assert e["share_up"] > 0  # 0.125 -> 0.2 rose by far more than 1e-10 of 2.0


def test_a_recovered_mlp_that_still_jumps_is_not_converged_and_its_advice_helps():
    import numpy as np
    from sklearn import datasets

    import descend
    from descend import nn

    X, y = datasets.load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    settings = {
        "loss": "cross_entropy", "optimizer": "sgd", "lr": 20.0, "batch_size": 16,
        "epochs": 50, "recover": True, "verbose": False,
    }  # fmt: skip
    model = nn.MLP([4, 16, 3], seed=0)
    history = descend.fit(model, X, y, **settings)
    d = history.diagnosis
    assert history.loss[0] > 1e15 and history.events[0]["event"] == "recovered"
    assert d["verdict"] != "converged", d["explanation"]  # was: 'fits the data exactly'
    again = nn.MLP([4, 16, 3], seed=0)
    descend.fit(again, X, y, **{**settings, **d["suggested"]})
    before = descend.evaluate_loss(model, X, y, "cross_entropy")
    after = descend.evaluate_loss(again, X, y, "cross_entropy")
    assert np.isfinite(after) and after < 0.8 * before, (before, after, d["suggestion"])
