"""descend: make a model learn by gradient descent, and see every step of it.

>>> import descend
>>> w = descend.tensor([0.5], requires_grad=True)
>>> loss = ((descend.tensor([2.0]) * w - 3.0) ** 2).mean()
>>> loss.backward(); w.grad
array([-8.])
"""

from __future__ import annotations

import sys as _sys

from . import interrupts

interrupts.importing(True)  # Ctrl-C while descend is imported: one line, not a traceback

from . import data, datasets
from ._version import __version__
from .engine import functional, ops
from .engine.functional import (
    concatenate,
    gelu,
    leaky_relu,
    log_softmax,
    logsumexp,
    softmax,
    softplus,
    stack,
    var,
)
from .engine.gradcheck import GradcheckError, gradcheck
from .engine.ops import (
    abs,
    add,
    clip,
    divide,
    exp,
    getitem,
    log,
    log1p,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    power,
    relu,
    reshape,
    sigmoid,
    sqrt,
    subtract,
    sum,
    tanh,
    transpose,
    where,
)
from .engine.tensor import Tensor, is_grad_enabled, no_grad, tensor
from .io import load, save
from .learn import callbacks, history, losses, nn, optim, schedules
from .learn.callbacks import Callback, Convergence, Divergence, EarlyStopping
from .learn.history import History
from .train import evaluate_loss, fit
from .understand import plot
from .understand.diagnose import Diagnosis, diagnose, optimisation_gap
from .understand.explain import Explanation, explain
from .understand.report import report
from .understand.sweep import SweepResult, sweep

# Where the public modules lived before the layers had folders: `from descend.nn import
# Linear` keeps working, and names the same module as `descend.learn.nn`.
for _module in (callbacks, functional, history, losses, nn, ops, optim, plot, schedules):
    _sys.modules[f"{__name__}.{_module.__name__.rpartition('.')[2]}"] = _module

interrupts.importing(False)

_LAZY = {"Regressor": "estimators", "Classifier": "estimators"}


def __getattr__(name: str) -> object:
    """Import the estimators (and scikit-learn, when installed) only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'descend' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Callback",
    "Classifier",
    "Convergence",
    "Diagnosis",
    "Divergence",
    "EarlyStopping",
    "Explanation",
    "History",
    "Regressor",
    "SweepResult",
    "callbacks",
    "data",
    "datasets",
    "diagnose",
    "evaluate_loss",
    "fit",
    "load",
    "losses",
    "nn",
    "optim",
    "optimisation_gap",
    "report",
    "save",
    "schedules",
    "GradcheckError",
    "Tensor",
    "abs",
    "add",
    "clip",
    "concatenate",
    "divide",
    "exp",
    "explain",
    "gelu",
    "getitem",
    "gradcheck",
    "is_grad_enabled",
    "leaky_relu",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "multiply",
    "negative",
    "no_grad",
    "power",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "sweep",
    "subtract",
    "sum",
    "tanh",
    "tensor",
    "transpose",
    "var",
    "where",
]
