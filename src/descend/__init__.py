"""descend: make a model learn by gradient descent, and see every step of it.

>>> import descend
>>> w = descend.tensor([0.5], requires_grad=True)
>>> loss = ((descend.tensor([2.0]) * w - 3.0) ** 2).mean()
>>> loss.backward(); w.grad
array([-8.])
"""

from __future__ import annotations

from . import callbacks, data, datasets, losses, nn, optim, schedules
from ._version import __version__
from .callbacks import Callback, Convergence, Divergence, EarlyStopping
from .diagnose import Diagnosis, diagnose, optimisation_gap
from .explain import Explanation, explain
from .functional import (
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
from .gradcheck import GradcheckError, gradcheck
from .history import History
from .io import load, save
from .ops import (
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
from .sweep import SweepResult, sweep
from .tensor import Tensor, is_grad_enabled, no_grad, tensor
from .train import evaluate_loss, fit

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
