"""Workload 2: a small MLP classifier trained by minibatch Adam.

20,000 x 64 float32 inputs, 64-128-10 with ReLU, cross-entropy, Adam lr 1e-3,
batch 64, 5 epochs, shuffled. The cost per step is mostly overhead, not
arithmetic: this is where an engine's wrapping, graph and optimizer show.

descend runs twice: with fit's default, the captured step (learn/step.py: the
step's graph captured once and replayed on preallocated buffers, the optimizer
over one flat buffer), and with the eager engine alone (``learn.step.eager()``).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import numpy as np
from common import (
    NO_SKLEARN,
    NO_TORCH,
    Row,
    duration,
    interleaved,
    seconds,
    skipped,
    sklearn,
    torch,
)

import descend
from descend import nn
from descend.learn import step

SIZES = [64, 128, 10]


def classification_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (n x 64, float32) and labels 0..9 from a random linear rule plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SIZES[0])).astype(np.float32)
    scores = X @ rng.standard_normal((SIZES[0], SIZES[-1])) + rng.standard_normal((n, SIZES[-1]))
    return X, scores.argmax(axis=1)


def descend_model() -> nn.MLP:
    return nn.MLP(SIZES, activation="relu", seed=0, dtype="float32")


def descend_train(
    X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, captured: bool = True
) -> nn.MLP:
    """fit's default (the captured step), or with ``captured=False`` the eager engine alone."""
    model = descend_model()
    with contextlib.nullcontext() if captured else step.eager():
        descend.fit(
            model,
            X,
            y,
            loss="cross_entropy",
            optimizer="adam",
            lr=1e-3,
            epochs=epochs,
            batch_size=batch_size,
            seed=0,
            tol=None,
            verbose=False,
        )
    return model


def numpy_train(
    X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, lr: float = 1e-3
) -> list[np.ndarray]:
    """The same network, loss, Adam and batches, written by hand in NumPy."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    params = [p.data.copy() for p in descend_model().parameters()]  # the same start
    W1, b1, W2, b2 = params
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(0)
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            xb, yb = X[index], y[index]
            rows = np.arange(len(index))
            # forward: two layers and a stable softmax cross-entropy
            z1 = xb @ W1 + b1
            a1 = np.maximum(z1, 0)
            z2 = a1 @ W2 + b2
            z2 -= z2.max(axis=1, keepdims=True)
            p = np.exp(z2)
            p /= p.sum(axis=1, keepdims=True)
            loss = -np.log(p[rows, yb]).mean()
            if not math.isfinite(loss):
                break
            # backward
            p[rows, yb] -= 1
            p /= len(index)
            grads = [None, None, a1.T @ p, p.sum(axis=0)]
            d1 = p @ W2.T
            d1 *= z1 > 0
            grads[0], grads[1] = xb.T @ d1, d1.sum(axis=0)
            # Adam, in place
            t += 1
            step_size = lr / (1 - beta1**t)
            correction = math.sqrt(1 - beta2**t)
            for param, g, m_i, v_i in zip(params, grads, m, v):
                m_i *= beta1
                m_i += (1 - beta1) * g
                v_i *= beta2
                v_i += (1 - beta2) * g * g
                param -= step_size * m_i / (np.sqrt(v_i) / correction + eps)
    return params


def torch_train(X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int) -> Any:
    """The same network in PyTorch eager, starting from the same weights."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(SIZES[1], SIZES[2])
    )
    with torch.no_grad():
        start = [p.data for p in descend_model().parameters()]
        for layer, (w, b) in zip((model[0], model[2]), zip(start[::2], start[1::2])):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start_row in range(0, len(X), batch_size):
            index = order[start_row : start_row + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    return model


def sklearn_train(X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int) -> Any:
    """scikit-learn's MLPClassifier with the same shape, solver and schedule (no L2 term)."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(SIZES[1],),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=1e-3,
        max_iter=epochs,
        shuffle=True,
        random_state=0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point here
        return model.fit(X, y)


def small_mlp(n: int = 20_000, epochs: int = 5, batch_size: int = 64, repeat: int = 5) -> list[Row]:
    """Time per optimisation step of descend (captured and eager) against NumPy, PyTorch
    and scikit-learn."""
    name = f"2. Small MLP: {n:,} x 64 float32, 64-128-10, Adam, batch {batch_size}"
    X, y = classification_data(n)
    steps = epochs * math.ceil(n / batch_size)
    ours = [p.data for p in descend_train(X, y, epochs, batch_size).parameters()]
    eager = [p.data for p in descend_train(X, y, epochs, batch_size, False).parameters()]
    theirs = numpy_train(X, y, epochs, batch_size)
    gap = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))
    same = all(a.tobytes() == b.tobytes() for a, b in zip(ours, eager))
    contenders = {
        "numpy": lambda: seconds(lambda: numpy_train(X, y, epochs, batch_size)),
        "captured": lambda: seconds(lambda: descend_train(X, y, epochs, batch_size)),
        "eager": lambda: seconds(lambda: descend_train(X, y, epochs, batch_size, False)),
    }
    if torch is not None:
        contenders["torch"] = lambda: seconds(lambda: torch_train(X, y, epochs, batch_size))
    if sklearn is not None:
        contenders["sklearn"] = lambda: seconds(lambda: sklearn_train(X, y, epochs, batch_size))
    per_step = {k: v / steps for k, v in interleaved(contenders, repeat).items()}

    def row(ours: str, rival: str, comparison: str, limit: float | None, note: str = "") -> Row:
        ratio = per_step[ours] / per_step[rival]
        target = "" if limit is None else f"<= {limit}" + (" (4x)" if limit == 0.25 else "")
        mine, other = duration(per_step[ours]), duration(per_step[rival])
        return Row(name, f"{ours} step / {comparison}", mine, other, ratio, limit, target, note)

    def rivals(ours: str, limits: dict[str, float | None], note: str) -> list[Row]:
        rows = [row(ours, "numpy", "NumPy by hand", limits["numpy"], note)]
        for rival, comparison, missing in (
            ("torch", "PyTorch eager", NO_TORCH),
            ("sklearn", "sklearn MLPClassifier", NO_SKLEARN),
        ):
            if rival in per_step:
                rows.append(row(ours, rival, comparison, limits[rival]))
            else:
                target = "" if limits[rival] is None else "<= 0.25 (4x)"
                rows.append(skipped(name, f"{ours} step / {comparison}", target, missing))
        return rows

    same_note = "the same weights as the eager step, bit for bit" if same else "**weights differ**"
    note = f"same batches and start; largest weight gap after training {gap:.1e}"
    return rivals(
        "captured", {"numpy": 0.9, "torch": 0.25, "sklearn": 0.25}, f"{same_note}; {note}"
    ) + rivals("eager", {"numpy": 1.5, "torch": None, "sklearn": None}, note)
