"""Tests for descend.train: fit, the facade that checks its arguments, holds out the
validation rows, trains, prints and diagnoses; against the lesson's own loop."""

import warnings

import numpy as np
import pytest

import descend
from descend import nn
from descend.datasets import load_patients
from descend.errors import InputError
from descend.train import ConvergenceWarning


def standardised_patients():
    X, y, _ = load_patients()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def lesson_train(X_train, y_train, learning_rate=0.01, epochs=100):
    """The lesson's loop, as written there (printing left out)."""
    n_features = X_train.shape[1]
    weights = np.zeros(n_features)
    bias = 0.0
    losses = []
    for _epoch in range(epochs):
        predictions = X_train @ weights + bias
        errors = predictions - y_train
        loss = np.mean(errors**2)
        losses.append(loss)
        grad_w = (2 / len(y_train)) * (X_train.T @ errors)
        grad_b = (2 / len(y_train)) * np.sum(errors)
        weights -= learning_rate * grad_w
        bias -= learning_rate * grad_b
    return weights, bias, losses


@pytest.mark.parametrize("block_size", [None, 7, 64])
def test_fit_reproduces_the_lessons_loop(block_size):
    X, y = standardised_patients()
    weights, bias, losses = lesson_train(X, y, 0.01, 100)
    model = nn.Linear(3, 1, init="zeros")
    history = descend.fit(
        model, X, y, lr=0.01, epochs=100, tol=None, verbose=False, block_size=block_size
    )
    np.testing.assert_allclose(history.loss, losses, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.weight.data.ravel(), weights, rtol=0, atol=1e-10)
    assert model.bias.data[0] == pytest.approx(bias, abs=1e-10)
    assert history.stop_reason == "max_epochs"


def test_linear_regression_reaches_least_squares():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.7 + rng.normal(0, 0.1, size=300)
    exact = np.linalg.lstsq(np.c_[X, np.ones(300)], y, rcond=None)[0]
    model = nn.Linear(4, 1, init="zeros")
    descend.fit(model, X, y, lr=0.3, epochs=400, tol=None, verbose=False)
    np.testing.assert_allclose(model.weight.data.ravel(), exact[:4], atol=1e-6)
    assert model.bias.data[0] == pytest.approx(exact[4], abs=1e-6)


def test_logistic_regression_reaches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    logits = X @ np.array([1.0, -2.0, 0.5]) - 0.3
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-logits))).astype(float)
    reference = sklearn.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    model = nn.Linear(3, 1, init="zeros")
    descend.fit(model, X, y, loss="bce_with_logits", lr=2.0, epochs=3000, tol=None, verbose=False)
    np.testing.assert_allclose(model.weight.data.ravel(), reference.coef_.ravel(), atol=1e-3)
    assert model.bias.data[0] == pytest.approx(reference.intercept_[0], abs=1e-3)


def spirals(n_per_class=150, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1, n_per_class)
        t = np.linspace(k * 4, (k + 1) * 4, n_per_class) + rng.normal(0, 0.1, n_per_class)
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n_per_class, k))
    return np.concatenate(X), np.concatenate(y)


def accuracy(model, X, y):
    with descend.no_grad():
        return float((model(X).data.argmax(axis=1) == y).mean())


def test_mlp_learns_spirals():
    X, y = spirals()
    model = nn.MLP([2, 64, 64, 3], seed=0)
    descend.fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=300,
        batch_size=64,
        verbose=False,
        tol=None,
    )
    assert accuracy(model, X, y) >= 0.97


def test_softmax_model_on_blobs_and_mlp_on_moons():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_blobs(n_samples=600, centers=4, cluster_std=0.6, random_state=0)
    softmax = nn.Linear(2, 4, seed=0)
    descend.fit(
        softmax, X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=200, verbose=False
    )
    assert accuracy(softmax, X, y) >= 0.97
    X, y = datasets.make_moons(n_samples=500, noise=0.1, random_state=0)
    mlp = nn.MLP([2, 32, 32, 2], seed=1)
    descend.fit(
        mlp,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=200,
        batch_size=32,
        verbose=False,
    )
    assert accuracy(mlp, X, y) >= 0.97


