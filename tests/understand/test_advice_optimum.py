"""The advice of runs whose optimum is known (understand/advice_optimum.py), followed."""

import math

import numpy as np
from sklearn import datasets

import descend
from descend import nn
from descend.learn.history import History
from descend.understand.advice_optimum import CAP, epochs_at_own_pace
from descend.understand.evidence import evidence


def test_standardising_comes_with_lr_auto_and_following_both_reaches_the_optimum():
    # the audit: "standardise" alone kept the old rate, which was for the old scales: worse in
    # 3 of 3 runs (adagrad at lr 1 on diabetes' raw columns: 3483 -> 17434)
    X, y = datasets.load_diabetes(return_X_y=True, scaled=False)
    A = np.c_[X, np.ones(len(X))]
    best = np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2)
    settings = {"optimizer": "adagrad", "epochs": 300, "verbose": False}
    model = nn.Linear(10, 1, init="zeros")
    d = descend.fit(model, X, y, lr=1.0, **settings).diagnosis
    assert d["verdict"] == "slow_valley" and d["suggested"] == {"standardize": True, "lr": "auto"}
    Z = (X - X.mean(axis=0)) / X.std(axis=0)  # what standardize=True does to the columns
    again = nn.Linear(10, 1, init="zeros")
    descend.fit(again, Z, y, lr="auto", **settings)
    before = descend.evaluate_loss(model, X, y)
    after = descend.evaluate_loss(again, Z, y)
    assert after < 0.9 * before and after < 1.01 * best, (before, after, best)


def pace(gaps, optimum=1.0, tol=1e-5):
    """A full-batch History whose loss is optimum (1 + gap) at the start of each epoch, the last
    gap the weights returned (after the last epoch's step), with its evidence."""
    h = History(loss=[optimum * (1 + g) for g in gaps[:-1]], lr=[0.1] * (len(gaps) - 1))
    h.final_loss = optimum * (1 + gaps[-1])
    e = evidence(h)
    e.update(gap_optimum=optimum, gap_relative=gaps[-1], tol=tol)
    return h, e


def test_the_own_pace_is_exact_for_a_steady_rate_and_slows_as_the_gap_slows():
    steady = [0.1 * 0.97**t for t in range(101)]  # the gap falls by 0.97 an epoch
    h, e = pace(steady)
    needed = 100 + math.log(steady[-1] / 1e-5) / -math.log(0.97)  # epochs to reach tol
    assert needed < epochs_at_own_pace(h, e) <= 100 + 1.3 * (needed - 100)
    slowing = [1 / (1 + t) for t in range(101)]  # as 1 / t: the linear estimate falls short
    h, e = pace(slowing, tol=2e-3)
    total = epochs_at_own_pace(h, e)  # 1 / (1 + t) reaches 2e-3 at t = 499
    assert 499 < total < 100 + 1.3 * 399, total
    h, e = pace(slowing, tol=1e-5)  # at t = 99999: beyond CAP times the epochs run
    assert math.isnan(epochs_at_own_pace(h, e)) and CAP * 100 < 99_999
