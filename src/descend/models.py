"""Which model a target needs, how it is built and trained by default: rules the estimators
and the command line share.

``choose(y, model, task)`` reads the target once: the task (regression or
classification: given, implied by the model, or inferred from the values),
the kind of model, the class labels, the number of outputs and the losses
that fit them. ``build`` makes the network; ``DEFAULTS`` are each kind's
optimizer, learning rate, batch size and epochs.

>>> choice = choose(["no", "yes", "yes"])
>>> choice.task, choice.kind, choice.n_outputs, choice.losses
('classification', 'logistic', 1, ('bce_with_logits',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .data import (
    LabelEncoder,
    check_class_labels,
    check_target,
    check_target_size,
    holds_text,
    infer_task,
    to_targets,
)
from .errors import InputError
from .learn.nn import MLP, Linear, Module

MODELS = ("linear", "logistic", "softmax", "mlp")
"""Kinds of model, with or without a task implied."""
TASKS = ("regression", "classification")
REGRESSION_LOSSES = ("mse", "mae", "huber")
CLASSIFIER_LOSSES = ("bce_with_logits", "cross_entropy")
IMPLIED_TASK = {"linear": "regression", "logistic": "classification", "softmax": "classification"}


class Defaults(NamedTuple):
    """How a kind of model trains when the user says nothing."""

    optimizer: str
    lr: float | str
    batch_size: int | None
    epochs: int


DEFAULTS = {
    "linear": Defaults("sgd", "auto", None, 1000),
    "logistic": Defaults("sgd", "auto", None, 1000),
    "softmax": Defaults("sgd", "auto", None, 1000),
    "mlp": Defaults("adam", 0.001, 32, 200),
}
"""Linear, logistic and softmax models choose their rate from the curvature (``lr='auto'``:
1/L); with it, and no optimizer given, the estimators take Nesterov's steps with the momentum
theory gives for the condition number, (sqrt(kappa) - 1) / (sqrt(kappa) + 1). With a rate
given, the default optimizer is plain SGD, as in the lesson."""


@dataclass(frozen=True)
class Choice:
    """What a target needs: the task, the kind of model, and what follows from them."""

    task: str  # 'regression' or 'classification'
    kind: str  # one of MODELS
    losses: tuple[str, ...]  # the losses that fit (the first is the default)
    n_outputs: int
    labels: LabelEncoder | None = None  # classification: the classes, sorted
    inferred: bool = False  # the task was read from the values, not given
    distinct: int = 0  # regression: distinct target values

    @property
    def loss(self) -> str:
        """The default loss."""
        return self.losses[0]


def choose(y: Any, model: str | None = None, task: str | None = None, name: str = "y") -> Choice:
    """The task and model for target ``y``: ``task`` if given, else implied by ``model``,
    else inferred from the values (numbers with many values: regression; two values,
    text, or a few whole numbers: classes). A constant is a fine regression target."""
    implied = IMPLIED_TASK.get(model or "")
    if implied and task and task != implied:
        raise InputError(
            f"model={model!r} is a {implied} model, but task={task!r} says otherwise; give "
            "one of them."
        )
    inferred = not (task or implied)
    task = task or implied
    if task is None:  # also refuses a missing value or a single class
        task = "regression" if infer_task(y, name=name) == "regression" else "classification"
    if task == "regression":
        return _regression(y, model, name, inferred)
    return _classification(y, model, name, inferred)


def _regression(y: Any, model: str | None, name: str, inferred: bool) -> Choice:
    several = np.ndim(y) == 2 and np.shape(y)[1] > 1  # one target per column
    if not several:
        check_target(y, name=name)  # one column without missing values
    try:
        values = to_targets(y, name=f"Target {name!r}")
    except InputError:
        if several or not holds_text(y):  # an infinite value: its own message says so
            raise
        raise InputError(
            f"Target {name!r} holds text, not numbers, so it cannot be a regression target; "
            "predict its values as classes (task='classification', or descend.Classifier)."
        ) from None
    check_target_size(values, name)  # squared errors that fit in a float64
    outputs = values.shape[1] if values.ndim == 2 else 1
    distinct = len(set(values.ravel().tolist()))
    return Choice(
        "regression", model or "linear", REGRESSION_LOSSES, outputs, None, inferred, distinct
    )


def _classification(y: Any, model: str | None, name: str, inferred: bool) -> Choice:
    fix = "use Regressor (a regression model: model='linear' or 'mlp')."
    labels = check_class_labels(y, name, fix)  # the target read once: checked and its classes
    k = len(labels.classes_)
    if k < 2:
        raise InputError(
            f"Target {name!r} has one class only ({labels.classes_[0]!r}); a classifier needs "
            "at least two."
        )
    kind = model or ("logistic" if k == 2 else "softmax")
    if kind == "logistic" and k > 2:
        raise InputError(
            f"Only binary classification is supported by model='logistic' (it separates two "
            f"classes), but target {name!r} has {k}; use model='softmax' (or leave model out)."
        )
    one_output = k == 2 and kind != "softmax"
    losses = CLASSIFIER_LOSSES[:1] if one_output else CLASSIFIER_LOSSES[1:]
    return Choice("classification", kind, losses, 1 if one_output else k, labels, inferred)


def build(
    kind: str, n_in: int, n_out: int, hidden: Any = (64,), activation: str = "relu", seed: int = 0
) -> Module:
    """The network of a ``kind`` of model: a Linear layer from zeros (a convex problem starts
    where the lesson does) or an MLP with ``hidden`` layers."""
    if kind == "mlp":
        sizes = [hidden] if isinstance(hidden, int) else list(hidden)
        return MLP([n_in, *sizes, n_out], activation=activation, seed=seed)
    return Linear(n_in, n_out, init="zeros")