def test_divergence_with_a_huge_learning_rate_stops_with_finite_weights(capsys):
    X, y, _ = load_patients()
    model = nn.Linear(3, 1, init="zeros")
    history = descend.fit(model, X, y, lr=10.0, epochs=100, verbose=True)
    assert history.stop_reason == "diverged"
    assert history.epochs <= 5
    assert np.isfinite(model.weight.data).all() and np.isfinite(model.bias.data).all()
    np.testing.assert_array_equal(model.weight.data, 0.0)  # the last good weights: the start
    assert "learning rate 10 is too large" in history.stop_message
    suggested = history.diagnosis["suggested"]["lr"]
    assert f"Try lr={suggested:g}, as the diagnosis suggests." in history.stop_message
    text = history.diagnosis["explanation"]  # the blow-up, and the loss of the weights returned
    assert f"to {history.loss[-1]:.4g} in {history.epochs} epochs; the weights returned" in text
    assert f"(loss {history.final_loss:.4g})" in text
    assert "diverged" in capsys.readouterr().out


def test_same_seed_same_history_and_weights_bit_for_bit():
    X, y = spirals(60)
    runs = []
    for _ in range(2):
        model = nn.MLP([2, 16, 3], seed=4)
        h = descend.fit(
            model,
            X,
            y,
            loss="cross_entropy",
            optimizer="adam",
            lr=0.01,
            epochs=5,
            batch_size=16,
            seed=9,
            verbose=False,
        )
        runs.append((h.loss, h.grad_norm, [p.data.copy() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    for a, b in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(a, b)


def test_log_lines_are_the_lessons(capsys):
    X, y = standardised_patients()
    descend.fit(nn.Linear(3, 1, init="zeros"), X, y, lr=0.01, epochs=25, tol=None, log_every=10)
    out = capsys.readouterr().out.splitlines()
    _, _, losses = lesson_train(X, y, 0.01, 25)
    # the lesson's numbers, named: the loss of all the rows (not a mean over minibatches)
    assert out[0] == f"Epoch   0: loss = {losses[0]:.4f} (all rows)"
    assert out[1] == f"Epoch  10: loss = {losses[10]:.4f} (all rows)"
    assert out[3] == f"Epoch  24: loss = {losses[24]:.4f} (all rows)"
    assert out[4].startswith("Stopped: max_epochs.")
    assert out[5].startswith("Diagnosis: still_improving.")  # the diagnosis follows
    assert any(line.startswith("Suggestion: ") for line in out[6:])


def test_validation_fraction_and_tuple():
    X, y = standardised_patients()
    h = descend.fit(nn.Linear(3, 1), X, y, lr=0.05, epochs=20, validation=0.25, verbose=False)
    assert h.settings["rows"] == 150 and h.settings["validation_rows"] == 50
    assert len(h.val_loss) == h.epochs
    model = nn.Linear(3, 1)
    h = descend.fit(
        model, X[:150], y[:150], lr=0.05, epochs=5, validation=(X[150:], y[150:]), verbose=False
    )
    expected = descend.losses.mse(model(X[150:]), y[150:]).item()
    assert h.val_loss[-1] == pytest.approx(expected, rel=1e-12)


def test_max_epochs_warns_what_to_change():
    X, y = standardised_patients()
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 epochs"):
        h = descend.fit(nn.Linear(3, 1), X, y, lr=0.001, epochs=3, verbose=False)
    assert h.stop_reason == "max_epochs"


def test_minibatch_sgd_with_sample_weights_counts_rows_once():
    X, y = standardised_patients()
    w = np.ones(len(y))
    h1 = descend.fit(
        nn.Linear(3, 1, init="zeros"),
        X,
        y,
        lr=0.01,
        epochs=3,
        batch_size=32,
        verbose=False,
        tol=None,
    )
    h2 = descend.fit(
        nn.Linear(3, 1, init="zeros"),
        X,
        y,
        lr=0.01,
        epochs=3,
        batch_size=32,
        verbose=False,
        tol=None,
        sample_weight=w,
    )
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, r"'epochs' parameter of fit must be an int in \[1, inf\)"),
        ({"lr": -0.1}, r"'lr' parameter of fit must be a float in \(0, inf\)"),
        ({"batch_size": 0}, "'batch_size' parameter of fit"),
        ({"validation": "yes"}, "'validation' parameter of fit"),
        ({"loss": "hinge"}, "Unknown loss 'hinge'"),
        ({"clip_norm": -1}, "'clip_norm' parameter of fit"),
        (
            {"callbacks": [print]},
            r"'callbacks' parameter of fit must be a list of descend\.callbacks",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    X, y = standardised_patients()
    with pytest.raises(InputError, match=message):
        descend.fit(nn.Linear(3, 1), X, y, verbose=False, **kwargs)


def test_mismatched_rows_are_an_error():
    with pytest.raises(InputError, match="X has 4 rows but y has 3"):
        descend.fit(nn.Linear(1, 1), np.ones((4, 1)), np.ones(3), verbose=False)


def test_no_warning_when_converged():
    X, y = standardised_patients()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = descend.fit(nn.Linear(3, 1), X, y, lr=0.3, epochs=5000, verbose=False)
    assert h.stop_reason == "converged"


def test_final_loss_is_the_loss_of_the_returned_weights():
    X, y = standardised_patients()
    model = nn.Linear(3, 1, init="zeros")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        h = descend.fit(model, X, y, lr=0.05, epochs=5, verbose=False)
    returned = descend.train.evaluate_loss(model, X, y)
    assert h.final_loss == pytest.approx(returned, rel=1e-12)
    assert h.final_loss < h.loss[-1]  # full batch: loss[-1] is before the last update
    assert f"to {h.final_loss:.4g} in 5 epochs" in h.diagnosis["explanation"]


def test_a_last_update_that_diverges_is_undone_and_reported(capsys):
    model = nn.Linear(1, 1, bias=False, init="zeros")
    X, y = np.array([[1.0], [-1.0]]), np.array([1.0, -1.0])  # mse (w - 1)^2
    h = descend.fit(model, X, y, lr=1000.0, epochs=1, verbose=True)
    assert h.loss == [1.0]
    assert h.stop_reason == "diverged" and "last update" in h.stop_message
    assert model.weight.data.ravel().tolist() == [0.0]  # the initial weights, put back
    assert h.final_loss == 1.0
    assert h.diagnosis["verdict"] == "diverged"
    assert h.events[-1]["event"] == "diverged" and h.events[-1]["lr"] == 1000.0
    assert "Stopped: diverged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation": 1.0}, r"'validation' parameter of fit must be a fraction in \(0, 1\)"),
        ({"sample_weight": np.zeros(200)}, "sample_weight must be >= 0 with a positive sum"),
        ({"sample_weight": np.ones(3)}, "sample_weight has 3; give one weight per row"),
    ],
)
def test_bad_validation_and_weights_are_named(kwargs, message):
    X, y = standardised_patients()
    with pytest.raises(InputError, match=message):
        descend.fit(nn.Linear(3, 1), X, y, verbose=False, **kwargs)


