"""descend: make a model learn by gradient descent, and see every step of it.

>>> import descend
>>> w = descend.tensor([0.5], requires_grad=True)
>>> loss = ((descend.tensor([2.0]) * w - 3.0) ** 2).mean()
>>> loss.backward(); w.grad
array([-8.])
"""

# The first statements, before any import but `sys` (built in, loaded before any Python code
# runs): from here on, a Ctrl-C while descend starts is one line, not a traceback. Before them
# only CPython's own start runs (its `site` module; runpy for `python -m`; the import system
# finding this package), which no code of descend can reach. descend/__main__.py puts the
# hook back for the command line.
import sys as _sys

_previous_hook = _sys.excepthook
_ctrl_c: list[int] = []  # a Ctrl-C came while descend started (one an import swallowed, too)


def _interrupted_while_starting(kind: type, value: BaseException, trace: object) -> None:
    """``sys.excepthook`` while descend starts, used once: an uncaught Ctrl-C is one line, and
    so is an error that a Ctrl-C caused (a C extension's import turns it into an ImportError:
    a script then exits as Ctrl-C makes it, with status 130)."""
    if _sys.excepthook is _interrupted_while_starting:
        _sys.excepthook = _previous_hook  # an interactive session's next error is its own
    if not issubclass(kind, KeyboardInterrupt) and not _ctrl_c:
        _previous_hook(kind, value, trace)  # type: ignore[arg-type]
        return
    _sys.stderr.write("descend: interrupted while starting; nothing was written.\n")
    if not issubclass(kind, KeyboardInterrupt) and not hasattr(_sys, "ps1"):
        import os

        _sys.stderr.flush()
        os._exit(130)


_sys.excepthook = _interrupted_while_starting

import signal as _signal


def _on_ctrl_c(signum: int, frame: object) -> None:
    """SIGINT while descend starts, once: remembered, then Python's own handler again."""
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    _ctrl_c.append(signum)
    raise KeyboardInterrupt


_handler = _signal.getsignal(_signal.SIGINT)
if _handler is _signal.default_int_handler or getattr(_handler, "__module__", "") == __name__:
    try:  # noqa: SIM105 (as few imports as can be before it)
        _signal.signal(_signal.SIGINT, _on_ctrl_c)  # Python's, or a failed import's own
    except ValueError:  # imported outside the main thread: signals reach the main thread only
        pass

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

if _signal.getsignal(_signal.SIGINT) is _on_ctrl_c:  # descend has started
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
if _ctrl_c:  # an import swallowed a Ctrl-C (it only failed an optional import): end here
    raise KeyboardInterrupt
if _sys.excepthook is _interrupted_while_starting:
    _sys.excepthook = _previous_hook

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
