"""Training runs for the playground: one worker thread trains them in turn, in the server.

The ``Trainer`` has a single worker: each Train request is queued and trained
in its turn, in the order the requests came. Two runs in two threads would
share the same cores (NumPy's BLAS already uses them, and the Python parts
take turns under the GIL), so each would finish later; one at a time, the
first request's run finishes first and memory holds one run's arrays. (The
autograd engine's grad mode is per thread, ``engine/tensor.py``: a ``no_grad``
in one thread would not switch off another's graph.) A run records every
epoch (loss, and the (weight, bias) of its first feature for the descent
path) as it happens; the page streams them.

A run trains exactly what ``descend train`` trains with the same settings:
the same estimator, with the same parameters (``estimator_params``).
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..learn.callbacks import Callback, Run
from ..understand import figures
from ..understand.sweep import line_loss, line_optimum
from .settings import Settings

MAX_RUNS = 200
"""Finished runs kept for their links; the oldest are forgotten first."""
MAX_QUEUED = 100
"""Runs waiting for the worker at most; more Train requests are refused (503)."""


def estimator_params(settings: Settings, task: str) -> dict[str, Any]:
    """The estimator and the parameters that ``descend train`` would use for ``settings``."""
    from ..estimators import Classifier, Regressor

    cls = Regressor if task == "regression" else Classifier
    params: dict[str, Any] = {
        "model": settings.model,
        "optimizer": settings.optimizer,
        "lr": settings.lr,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "alpha": settings.alpha,
        "random_state": 0,
    }
    return {"cls": cls, "params": params}


@dataclass
class TrainingRun:
    """One Train request: its settings, what each epoch recorded, and how it ended."""

    id: str
    settings: Settings
    state: str = "queued"  # queued, running, done, failed
    epochs: list[dict[str, Any]] = field(default_factory=list)
    surfaces: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    weights: Any = None  # the latest (weights, bias) of a linear model, for explain
    finished: threading.Event = field(default_factory=threading.Event)

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.id,
            "state": self.state,
            "settings": self.settings.query(),
            "epochs": len(self.epochs),
            "error": self.error,
            **self.result,
        }


class _Live(Callback):
    """Records each epoch of a run, and the loss surface its descent path moves on."""

    def __init__(self, run: TrainingRun, estimator: Any, trainer: Trainer) -> None:
        self.run, self.estimator, self.trainer = run, estimator, trainer
        self.slice: Slice | None = None

    def on_train_begin(self, run: Run) -> None:
        self.slice = self.trainer.slice_of(self.run, self.estimator, run.model)
        if self.slice is not None:
            self.start = self.slice.point(run.model)
            self.run.surfaces.append(
                {"trace": self.slice.surface(run.model, None), "start": self.start}
            )

    def on_epoch_end(self, run: Run) -> None:
        h = run.history
        record: dict[str, Any] = {"epoch": run.epoch, "loss": h.loss[-1]}
        if h.val_loss:
            record["val_loss"] = h.val_loss[-1]
        if self.slice is not None:
            self.run.weights = (run.model.weight.data[:, 0].copy(), float(run.model.bias.data[0]))
            record["point"] = self.slice.point(run.model)
        self.run.epochs.append(record)
        if self.trainer.closing:
            run.stop("interrupted", "The playground stopped.")

    def on_train_end(self, run: Run) -> None:
        if self.slice is not None:
            path = [self.start] + [e["point"] for e in self.run.epochs]
            trace = self.slice.surface(run.model, path)
            self.run.surfaces.append(
                {"trace": trace, "start": self.start, "feature": self.slice.name}
            )


@dataclass
class Slice:
    """The loss over (weight of one feature, bias) of a linear model, the others held."""

    x: Any  # all columns, as the model sees them
    y: Any
    column: int
    loss: str
    name: str

    def point(self, model: Any) -> list[float]:
        """The model's (weight of the slice's feature, bias) now."""
        return [float(model.weight.data[self.column, 0]), float(model.bias.data[0])]

    def surface(self, model: Any, path: list[Any] | None) -> dict[str, Any]:
        """The contours through the model's current weights, around ``path`` (or the start)."""
        import numpy as np

        weight, bias = model.weight.data[:, 0], float(model.bias.data[0])
        here = np.array([weight[self.column], bias])
        offset = self.x @ weight - self.x[:, self.column] * weight[self.column]
        if path is None:  # the start (zero weights): around it and the slice's optimum
            best = line_optimum(self.x[:, self.column], self.y, self.loss)
            points = np.vstack([here, best])
        else:
            best, points = here, np.vstack([np.asarray(path, dtype=float), here])
        W, B = figures.grid_around(points, best, size=41)
        Z = line_loss(self.x[:, self.column], self.y, np.asarray(W)[None, :],
                      np.asarray(B)[:, None], self.loss, offset)  # fmt: skip
        return figures.surface_trace(W, B, Z)