def test_the_gap_is_left_out_for_large_data_with_a_note(monkeypatch):
    X, y = standardised_patients()
    monkeypatch.setattr(descend.understand.runs, "GAP_MAX_VALUES", 100)
    h = descend.fit(nn.Linear(3, 1), X, y, lr=0.1, epochs=50, verbose=False)
    assert h.diagnosis["gap"] is None
    assert "descend.optimisation_gap(model, X, y)" in str(h.diagnosis)
    monkeypatch.setattr(descend.understand.runs, "GAP_MAX_VALUES", 10_000)
    h = descend.fit(nn.Linear(3, 1), X, y, lr=0.1, epochs=50, verbose=False)
    assert h.diagnosis["gap"]["optimum"] == pytest.approx(0.0222842, rel=1e-5)


def test_minibatch_epoch_loss_is_weighted_by_the_sample_weights():
    X, y = standardised_patients()
    w = np.linspace(0.1, 3.0, len(y))
    kwargs = {"lr": 1e-12, "epochs": 1, "tol": None, "verbose": False, "sample_weight": w}
    mini = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, batch_size=16, **kwargs)
    full = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, **kwargs)
    assert mini.loss[0] == pytest.approx(full.loss[0], rel=1e-9)


def test_rows_in_blocks_that_cannot_split_themselves_take_validation_rows_not_a_fraction():
    from descend.learn.blocks import ArrayBlocks

    class Rows:  # rows in blocks from somewhere else: no split of their own
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

    X, y = standardised_patients()
    rows = Rows(ArrayBlocks(X, y))
    with pytest.raises(InputError) as caught:
        descend.fit(nn.Linear(3, 1), rows, None, validation=0.2, verbose=False, lr=0.1)
    assert str(caught.value) == (
        "The 'validation' parameter of fit must be (X_val, y_val) in memory (rows in blocks "
        "without a split of their own cannot be split by a fraction) or held-out rows in "
        "blocks. Got 0.2 instead."
    )
    history = descend.fit(
        nn.Linear(3, 1), rows, None, validation=(X[:20], y[:20]), verbose=False, lr=0.1, epochs=3
    )
    assert len(history.val_loss) == 3
