"""Workloads on the lesson's linear regression: speed (1), time to accuracy (3),
memory (5) and scaling (6).

The data is the lesson's: standardised features X (N x d, float64) and
y = X @ w + b + noise, with noise of standard deviation 1.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import warnings
from pathlib import Path
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
from descend.learn.callbacks import Callback


def linear_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (n x d, standard normal) and y = X @ w + 0.5 + N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 + rng.standard_normal(n)
    return X, y


def lesson_train(X_train, y_train, learning_rate=0.01, epochs=100):  # noqa: N803 - as written
    """The lesson's hand-written loop, as written there (printing left out)."""
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


def descend_train(
    X: np.ndarray, y: np.ndarray, lr: float, epochs: int, callbacks: Any = ()
) -> tuple[nn.Linear, descend.History]:
    """descend's full-batch fit of the lesson's model: zero weights, MSE, plain SGD."""
    model = nn.Linear(X.shape[1], 1, init="zeros")
    history = descend.fit(
        model, X, y, lr=lr, epochs=epochs, tol=None, verbose=False, callbacks=callbacks
    )
    return model, history


def torch_train(X: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> list[float]:
    """The same model in PyTorch eager: nn.Linear, mse_loss, torch.optim.SGD, full batch."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Linear(X.shape[1], 1, dtype=Xt.dtype)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(Xt).squeeze(1), yt)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


# ----- 1. the lesson's workload --------------------------------------------------------
def lesson(n: int = 100_000, d: int = 100, epochs: int = 100, repeat: int = 3) -> list[Row]:
    """descend's fit against the lesson's NumPy train() and PyTorch eager, same run."""
    name = f"1. Lesson: linear regression, {n:,} x {d} float64, {epochs} epochs"
    X, y = linear_data(n, d)
    weights, bias, _ = lesson_train(X, y, 0.01, epochs)
    model, _ = descend_train(X, y, 0.01, epochs)
    same = np.allclose(model.weight.data.ravel(), weights, rtol=1e-9, atol=1e-9)
    contenders = {
        "numpy": lambda: seconds(lambda: lesson_train(X, y, 0.01, epochs)),
        "descend": lambda: seconds(lambda: descend_train(X, y, 0.01, epochs)),
    }
    if torch is not None:
        contenders["torch"] = lambda: seconds(lambda: torch_train(X, y, 0.01, epochs))
    times = interleaved(contenders, repeat)
    note = "" if same else "descend's weights differ from the lesson's loop!"
    ours, theirs = duration(times["descend"]), duration(times["numpy"])
    ratio = times["descend"] / times["numpy"]
    rows = [
        Row(name, "fit / NumPy train()", ours, theirs, ratio, 1.0, "<= 1.0", note),
        Row(name, "fit / NumPy train(), goal", ours, theirs, ratio, 1 / 1.1, "<= 0.91 (1.1x)"),
    ]
    comparison, target = "fit / PyTorch eager SGD", "<= 0.67 (1.5x)"
    if torch is None:
        rows.append(skipped(name, comparison, target, NO_TORCH))
    else:
        ratio = times["descend"] / times["torch"]
        rows.append(Row(name, comparison, ours, duration(times["torch"]), ratio, 1 / 1.5, target))
    return rows


# ----- 3. time to accuracy ---------------------------------------------------------------
def least_squares_mse(X: np.ndarray, y: np.ndarray) -> float:
    """The smallest training MSE any weights and bias reach (the closed-form optimum)."""
    A = np.c_[X, np.ones(len(X))]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    return float(np.mean((A @ coef - y) ** 2))


def curvature_lr(X: np.ndarray, rows: int = 10_000, iterations: int = 20) -> float:
    """1 / L, L the largest curvature of the MSE (power iteration on the first ``rows`` rows).

    On a quadratic, gradient descent with step 1/L never overshoots, and
    converges fast when the features are standardised.
    """
    sample = X[:rows]
    v = np.full(X.shape[1] + 1, 1 / math.sqrt(X.shape[1] + 1))
    curvature = 1.0
    for _ in range(iterations):  # H v = 2/n A^T A v with A = [X, 1]
        u = sample @ v[:-1] + v[-1]
        hv = np.append(sample.T @ u, u.sum()) * (2 / len(sample))
        curvature = float(np.linalg.norm(hv))
        v = hv / curvature
    return 1 / curvature


class ReachLoss(Callback):
    """Stop as soon as an epoch's training loss is at or below ``target``."""

    def __init__(self, target: float) -> None:
        self.target = target

    def on_epoch_end(self, run: Any) -> None:
        if run.history.loss[-1] <= self.target:
            run.stop("converged", f"the training loss reached {self.target:g}")


def descend_to_target(X: np.ndarray, y: np.ndarray, target: float, lr: Any) -> float:
    """Seconds until descend's full-batch fit reaches ``target``, choosing the lr included:
    ``'defaults'`` (``fit`` with nothing but the callback that stops it at the target: its
    lr='auto' takes the rate from the curvature), or None for 1/L from ``curvature_lr``."""
    start = time.perf_counter()
    if lr == "defaults":
        model = nn.Linear(X.shape[1], 1, init="zeros")
        history = descend.fit(model, X, y, verbose=False, callbacks=[ReachLoss(target)])
    else:
        lr = curvature_lr(X) if lr is None else lr
        _, history = descend_train(X, y, lr, 1000, callbacks=[ReachLoss(target)])
    elapsed = time.perf_counter() - start
    return elapsed if history.loss[-1] <= target else math.inf


class ReachLossEvery(Callback):
    """The PyTorch rival's stopping rule inside ``fit``: the training loss of all the rows every
    ``every`` minibatch steps (not timed), and the seconds since ``started``, those checks left
    out, at the first one within ``target`` (``reached``); the run stops at that epoch's end,
    or at the first epoch's end after ``budget`` seconds."""

    def __init__(self, target: float, every: int, started: float, budget: float) -> None:
        self.target, self.every, self.started, self.budget = target, every, started, budget
        self.steps, self.unclocked, self.reached = 0, 0.0, math.inf

    def on_batch_end(self, run: Any) -> None:
        self.steps += 1
        if self.steps % self.every or math.isfinite(self.reached):
            return
        began = time.perf_counter()
        if run.evaluate() <= self.target:
            self.reached = began - self.started - self.unclocked
        self.unclocked += time.perf_counter() - began

    def on_epoch_end(self, run: Any) -> None:
        spent = time.perf_counter() - self.started - self.unclocked
        if math.isfinite(self.reached) or spent > self.budget:
            run.stop("converged", f"the training loss reached {self.target:g}")


def descend_minibatch_to_target(
    X: np.ndarray, y: np.ndarray, target: float, budget: float, batch_size: int, lr: float
) -> float:
    """Seconds from calling ``fit`` (minibatches, a given rate) until the weights are within
    ``target``, checked as the PyTorch loop checks: ten times an epoch, the checks not timed.
    inf if not within ``budget``."""
    started = time.perf_counter()
    every = max(1, math.ceil(len(X) / batch_size) // 10)
    reach = ReachLossEvery(target, every, started, budget)
    model = nn.Linear(X.shape[1], 1, init="zeros")
    descend.fit(
        model, X, y, lr=lr, epochs=1000, batch_size=batch_size, tol=None, verbose=False,
        callbacks=[reach],
    )  # fmt: skip
    return reach.reached


def lstsq_seconds(X: np.ndarray, y: np.ndarray) -> float:
    """Seconds of np.linalg.lstsq on [X, 1] (the exact optimum, making the design included)."""
    return seconds(lambda: np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None))


def sklearn_to_target(
    X: np.ndarray, y: np.ndarray, target: float, budget: float, **settings: Any
) -> float:
    """Training seconds until SGDRegressor's training MSE reaches ``target``, checked after
    each epoch (partial_fit); the checks are not timed. inf if not within ``budget``."""
    from sklearn.linear_model import SGDRegressor

    model = SGDRegressor(penalty=None, random_state=0, **settings)
    spent = 0.0
    while spent < budget:
        spent += seconds(lambda: model.partial_fit(X, y))
        if np.mean((model.predict(X) - y) ** 2) <= target:
            return spent
    return math.inf


def torch_to_target(
    X: np.ndarray, y: np.ndarray, target: float, budget: float, batch_size: int, lr: float
) -> float:
    """Training seconds until a PyTorch minibatch SGD loop reaches ``target``, checked ten
    times an epoch; the checks are not timed. inf if not within ``budget``."""
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Linear(X.shape[1], 1, dtype=Xt.dtype)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batches = math.ceil(len(X) / batch_size)
    check = max(1, batches // 10)
    spent = 0.0
    while spent < budget:
        order = torch.randperm(len(X))
        for start in range(0, batches, check):
            began = time.perf_counter()
            for b in range(start, min(start + check, batches)):
                index = order[b * batch_size : (b + 1) * batch_size]
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(Xt[index]).squeeze(1), yt[index])
                loss.backward()
                optimizer.step()
            spent += time.perf_counter() - began
            with torch.no_grad():
                if torch.nn.functional.mse_loss(model(Xt).squeeze(1), yt).item() <= target:
                    return spent
    return math.inf


RIVALS_TO_TARGET = {
    "SGDRegressor, defaults": ("sklearn", {}),
    "SGDRegressor, average=True": ("sklearn", {"average": True}),
    "PyTorch SGD, batch 64, lr 0.01": ("torch", {"batch_size": 64, "lr": 0.01}),
    "PyTorch SGD, batch 1024, lr 0.1": ("torch", {"batch_size": 1024, "lr": 0.1}),
}
"""The rivals' settings: each library's defaults, and the best of a small grid tried by
hand on this data (SGDRegressor: averaging; PyTorch: batch 64-4096, lr 0.01-0.2)."""


OURS_MINIBATCH = {"descend batch_size=1024, lr=0.1 (the rival's settings)": (1024, 0.1)}
"""descend's minibatch fit with the tuned PyTorch loop's settings: the same regime, side by side
(time until the weights are within 1%, checked and untimed as the rival's checks)."""
MINIBATCH_RIVAL = "PyTorch SGD, batch 1024, lr 0.1"
MINIBATCH_NOTE = (
    "until the weights are within 1%: checked ten times an epoch, untimed, as the rival"
)


OURS_TO_TARGET = {
    "with descend's defaults": "defaults",  # fit(model, X, y): lr='auto', from the curvature
    "lr=1/L": None,  # the lesson's reader's choice: one over the curvature, estimated
}
"""descend's two ways to pick the learning rate, both timed from the start."""
DEFAULTS = "with descend's defaults"


def time_to_accuracy(
    n: int = 100_000, d: int = 100, repeat: int = 3, budget: float = 2.0
) -> list[Row]:
    """Seconds until the training MSE is within 1% of the least-squares optimum."""
    name = f"3. Time to accuracy: {n:,} x {d}, MSE within 1% of least squares"
    X, y = linear_data(n, d)
    target = 1.01 * least_squares_mse(X, y)
    ours_labels = list(OURS_TO_TARGET)
    contenders = {
        k: lambda lr=OURS_TO_TARGET[k]: descend_to_target(X, y, target, lr) for k in ours_labels
    }
    for label, (size, rate) in OURS_MINIBATCH.items():
        contenders[label] = lambda b=size, r=rate: descend_minibatch_to_target(
            X, y, target, budget, b, r
        )
    contenders["np.linalg.lstsq"] = lambda: lstsq_seconds(X, y)
    missing = []
    for label, (library, settings) in RIVALS_TO_TARGET.items():
        if library == "sklearn" and sklearn is None:
            missing.append((label, NO_SKLEARN))
        elif library == "torch" and torch is None:
            missing.append((label, NO_TORCH))
        elif library == "sklearn":
            contenders[label] = lambda s=settings: sklearn_to_target(X, y, target, budget, **s)
        else:
            contenders[label] = lambda s=settings: torch_to_target(X, y, target, budget, **s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SGDRegressor's max_iter warnings on partial_fit
        times = interleaved(contenders, repeat)
    ours = {k: times.pop(k) for k in ours_labels}
    minibatch = {k: times.pop(k) for k in OURS_MINIBATCH}
    exact = times.pop("np.linalg.lstsq")
    mine = DEFAULTS  # what a user gets without choosing anything
    reached_by = {k: v for k, v in times.items() if math.isfinite(v)}
    best = min(reached_by, key=reached_by.__getitem__) if reached_by else None
    rival_time = reached_by[best] if best else math.inf  # inf: no rival reached it

    def row(comparison: str, mine_s: float, theirs: float, **extra: Any) -> Row:
        reached = math.isfinite(theirs)
        return Row(
            name,
            comparison,
            ours=duration(mine_s),
            theirs=duration(theirs) if reached else f"> {duration(budget)}",
            ratio=mine_s / (theirs if reached else budget),
            note=extra.pop("note", "")
            if reached
            else "not reached within the budget: the ratio is a bound",
            **extra,
        )

    rows = [row(f"descend {k} / best rival", v, rival_time) for k, v in ours.items()]
    rows += [row(f"descend {mine} / {label}", ours[mine], t) for label, t in times.items()]
    for label, v in minibatch.items():  # the same regime, side by side
        comparison = f"{label} / {MINIBATCH_RIVAL}"
        if MINIBATCH_RIVAL not in times:
            rows.append(skipped(name, comparison, "", NO_TORCH))
        elif math.isfinite(v):
            rows.append(row(comparison, v, times[MINIBATCH_RIVAL], note=MINIBATCH_NOTE))
        else:
            rows.append(Row(name, comparison, f"> {duration(budget)}", note="not reached"))
    rows += [Row(name, f"descend / {label}", note=why) for label, why in missing]
    target_row = f"descend {mine} / best rival" + (f" ({best})" if best else "")
    if not times:
        rows.append(skipped(name, target_row, "<= 1.0", f"{NO_TORCH} {NO_SKLEARN}"))
    else:
        rows.append(row(target_row, ours[mine], rival_time, limit=1.0, target="<= 1.0"))
    rows.append(
        row(f"descend {mine} / np.linalg.lstsq", ours[mine], exact, limit=1.0, target="<= 1.0")
    )
    return rows


# ----- 5. memory ---------------------------------------------------------------------------
def memory(n: int = 2_000_000, d: int = 100, epochs: int = 3) -> list[Row]:
    """Peak resident memory of a child process that fits on X, over the size of X."""
    name = f"5. Memory: full-batch fit, {n:,} x {d} float64 ({n * d * 8 / 1e9:.1f} GB)"
    child = Path(__file__).with_name("memory_child.py")
    result = subprocess.run(
        [sys.executable, str(child), str(n), str(d), str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    x_bytes, peak = measured["x_bytes"], measured["peak"]
    before_x = f"interpreter and libraries before X: {measured['before'] / 2**20:,.0f} MiB"
    return [
        Row(
            name,
            "peak RSS / size of X",
            ours=f"{peak / 2**20:,.0f} MiB",
            theirs=f"{x_bytes / 2**20:,.0f} MiB",
            ratio=peak / x_bytes,
            limit=1.3,
            target="<= 1.3",
            note=before_x,
        )
    ]


# ----- 6. scaling ---------------------------------------------------------------------------
def epoch_seconds(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """Median seconds per full-batch epoch of descend's fit (set-up left out)."""
    _, history = descend_train(X, y, 0.01, epochs)
    return float(np.median(np.diff(history.time)))


def lesson_epoch_seconds(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """Seconds per epoch of the lesson's loop."""
    return seconds(lambda: lesson_train(X, y, 0.01, epochs)) / epochs


def growth(sizes: tuple[int, ...], times: list[float]) -> float:
    """k in time ~ N^k: the slope of log time against log N (1 is linear)."""
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def scaling(
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000), d: int = 100, repeat: int = 5
) -> list[Row]:
    """Time per epoch as N grows tenfold: linear means time per row stays put.

    The lesson's loop is timed beside descend: where both step up from one size to
    the next, the machine (caches) did it, not the algorithm.
    """
    name = f"6. Scaling: time per epoch, d = {d}"
    ours, lessons, rows = [], [], []
    for n in sizes:
        X, y = linear_data(n, d)
        epochs = max(5, min(30, 3_000_000 // n))
        times = interleaved(
            {
                "descend": lambda X=X, y=y, e=epochs: epoch_seconds(X, y, e),
                "lesson": lambda X=X, y=y, e=epochs: lesson_epoch_seconds(X, y, e),
            },
            repeat,
        )
        ours.append(times["descend"])
        lessons.append(times["lesson"])
        rows.append(
            Row(
                name,
                f"N = {n:,}: per row, descend / NumPy train()",
                ours=f"{ours[-1] / n * 1e9:.1f} ns",
                theirs=f"{lessons[-1] / n * 1e9:.1f} ns",
                ratio=ours[-1] / lessons[-1],
                note=f"{duration(ours[-1])} per epoch, X is {X.nbytes / 2**20:,.0f} MiB",
            )
        )
    for i in range(len(sizes) - 1):  # each tenfold step: where the data leaves the cache shows
        span = sizes[i : i + 2]
        k, k_lesson = growth(span, ours[i : i + 2]), growth(span, lessons[i : i + 2])
        rows.append(
            Row(
                name,
                f"growth k in time ~ N^k, N = {span[0]:,} to {span[-1]:,}",
                ours=f"k = {k:.2f}",
                theirs=f"k = {k_lesson:.2f}",
                ratio=k,
                limit=1.1,
                target="<= 1.1",
                note="rival: the lesson's loop on the same sizes",
            )
        )
    return rows
