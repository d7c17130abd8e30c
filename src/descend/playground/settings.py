"""The playground's form: its parameters, read from a request and checked completely.

A request may carry only the form's own parameters (``PARAMETERS``), each
at most once; every value is checked by the library's own checks
(``descend._validation``) before anything is built, and an unknown name, a
value out of range or a column that is not in the data file is an
InputError whose message the page shows (status 400).

>>> columns = ["age", "weight", "inr"]
>>> read_settings({"lr": "0.3", "epochs": "50"}, columns, "inr", "regression").lr
0.3
>>> read_settings({"lr": "-1"}, columns, "inr", "regression")
Traceback (most recent call last):
...
descend.errors.InputError: The 'lr' parameter of the playground must be a float in (0, 100]. Got -1.0 instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .._validation import Constraint, Interval, Options, at_least, check, non_negative
from ..errors import InputError
from ..learn.optim import OPTIMIZERS

OWNER = "the playground"
MODELS = {
    "regression": ("linear", "mlp"),
    "binary": ("logistic", "softmax", "mlp"),
    "multiclass": ("softmax", "mlp"),
}
"""The models the form offers for each task (the first is the default)."""
MAX_EPOCHS = 5000
"""Epochs one run may ask for: the server trains one run at a time."""
MAX_LR = 100.0
PARAMETERS = ("features", "model", "optimizer", "lr", "batch_size", "epochs", "alpha")
CONSTRAINTS: dict[str, list[Constraint]] = {
    "lr": [Interval(float, 0, MAX_LR, "right")],
    "epochs": [Interval(int, 1, MAX_EPOCHS, "both")],
    "batch_size": [Options("full"), at_least(1)],
    "alpha": [non_negative()],
    "optimizer": [Options(*sorted(OPTIMIZERS))],
}
"""The form's numbers and names, checked by the library's one checker (``model``: per task)."""


@dataclass(frozen=True)
class Settings:
    """One run's settings, checked; ``batch_size=None`` is full-batch gradient descent."""

    features: tuple[str, ...]
    model: str
    optimizer: str
    lr: float
    batch_size: int | None
    epochs: int
    alpha: float

    def query(self) -> dict[str, str]:
        """The settings as the page's URL parameters (what ``read_settings`` reads back)."""
        values = asdict(self)
        values["features"] = ",".join(self.features)
        values["batch_size"] = "full" if self.batch_size is None else str(self.batch_size)
        return {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in values.items()}


def defaults(columns: Sequence[str], target: str, task: str) -> dict[str, str]:
    """The form as it first appears: every other column, the task's first model, the
    defaults of ``descend train``."""
    model = MODELS[task][0]
    mlp = model == "mlp"
    return {
        "features": ",".join(c for c in columns if c != target),
        "model": model,
        "optimizer": "adam" if mlp else "sgd",
        "lr": "0.001" if mlp else ("0.1" if model == "linear" else "0.5"),
        "batch_size": "32" if mlp else "full",
        "epochs": "200" if mlp else "1000",
        "alpha": "0",
    }


def _number(text: str, convert: Any) -> Any:
    """``convert(text)``, or the text itself when it is no number (the check then says so)."""
    try:
        value = convert(text)
    except (TypeError, ValueError):
        return text
    return value if not isinstance(value, float) or math.isfinite(value) else text


def _features(text: str, columns: Sequence[str], target: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    allowed = [c for c in columns if c != target]
    unknown = [n for n in names if n not in allowed]
    if not names or unknown or len(set(names)) != len(names):
        raise InputError(
            f"The 'features' parameter of {OWNER} must name distinct columns of its data file "
            f"other than the target, separated by commas (one of {allowed}). Got {text!r} instead."
        )
    return names


def read_settings(
    params: Mapping[str, Any] | Sequence[tuple[str, str]],
    columns: Sequence[str],
    target: str,
    task: str,
) -> Settings:
    """Check a request's parameters (a mapping or (name, value) pairs) against the form;
    parameters left out take the form's defaults."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    names = [name for name, _ in pairs]
    unknown = sorted({n for n in names if n not in PARAMETERS})
    if unknown:
        raise InputError(
            f"{OWNER.capitalize()} has no parameter {unknown[0]!r}; its form takes only "
            f"{', '.join(PARAMETERS)}."
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"The {twice[0]!r} parameter of {OWNER} was given twice; give it once.")
    values = {**defaults(columns, target, task), **{k: str(v) for k, v in pairs}}
    read = {
        "lr": _number(values["lr"], float),
        "epochs": _number(values["epochs"], int),
        "batch_size": "full"
        if values["batch_size"] == "full"
        else _number(values["batch_size"], int),
        "alpha": _number(values["alpha"], float),
        "model": values["model"],
        "optimizer": values["optimizer"],
    }
    check(OWNER, {**CONSTRAINTS, "model": [Options(*MODELS[task])]}, read)
    return Settings(
        features=_features(values["features"], columns, target),
        model=read["model"],
        optimizer=read["optimizer"],
        lr=float(read["lr"]),
        batch_size=None if read["batch_size"] == "full" else int(read["batch_size"]),
        epochs=int(read["epochs"]),
        alpha=float(read["alpha"]),
    )
