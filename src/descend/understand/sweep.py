"""Learning-rate sweeps: train a fresh model per learning rate and recommend one.

``sweep`` trains the same model (same starting weights) once per learning
rate and diagnoses each run. Every run is judged by the loss of the weights it
returns, on all the training rows (``History.final_loss``; for minibatch runs
too, not the mean loss of an epoch's minibatches, which belongs to weights that
changed during the epoch). The recommendation, by these rules:

1. the largest learning rate whose run neither zig-zagged nor diverged and whose
   loss is within CLOSE (1%) of the sweep's lowest (over the runs that did not
   diverge; for a perfect fit, within 1e-12 of the starting loss);
2. if no such run, the rate of that lowest loss;
3. if every run zig-zagged or diverged, the rate below 1/L estimated from the
   smallest one that zig-zagged (or diverged).

For a linear or logistic model the result carries the curvature, so the table
and the picture put each rate against 1/L and 2/L. ``fit(lr='auto')`` needs
no sweep: see ``understand/rates.py``. ``descent_paths`` records the weights of
a one-feature model step by step, for the picture of gradient descent on its
loss surface.
A Ctrl-C stops a sweep at once: it returns the runs that finished (``not_run``
lists the rates left), or raises KeyboardInterrupt when none did.

>>> import numpy as np
>>> from descend import nn
>>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])   # mse has curvature L = 2
>>> result = sweep(nn.Linear(1, 1, bias=False, init="zeros"), X, y, lrs=[0.1, 0.3, 0.8, 3.0])
>>> [d.verdict for d in result.diagnoses], result.recommended_lr
(['converged', 'converged', 'oscillating', 'diverged'], 0.3)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import interrupts
from .._validation import (
    NONE,
    InstanceOf,
    Options,
    Satisfies,
    at_least,
    positive,
    validate_params,
)
from ..data import to_array
from ..engine.backend import xp
from ..errors import InputError
from ..learn.blocks import ArrayBlocks
from ..learn.callbacks import Callback, ConvergenceWarning, Run
from ..learn.history import History
from ..learn.losses import get_loss
from ..learn.nn import Linear, Module, from_config
from ..learn.training import held_out, printer
from .curvature import curvature as largest_curvature
from .diagnose import Diagnosis
from .evidence import ZIGZAG
from .optimum import least_squares, logistic_optimum
from .rates import choose_rate
from .runs import curvature_of, diagnosed_train

DEFAULT_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The default grid: log-spaced from 1e-4 to 10, two rates per decade."""
CLOSE = 0.01
"""A run is as good as the best when the loss of its weights is within this share of the best's."""
PERFECT = 1e-12
"""Share of the starting loss within which two (near-)perfect fits count as equally good."""
STABLE = ("converged", "still_improving", "plateaued", "overfitting")
"""Verdicts of runs that neither zig-zagged nor diverged."""


def _copy(model: Module) -> Module:
    """A new module with the same architecture and the same weights."""
    twin = from_config(model.to_config())
    twin.load_state_dict(model.state_dict())
    return twin


def _factory(model_factory: Any) -> Callable[[], Module]:
    if isinstance(model_factory, Module):
        return lambda: _copy(model_factory)
    if not callable(model_factory):
        raise InputError(
            "sweep needs a model or a function that builds one, such as "
            f"lambda: nn.Linear(3, 1); got {type(model_factory).__name__}."
        )

    def build() -> Module:
        model = model_factory()
        if not isinstance(model, Module):
            raise InputError(
                f"The model_factory of sweep must return a descend Module; it returned "
                f"{type(model).__name__}."
            )
        return model

    return build


def _learning_rates(lrs: Any) -> list[float]:
    if lrs is None:
        return list(DEFAULT_LRS)
    values = [lrs] if isinstance(lrs, (int, float)) else list(lrs)
    return sorted({float(v) for v in values})


def epochs_to_converge(history: History, diagnosis: Diagnosis) -> int | None:
    """Epochs until the loss had made 99% of its decrease; None for runs that did not settle
    (diverged, still improving, or never lower than at the start)."""
    first, final = history.loss[0], history.loss[-1]
    if diagnosis.verdict in ("diverged", "still_improving") or not first > final:
        return None
    for k, value in enumerate(history.loss):
        if value - final <= 0.01 * (first - final):
            return k + 1
    return history.epochs


