"""What else the next run must change (understand/follow.py): each case followed, and the
outcome measured."""

import numpy as np
import pytest
from sklearn import datasets

import descend
from descend import nn
from descend.learn import schedules
from descend.learn.history import History
from descend.understand.evidence import evidence
from descend.understand.follow import adjust, schedule_cut


def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), (y - y.mean()) / y.std()


def split(X, y, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.7 * len(X))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def test_a_run_its_schedule_slowed_is_told_to_leave_it_out_and_reaches_tol():
    # the audit: the suggestion kept the schedule, and following it made the gap worse
    # (ReduceOnPlateau 0.73% -> 3.4%, StepDecay 1.8e-4 -> 7.9e-4); Exponential's follow-up was
    # told epochs=25000000000000000
    X, y = diabetes()
    for make in (
        lambda: schedules.ReduceOnPlateau(factor=0.1, patience=2),
        lambda: schedules.Exponential(gamma=0.9),
        lambda: schedules.StepDecay(step_size=20, gamma=0.5),
    ):
        settings = {"optimizer": "sgd", "lr": 0.05, "epochs": 100, "verbose": False}
        history = descend.fit(nn.Linear(10, 1, init="zeros"), X, y, schedule=make(), **settings)
        d = history.diagnosis
        assert history.settings["schedule"] == str(make())
        assert d["suggested"]["schedule"] is None and "schedule=None" in d["suggestion"]
        assert d["suggested"]["epochs"] <= 20 * 100
        model = nn.Linear(10, 1, init="zeros")
        after = descend.fit(model, X, y, **{**settings, "schedule": make(), **d["suggested"]})
        assert after.diagnosis["gap"]["relative"] <= 1e-5 < d["gap"]["relative"], make()


def test_a_stalled_run_is_told_tol_none_with_its_epochs_and_then_reaches_tol():
    # the audit: stopped 'stalled' at epoch 1158 of 1300 and told "Train for epochs=1300"
    X, y = datasets.load_wine(return_X_y=True)
    Xa, ya, _, _ = split(X, y)
    first = descend.Classifier(model="softmax", alpha=0.1, epochs=1300).fit(Xa, ya)
    history = first.history_
    d = history.diagnosis
    assert history.stop_reason == "stalled" and history.epochs < 1300
    assert d["gap"]["relative"] > 1e-5
    assert d["suggested"]["tol"] is None and "Convergence stopped this run" in d["suggestion"]
    again = descend.Classifier(model="softmax", alpha=0.1, **{"epochs": 1300, **d["suggested"]})
    after = again.fit(Xa, ya).history_
    assert after.epochs == d["suggested"]["epochs"]
    assert after.diagnosis["gap"]["relative"] <= 1e-5  # what the epochs were promised to do


def test_a_run_early_stopping_ended_is_not_sent_toward_the_training_optimum():
    # the audit: told full-batch steps for 75 epochs; following them stopped at epoch 34
    # again, with a worse training loss
    X, y = datasets.make_classification(
        300, 8, n_informative=2, n_redundant=5, flip_y=0.05, random_state=7
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    history = descend.fit(
        nn.Linear(8, 1, init="zeros"), X, y.astype(float), loss="bce_with_logits",
        optimizer="rmsprop", lr=0.01, batch_size=32, epochs=200, validation=0.2,
        callbacks=[descend.EarlyStopping(patience=5)], verbose=False,
    )  # fmt: skip
    d = history.diagnosis
    assert history.stop_reason == "early_stopping" and history.settings["restore_best_weights"]
    assert d["verdict"] in ("still_improving", "slow_valley", "plateaued")
    assert d["suggested"] == {} and d["suggestion"].startswith("Nothing to change for new rows")
    assert "EarlyStopping ended the run" in d["explanation"]


def test_the_adjustments_by_hand():
    h = History(loss=[1.0, 0.5, 0.4, 0.35, 0.33, 0.32], lr=[0.5, 0.5, 0.25, 0.25, 0.1, 0.1])
    h.settings = {"schedule": "StepDecay(step_size=2, gamma=0.5)"}
    e = evidence(h)
    assert (
        schedule_cut(h, e)
        == "the schedule StepDecay(step_size=2, gamma=0.5) cut the rate from 0.5 to 0.1"
    )
    text, words, suggested = adjust(h, e, "still_improving", ("", "train on.", {"epochs": 60}))
    assert suggested == {"epochs": 60, "schedule": None} and words.startswith("Train on.")
    assert adjust(h, e, "diverged", ("", "x", {})) == ("", "x", {})  # nothing to adjust
    h.settings = {"schedule": "Constant()"}
    h.lr = [0.5] * 6
    assert schedule_cut(h, e) == ""


@pytest.mark.parametrize(("optimizer", "nesterov"), [("nesterov", True), ("momentum", False)])
def test_the_settings_say_nesterov(optimizer, nesterov):
    # the audit: Nesterov's steps were recorded as optimizer SGD, momentum 0.9, nesterov None
    X, y = diabetes()
    history = descend.fit(nn.Linear(10, 1), X, y, optimizer=optimizer, lr=0.1, epochs=3,
                          tol=None, patience=4, verbose=False)  # fmt: skip
    assert history.settings["nesterov"] is nesterov and history.settings["momentum"] == 0.9
    assert history.settings["patience"] == 4 and history.settings["schedule"] is None