class Trainer:
    """Queues Train requests and trains them one at a time on the playground's table."""

    def __init__(self, table: Any, target: str, task: str) -> None:
        self.table, self.target, self.task = table, target, task
        self.runs: dict[str, TrainingRun] = {}
        self.lock = threading.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="descend-train")
        self.ids = itertools.count(1)
        self.last_activity = time.monotonic()
        self.closing = False

    def submit(self, settings: Settings) -> TrainingRun:
        """Queue a run of ``settings``; refuses when the queue is full."""
        plan = estimator_params(settings, self.task)
        with self.lock:
            waiting = sum(1 for r in self.runs.values() if r.state in ("queued", "running"))
            if waiting >= MAX_QUEUED:
                raise OverflowError(f"{waiting} runs are waiting; try again when some are done.")
            run = TrainingRun(f"r{next(self.ids)}", settings)
            self.runs[run.id] = run
            finished = [k for k, r in self.runs.items() if r.finished.is_set()]
            for key in finished[: max(0, len(self.runs) - MAX_RUNS)]:
                del self.runs[key]
        self.worker.submit(self._train, run, plan)
        return run

    def busy(self) -> bool:
        with self.lock:
            return any(not r.finished.is_set() for r in self.runs.values())

    def _train(self, run: TrainingRun, plan: dict[str, Any]) -> None:
        run.state = "running"
        try:
            estimator = plan["cls"](**plan["params"])
            estimator.set_params(callbacks=(_Live(run, estimator, self),))
            columns = list(run.settings.features)
            estimator.fit(self.table[columns], self.table[self.target])
            history = estimator.history_
            run.result = {
                "loss": figures.finite(history.loss),
                "final_loss": history.final_loss,  # of the weights returned, as train --json
                "last_epoch_loss": history.loss[-1],
                "stop_reason": history.stop_reason,
                "stop_message": history.stop_message,
                "diagnosis": history.diagnosis,
                "diagnosis_text": _diagnosis_text(history.diagnosis),
                "log_scale": figures.spans_decades(history.loss),
                "lr": history.settings.get("lr"),
            }
            run.state = "done"
        except InputError as error:
            run.error, run.state = str(error), "failed"
        except Exception as error:  # a bug must not take the server down: the page says it
            run.error, run.state = f"{type(error).__name__}: {error}", "failed"
        finally:
            self.last_activity = time.monotonic()
            run.finished.set()

    def slice_of(self, run: TrainingRun, estimator: Any, model: Any) -> Slice | None:
        """The descent-path slice of a linear or logistic run (first feature), else None."""
        from ..learn.nn import Linear

        if not isinstance(model, Linear) or model.out_features != 1:
            return None
        columns = list(run.settings.features)
        x = estimator.preprocessor_.transform(self.table[columns])
        y = self.table[self.target]
        if self.task == "regression":
            target = y.to_numpy(dtype=float)
        else:
            target = estimator.labels_.transform(y).astype(float)
        loss = "mse" if self.task == "regression" else "bce_with_logits"
        return Slice(x, target, 0, loss, estimator.preprocessor_.feature_names_out_[0])

    def explain(self, run: TrainingRun) -> str:
        """explain's four steps for the run's latest weights (linear and logistic models)."""
        from ..understand.explain import explain

        if run.weights is None:
            raise InputError(
                "Show the arithmetic needs a linear or logistic model that has trained at "
                "least one epoch; train one first."
            )
        weight, bias = run.weights
        columns = list(run.settings.features)
        task = "regression" if self.task == "regression" else "classification"
        step = explain(
            self.table[columns], self.table[self.target], task=task, lr=run.settings.lr,
            weights=list(weight), bias=bias, source="the playground's data",
        )  # fmt: skip
        return str(step)

    def close(self) -> None:
        """Stop taking runs; the one training stops after its current epoch."""
        self.closing = True
        self.worker.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            for run in self.runs.values():
                if not run.finished.is_set():
                    run.state, run.error = "failed", "The playground stopped."
                    run.finished.set()


def _diagnosis_text(diagnosis: dict[str, Any] | None) -> str:
    from ..understand.diagnose import Diagnosis

    return str(Diagnosis.from_dict(diagnosis)) if diagnosis else ""