@dataclass
class SweepResult:
    """The runs of a sweep (one per learning rate, ascending), and the recommendation."""

    lrs: list[float]
    histories: list[History]
    diagnoses: list[Diagnosis]
    recommended_lr: float
    reason: str
    L: float | None = None
    """The loss's largest curvature, when known (linear and logistic models): 1/L and 2/L."""
    not_run: list[float] = field(default_factory=list)
    """Rates the sweep did not train because it was interrupted (Ctrl-C)."""

    @property
    def final_losses(self) -> list[float]:
        """The loss of the weights each run returned, on all the training rows."""
        return [loss_of(h) for h in self.histories]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run: lr, final_loss (of the weights returned), epochs,
        epochs_to_converge, verdict."""
        return [
            {
                "lr": lr,
                "final_loss": loss_of(h),
                "epochs": h.epochs,
                "epochs_to_converge": epochs_to_converge(h, d),
                "verdict": d.verdict,
            }
            for lr, h, d in zip(self.lrs, self.histories, self.diagnoses)
        ]

    def table(self) -> str:
        """The runs as a text table, the recommended one marked."""
        lines = [f"{'lr':>8}  {'final loss':>11}  {'epochs to converge':>18}  verdict"]
        for row in self.rows():
            reached = row["epochs_to_converge"]
            converge = f"{reached}" if reached is not None else f"not in {row['epochs']}"
            if row["verdict"] == "diverged":
                converge = f"(stopped at {row['epochs']})"
            mark = "   <- recommended" if row["lr"] == self.recommended_lr else ""
            lines.append(
                f"{row['lr']:>8g}  {row['final_loss']:>11.4g}  {converge:>18}  "
                f"{row['verdict']}{mark}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.table()}\nRecommended: lr={self.recommended_lr:g}. {self.reason}"


def loss_of(history: History) -> float:
    """The loss a run is judged by: its weights' loss on all the training rows (the last epoch's
    loss for a History that does not have it)."""
    return history.loss[-1] if history.final_loss is None else history.final_loss


def run_line(lr: float, history: History) -> str:
    """One line on one run of a sweep: ``lr=0.1: converged, loss 5.299 -> 0.02228 in 47 epochs``."""
    verdict = (history.diagnosis or {}).get("verdict", "?")
    return (
        f"lr={lr:g}: {verdict}, loss {history.loss[0]:.4g} -> {loss_of(history):.4g} in "
        f"{history.epochs} epochs"
    )


def _listing(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _unsteady(lrs: list[float], diagnoses: list[Diagnosis], above: float) -> str:
    """' Larger rates zig-zagged (1) or diverged (3, 10).' for the rates above ``above``."""
    kinds = {
        "zig-zagged": [lr for lr, d in zip(lrs, diagnoses) if lr > above and zigzagged(d)],
        "diverged": [lr for lr, d in zip(lrs, diagnoses) if lr > above and d.verdict == "diverged"],
    }
    parts = [f"{what} ({_listing(rates)})" for what, rates in kinds.items() if rates]
    return " Larger rates " + " or ".join(parts) + "." if parts else ""


def _recommend(
    lrs: list[float], histories: list[History], diagnoses: list[Diagnosis], start: float
) -> tuple[float, str]:
    """(recommended learning rate, why) by the rules of the module docstring."""
    verdicts = [d.verdict for d in diagnoses]
    reached = [loss_of(h) for h in histories]
    kept = [i for i, v in enumerate(verdicts) if v != "diverged" and math.isfinite(reached[i])]
    stable = [i for i in kept if not zigzagged(diagnoses[i])]
    if not stable:
        return _below_one_over_l(lrs, diagnoses, verdicts)
    lowest = min(kept, key=lambda i: reached[i])  # over every run that did not diverge
    best = reached[lowest]
    close = [i for i in stable if reached[i] <= best + CLOSE * abs(best) + PERFECT * abs(start)]
    if not close:
        nearest = min(stable, key=lambda i: reached[i])
        reason = (
            f"Its run reached the sweep's lowest loss ({best:.4g}, {verdicts[lowest]}) and no "
            f"run that descended smoothly came within {CLOSE:.0%} of it (the closest, "
            f"lr={lrs[nearest]:g}, reached {reached[nearest]:.4g})."
        )
        if zigzagged(diagnoses[lowest]):
            reason += f" It zig-zags: {diagnoses[lowest].suggestion}"
        return lrs[lowest], reason
    pick = max(close, key=lambda i: lrs[i])
    cosine = diagnoses[pick].evidence.get("update_cosine", math.nan)
    moves = f", update cosine {cosine:+.2f}" if math.isfinite(cosine) else ""
    reason = (
        f"It is the largest learning rate whose run neither zig-zagged nor diverged "
        f"({verdicts[pick]}{moves}) and whose weights' loss is within {CLOSE:.0%} of the sweep's "
        f"lowest loss ({best:.4g}, lr={lrs[lowest]:g})."
    ) + _unsteady(lrs, diagnoses, lrs[pick])
    if verdicts[pick] in ("still_improving", "slow_valley"):
        reason += f" Its loss was still falling: {diagnoses[pick].suggestion}"
    return lrs[pick], reason


def zigzagged(diagnosis: Diagnosis) -> bool:
    """True for an oscillating run, or one whose weights zig-zagged (update cosine below
    ZIGZAG) on their way into the tolerance (converged all the same)."""
    cosine = diagnosis.evidence.get("update_cosine", math.nan)
    return diagnosis.verdict == "oscillating" or (
        diagnosis.verdict != "diverged" and cosine < ZIGZAG
    )


def _below_one_over_l(
    lrs: list[float], diagnoses: list[Diagnosis], verdicts: list[str]
) -> tuple[float, str]:
    """Every run zig-zagged or diverged: the rate below 1/L that the smallest zig-zag (or
    blow-up) points to."""
    zigzag = [i for i, d in enumerate(diagnoses) if zigzagged(d)]
    source = zigzag[0] if zigzag else 0
    estimate = diagnoses[source].suggested.get("lr", lrs[source] / 10)
    what = "zig-zagged or diverged" if zigzag else "diverged"
    return estimate, (
        f"Every learning rate {what}; lr={estimate:g} (not tried here) is the rate below 1/L "
        f"estimated from the run with lr={lrs[source]:g}. Sweep smaller rates to confirm it."
    )


LRS = [
    positive(),
    Satisfies(
        lambda v: len(v) > 0 and all(positive().satisfied(r) for r in v),
        "a list of learning rates in (0, inf), such as [0.001, 0.01, 0.1]",
        invalid=[0.1, -1.0],
    ),
    NONE,
]


@validate_params(
    {
        "lrs": LRS,
        "epochs": [at_least(1)],
        "optimizer": [
            InstanceOf(str, "an optimizer name such as 'sgd' or 'adam' (each run builds its own)")
        ],
    }
)
@interrupts.entry()
def sweep(
    model_factory: Module | Callable[[], Module],
    X: Any,
    y: Any,
    lrs: Sequence[float] | None = None,
    epochs: int = 100,
    loss: Any = "mse",
    optimizer: str = "sgd",
    batch_size: int | None = None,
    seed: int = 0,
    *,
    verbose: Any = False,
    **fit_kwargs: Any,
) -> SweepResult:
    """Train a fresh model per learning rate and recommend one: ``print(sweep(model, X, y))``.

    ``model_factory`` is a Module (every run starts from a copy of its
    weights, which stay untouched) or a function that builds a new one.
    ``lrs`` defaults to DEFAULT_LRS; the other arguments, and ``fit_kwargs``
    (``tol``, ``validation``, ``sample_weight``, ...), mean what they mean in ``fit``.
    """
    build = _factory(model_factory)
    rates = _learning_rates(lrs)
    weight, block_size = fit_kwargs.pop("sample_weight", None), fit_kwargs.pop("block_size", None)
    first = build()
    rows = ArrayBlocks(X, y, weight, block_size, dtype=_dtype(first))
    rows, held = held_out(rows, fit_kwargs.pop("validation", None), seed, rows.X.dtype)
    kwargs = {"batch_size": batch_size, "seed": seed, "validation": held, **fit_kwargs}
    return _sweep(build, rows, rates, epochs, get_loss(loss), optimizer, verbose, kwargs, first)


def _dtype(model: Module) -> Any:
    params = model.parameters()
    return params[0].data.dtype if params else None


def _sweep(
    build: Callable[[], Module],
    rows: ArrayBlocks,
    rates: list[float],
    epochs: int,
    loss_fn: Any,
    optimizer: str,
    verbose: Any,
    kwargs: dict[str, Any],
    first: Module | None = None,
) -> SweepResult:
    """One diagnosed run per rate on the same rows, from the same starting weights
    (``first``: a model already built, for the loss at the start and the curvature)."""
    first = first or build()
    start = rows.loss(first, loss_fn)
    curvature = curvature_of(first, rows, loss_fn, kwargs.get("alpha", 0.0))
    histories = []
    for lr in rates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                history = diagnosed_train(
                    build(), rows, loss_fn, optimizer, lr, epochs, verbose=False,
                    curvature=curvature, **kwargs,
                )  # fmt: skip
        except KeyboardInterrupt:  # before the run's first epoch
            break
        if history.stop_reason == "interrupted":  # a run cut short is not a finished run
            break
        histories.append(history)
        if verbose:
            printer(verbose)(run_line(lr, history))
    if not histories:
        raise KeyboardInterrupt
    done = len(histories)
    return sweep_result(rates[:done], histories, start, not_run=rates[done:])


def sweep_result(
    lrs: Sequence[float],
    histories: Sequence[History],
    start: float | None = None,
    not_run: Sequence[float] = (),
) -> SweepResult:
    """The SweepResult of runs already made, one History per learning rate (ascending).

    ``start`` is the loss of the starting weights; by default the largest first
    loss of the runs that did not diverge (with full batches, the same for all).
    Where the diagnoses know the curvature L (linear and logistic models), the
    reason puts the recommendation against 1/L and 2/L.
    ``not_run``: the rates an interrupt left untried (the reason says so).
    """
    diagnoses = [Diagnosis.from_dict(h.diagnosis or {}) for h in histories]
    if start is None:
        firsts = [h.loss[0] for h, d in zip(histories, diagnoses) if d.verdict != "diverged"]
        start = max(firsts) if firsts else histories[0].loss[0]
    recommended, reason = _recommend(list(lrs), list(histories), diagnoses, start)
    L = next((d.evidence["L"] for d in diagnoses if "L" in d.evidence), None)
    if L:
        reason += (
            f" The loss's largest curvature is L = {L:.4g}: 1/L = {1 / L:.3g} is the largest "
            f"rate that does not zig-zag and 2/L = {2 / L:.3g} the one that diverges "
            f"(lr={recommended:g} is {recommended * L:.2g}/L)."
        )
    if not_run:
        reason += (
            f" The sweep was interrupted after {len(lrs)} of {len(lrs) + len(not_run)} "
            f"learning rates; not tried: {_listing(not_run)}."
        )
    return SweepResult(list(lrs), list(histories), diagnoses, recommended, reason, L, list(not_run))


def auto_lr(
    model: Module,
    X: Any,
    y: Any,
    loss: Any = "mse",
    optimizer: Any = "sgd",
    batch_size: int | None = None,
    seed: int = 0,
    verbose: Any = True,
    sample_weight: Any = None,
) -> float:
    """The learning rate ``fit(lr='auto')`` picks for ``model`` on (X, y), by the rules of
    ``understand/rates.py`` (the curvature, or a range test); the model stays as it is."""
    choice = choose_rate(model, X, y, loss, optimizer, batch_size, seed, sample_weight)
    if verbose:
        printer(verbose)(f"lr='auto': {choice.summary()}")
    return choice.lr


# ----- descent paths, for the picture of the loss surface -------------------------------
PATH_LOSSES = ("mse", "bce_with_logits")
"""The losses of the one-feature models whose descent paths ``descent_paths`` records."""


def line_loss(x: Any, y: Any, weight: Any, bias: Any, loss: str = "mse", offset: Any = 0.0) -> Any:
    """The mean loss of ``z = weight * x + bias + offset`` on the rows (x, y): MSE of z, or
    binary cross-entropy of the logits z (y in {0, 1}). ``weight`` and ``bias`` broadcast, so
    a grid gives a surface; ``offset`` (one value per row) holds what the other weights of a
    linear model add, for a slice of its loss. Row blocks keep a large grid in memory."""
    w = xp.asarray(weight, dtype=float)[..., None]
    b = xp.asarray(bias, dtype=float)[..., None]
    offset = xp.broadcast_to(xp.asarray(offset, dtype=float), xp.shape(x))
    points = int(xp.prod(xp.broadcast_shapes(w.shape[:-1], b.shape[:-1])))
    rows = max(1, (1 << 20) // max(points, 1))  # about a million values at a time
    total = 0.0
    for start in range(0, len(x), rows):
        part = slice(start, start + rows)
        z = w * x[part] + b + offset[part]
        if loss == "mse":
            per_row = (z - y[part]) ** 2
        else:
            per_row = xp.maximum(z, 0) - z * y[part] + xp.log1p(xp.exp(-xp.abs(z)))
        total = total + per_row.sum(axis=-1)
    return total / len(x)


@dataclass
class DescentPaths:
    """Weight and bias of a one-feature model after each epoch, for several learning rates."""

    x: Any
    y: Any
    lrs: list[float]
    paths: list[Any]
    histories: list[History]
    curvature: float
    optimum: Any
    loss_name: str = "mse"

    def loss(self, weight: Any, bias: Any) -> Any:
        """The loss of the line ``weight * x + bias`` (arrays broadcast: a grid gives a surface)."""
        return line_loss(self.x, self.y, weight, bias, self.loss_name)


class _Record(Callback):
    """Keeps (weight, bias) after every epoch."""

    def __init__(self, points: list[Any]) -> None:
        self.points = points

    def on_epoch_end(self, run: Run) -> None:
        self.points.append(xp.concatenate([p.data.ravel() for p in run.params]))


def line_optimum(x: Any, y: Any, loss: str = "mse") -> Any:
    """The best (weight, bias) of ``weight * x + bias``: least squares, or Newton's method on
    the logistic loss (y in {0, 1})."""
    if loss == "mse":
        return least_squares(x[:, None], y)
    return logistic_optimum(x[:, None], y)


@validate_params({"loss": [Options(*PATH_LOSSES)], "epochs": [at_least(1)]})
def descent_paths(
    x: Any = None,
    y: Any = None,
    lrs: Sequence[float] | None = None,
    epochs: int = 50,
    loss: str = "mse",
) -> DescentPaths:
    """Train ``weight * x + bias`` from (0, 0) by full-batch gradient descent for each
    learning rate, recording the path: ``descent_paths().paths[0][-1]`` is where lr #0 ended.

    ``loss`` is ``'mse'`` or ``'bce_with_logits'`` (y in {0, 1}: logistic regression).
    Defaults: the patients' creatinine (mg/dL above the mean, so that the
    weight and the bias are two separate directions of the surface) against
    INR, and learning rates 0.1/L, 0.9/L and 1.95/L (too small, just right, too
    large) for the surface's curvature L: the largest eigenvalue of its Hessian
    (logistic: of its largest Hessian, at p = 1/2 for every row).
    """
    if x is None and y is None:
        from ..datasets import load_patients

        table, y, names = load_patients()
        x = table[:, names.index("creatinine")]
        x = x - x.mean()
    if x is None or y is None:
        raise InputError("descent_paths needs both x and y (or neither, for the patients).")
    x = to_array(x, name="x", ndim=1)
    y = to_array(y, name="y", ndim=1)
    if len(x) != len(y):
        raise InputError(f"x has {len(x)} values but y has {len(y)}; give one target per x.")
    if loss != "mse" and not bool(xp.isin(y, (0.0, 1.0)).all()):
        raise InputError("descent_paths with loss='bce_with_logits' needs y of 0s and 1s.")
    curvature = largest_curvature(Linear(1, 1, init="zeros"), x[:, None], y, loss).L
    optimum = line_optimum(x, y, loss)
    rates = (
        [float(f"{k / curvature:.2g}") for k in (0.1, 0.9, 1.95)]
        if lrs is None
        else _learning_rates(lrs)
    )
    paths, histories = [], []
    for lr in rates:
        model = Linear(1, 1, init="zeros")
        points = [xp.zeros(2)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            history = diagnosed_train(
                model, ArrayBlocks(x[:, None], y), get_loss(loss), "sgd", lr, epochs,
                tol=None, verbose=False, callbacks=[_Record(points)],
            )  # fmt: skip
        paths.append(xp.stack(points))
        histories.append(history)
    return DescentPaths(x, y, rates, paths, histories, curvature, optimum, loss)
