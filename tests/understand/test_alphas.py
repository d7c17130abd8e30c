"""alpha chosen by copies compared on held-out rows (understand/alphas.py): the advice of the
separable and overfitting verdicts, followed and measured on rows neither run saw."""

import numpy as np
from sklearn import datasets

import descend
from descend import nn
from descend.understand.alphas import GAIN, PREFIX, best_alpha


def split(X, y, seed=0):
    """70% to train on, 30% that no run sees, standardised by the 70%."""
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.7 * len(X))
    Xa, Xb = X[order[:cut]], X[order[cut:]]
    mean, scale = Xa.mean(axis=0), np.where(Xa.std(axis=0) > 0, Xa.std(axis=0), 1.0)
    return (Xa - mean) / scale, y[order[:cut]], (Xb - mean) / scale, y[order[cut:]]


def follow(make, Xa, ya, Xb, yb, loss, settings):
    """(diagnosis, held-out loss before, held-out loss after following its suggestion)."""
    model = make()
    d = descend.fit(model, Xa, ya, loss=loss, verbose=False, **settings()).diagnosis
    again = make()
    descend.fit(again, Xa, ya, loss=loss, verbose=False, **{**settings(), **d["suggested"]})
    before, after = (descend.evaluate_loss(m, Xb, yb, loss) for m in (model, again))
    return d, before, after


def test_overfitting_whose_best_weights_were_restored_is_told_an_alpha_that_helps_new_rows():
    # the audit: "Train for epochs=12 ... or add EarlyStopping(restore_best_weights=True)" to
    # a run that had both: the same weights again
    Xa, ya, Xb, yb = split(*datasets.load_iris(return_X_y=True))
    settings = lambda: {  # noqa: E731
        "optimizer": "sgd", "lr": 0.3, "epochs": 200, "batch_size": 8, "validation": 0.2,
        "callbacks": [descend.EarlyStopping(patience=10, restore_best_weights=True)],
    }  # fmt: skip
    make = lambda: nn.MLP([4, 16, 3], seed=0)  # noqa: E731
    d, before, after = follow(make, Xa, ya, Xb, yb, "cross_entropy", settings)
    assert d["verdict"] == "overfitting" and "EarlyStopping put them back" in d["explanation"]
    assert "epochs" not in d["suggested"] and d["suggested"]["alpha"] > 0
    assert d["evidence"]["held_out_folds"] == 0  # measured on the run's validation rows
    assert after < (1 - GAIN) * before, (before, after, d["suggestion"])


def test_separable_classes_are_told_the_alpha_that_did_best_on_held_out_rows_and_it_does():
    # the audit: alpha = 1/rows followed made the held-out loss worse in 8 of 15 cases
    Xa, ya, Xb, yb = split(*datasets.load_breast_cancer(return_X_y=True))
    ya, yb = ya.astype(float), yb.astype(float)
    settings = lambda: {"optimizer": "sgd", "lr": 0.5, "epochs": 50, "batch_size": 32}  # noqa: E731
    make = lambda: nn.MLP([30, 16, 1], seed=0)  # noqa: E731
    d, before, after = follow(make, Xa, ya, Xb, yb, "bce_with_logits", settings)
    assert d["verdict"] == "separable" and d["evidence"]["held_out_folds"] == 3
    alpha, promised = best_alpha(d["evidence"])
    assert d["suggested"] == {"alpha": alpha} and f"alpha={alpha:g}" in d["suggestion"]
    assert promised < (1 - GAIN) * d["evidence"]["held_out_of_run"]
    assert after < (1 - GAIN) * before, (before, after, d["suggestion"])


def test_separable_classes_no_alpha_helps_are_told_nothing_to_change_and_none_does():
    X, y = datasets.load_iris(return_X_y=True)
    Xa, ya, Xb, yb = split(X[y > 0], (y[y > 0] == 2).astype(float))
    settings = {"loss": "bce_with_logits", "optimizer": "adagrad", "lr": 0.5, "epochs": 300}
    model = nn.Linear(4, 1, init="zeros")
    d = descend.fit(model, Xa, ya, verbose=False, **settings).diagnosis
    assert d["verdict"] == "separable" and d["suggested"] == {}
    assert d["suggestion"].startswith("Nothing to change for new rows")
    tried = [float(k[len(PREFIX) :]) for k in d["evidence"] if k.startswith(PREFIX)]
    assert len(tried) == 4
    held = descend.evaluate_loss(model, Xb, yb, "bce_with_logits")
    for alpha in tried:  # on rows no run saw, none of them does better by GAIN either
        again = nn.Linear(4, 1, init="zeros")
        descend.fit(again, Xa, ya, verbose=False, **settings, alpha=alpha)
        assert descend.evaluate_loss(again, Xb, yb, "bce_with_logits") > (1 - GAIN) * held, alpha
