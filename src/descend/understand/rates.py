"""Choosing the learning rate (``lr='auto'``): from the curvature where theory gives it, by a
range test where it does not, and the range test's rate checked by a short measured
comparison on held-out rows.

The rules, checked in this order:

1. **Theory** - a single ``nn.Linear`` with ``mse``, ``bce_with_logits`` or
   ``cross_entropy`` (a convex loss whose curvature ``optimum.curvature`` knows),
   full-batch steps, and the optimizer ``sgd``, ``momentum`` or ``nesterov`` (by
   name). Gradient descent diverges above 2/L (L: the largest curvature, anywhere
   for the logistic losses) and zig-zags above 1/L. With ``sgd`` and the smallest
   curvature mu known, the rate is ``0.9 x 2 / (L + mu)``: ``2 / (L + mu)`` shrinks
   the steepest and the flattest directions alike (the fastest constant rate for
   gradient descent on a quadratic), and a little below it the flattest one
   leads, so the steps do not zig-zag; at most STEEPEST / L = 1.5/L, a quarter
   below the rate that diverges. Without mu, 1/L. With ``momentum`` or
   ``nesterov``, lr = 1/L and, where mu is known, Nesterov's momentum for the
   condition number kappa = L / mu, ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``,
   which takes about sqrt(kappa) epochs per factor e of the gap where plain
   gradient descent takes kappa. Everything is rounded down to two digits. No
   training run is needed.
2. **Range test** - everything else (deeper models, minibatches, Adam and the
   other adaptive optimizers): fastai's ``lr_find``. A copy of the model takes
   RANGE_STEPS steps (minibatches, or full-batch steps) with the rate growing
   geometrically from RANGE_START to RANGE_END, its loss smoothed (an exponential
   average, weight RANGE_SMOOTHING, bias-corrected), until the smoothed loss is 4
   times its lowest. The suggestion is fastai's ``valley``: in the longest run
   of falling losses, the rate two thirds of the way down, with the first 10% and
   the last 5 steps left out.
3. **Measured comparison** - after a range test, or after theory's rate for classes that a
   linear model splits perfectly (``separable``: the exact optimum is 0, the loss has no
   minimum, and how far a run gets in its epochs decides its held-out loss), when ``fit``
   gives the run's settings
   (``trial``) and the rows are in memory (at least MEASURED_ROWS of them, at most
   MEASURED_WORK values of X times epochs): the starting rate times 10^(k/2) for k
   from -2 to 4 (a tenth to 100 times) are compared. For each, copies of the model are
   trained from the same start, with the same optimizer, epochs and batches, on two
   thirds of the training rows, each third held out in turn (MEASURED_FOLDS), and the
   loss on the held-out rows is summed (a copy that diverges counts as infinite). The
   lowest wins; of rates within 1% of it (MEASURED_GAIN: noise), the one closest to the
   starting rate (theory's: also those within MEASURED_Z standard errors of the lowest, row by
   row, for a rate from theory is moved from only on clear evidence); where the lowest is the
   largest (or smallest) rate tried, the walk goes on that way, a factor sqrt(10) at a time
   (MEASURED_FURTHER at most) while it keeps falling.
   The range test sees a few hundred steps of one run; how large a rate the run's epochs
   reward, on rows it did not learn from, only such trials show.

Rule 1's rate is not measured where the loss has a minimum: for a convex loss in full batch
it is the fastest stable descent theory knows, and held-out comparisons on small data sets
mostly measure their noise (``tests/understand/test_rates.py`` shows where each rule lands).

>>> import numpy as np
>>> from descend import nn
>>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])   # mse (w - 1)^2: L = 2
>>> choose_rate(nn.Linear(1, 1, bias=False, init="zeros"), X, y).lr   # 0.9 x 2 / (L + mu)
0.45
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._validation import NONE, at_least, non_negative, validate_params
from ..engine.backend import xp
from ..engine.tensor import no_grad
from ..errors import InputError
from ..learn import losses
from ..learn.blocks import ArrayBlocks, mean_gradient
from ..learn.nn import Linear, Module, from_config
from ..learn.optim import Optimizer, make_optimizer
from ..learn.penalty import L2
from ..learn.training import train
from .curvature import Curvature, curvature, stream_curvature
from .evidence import SEPARABLE
from .optimum import GapUnknown, gap_and_note
from .phrases import round_down

THEORY_OPTIMIZERS = ("sgd", "momentum", "nesterov")
STEEPEST = 1.5
"""Plain SGD's rate from theory stays below STEEPEST / L: a quarter below 2/L, where it diverges,
for an L measured on a sample of the rows."""
MARGIN = 0.9
"""Plain SGD's rate from theory is MARGIN x 2/(L + mu): below it, the flattest direction leads."""
"""Optimizers (by name) whose rate and momentum theory gives from L and mu."""
CONVEX_LOSSES = (losses.mse, losses.bce_with_logits, losses.cross_entropy)
RANGE_START, RANGE_END, RANGE_STEPS = 1e-7, 10.0, 100
"""fastai's lr_find defaults: rates from 1e-7 to 10 over 100 steps."""
RANGE_SMOOTHING = 0.98
"""Weight of the past in the smoothed loss of the range test (fastai's beta)."""
RANGE_STOP = 4.0
"""The range test stops once the smoothed loss is this many times its lowest (diverging)."""


@dataclass
class RangeTest:
    """The rates a range test tried, its smoothed losses and its suggestion."""

    lrs: list[float]
    losses: list[float]
    suggestion: float
    reason: str


@dataclass
class RateChoice:
    """The rate ``lr='auto'`` picks, the momentum (theory, for momentum and nesterov), the rule
    used ('curvature' or 'range test') and why, in words."""

    lr: float
    momentum: float | None
    rule: str
    reason: str
    curvature: Curvature | None = None
    test: RangeTest | None = field(default=None, repr=False)

    def summary(self) -> str:
        """One line: the rate (and momentum) picked, by which rule, and why."""
        momentum = "" if self.momentum is None else f" and momentum={self.momentum:g}"
        return f"picked lr={self.lr:g}{momentum} from the {self.rule}. {self.reason}"

    def optimizer(self, name: str, params: Any) -> Optimizer:
        """The optimizer ``name`` over ``params`` with this rate (and momentum; a momentum of 0,
        for a condition number of about 1, is plain SGD)."""
        if self.momentum == 0:
            return make_optimizer("sgd", params, self.lr)
        extra = {} if self.momentum is None else {"momentum": self.momentum}
        return make_optimizer(name, params, self.lr, **extra)


def theory_applies(model: Any, loss_fn: Any, optimizer: Any, batch_size: int | None) -> bool:
    """Rule 1's conditions: a single Linear, a convex loss, full batch, sgd/momentum/nesterov."""
    return (
        isinstance(model, Linear)
        and loss_fn in CONVEX_LOSSES
        and batch_size is None
        and isinstance(optimizer, str)
        and optimizer.lower() in THEORY_OPTIMIZERS
    )


def nesterov_momentum(kappa: float) -> float:
    """(sqrt(kappa) - 1) / (sqrt(kappa) + 1), rounded down to two digits, at most 0.99 (0 below
    0.001: a condition number of about 1 needs no momentum)."""
    value = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1) if kappa > 1 else 0.0
    if not math.isfinite(value):
        return 0.99
    return min(round_down(value), 0.99) if value >= 1e-3 else 0.0


def from_curvature(curv: Curvature, optimizer: str) -> RateChoice:
    """Rule 1: the rate (and Nesterov's momentum for kappa) from the curvature."""
    L, mu = curv.L, curv.mu
    if optimizer.lower() == "sgd" and mu > 0:
        lr = round_down(min(MARGIN * 2 / (L + mu), STEEPEST / L))
        reason = (
            f"lr = {MARGIN:g} x 2/(L + mu), at most {STEEPEST:g}/L, rounded down, for the "
            f"{curv}: 2/(L + mu) shrinks the steepest and the flattest directions alike, the "
            "fastest rate for plain gradient descent, and a little below it the flattest "
            f"direction leads, so the steps do not zig-zag; 2/L = {2 / L:.3g} would diverge."
        )
    else:
        lr = round_down(1 / L)
        reason = (
            f"lr = 1/L, rounded down, for the {curv}: the largest rate at which no direction "
            f"zig-zags; 2/L = {2 / L:.3g} would diverge."
        )
    momentum = None
    if optimizer.lower() != "sgd" and mu > 0:
        momentum = nesterov_momentum(curv.condition)
        reason += (
            f" Momentum {momentum:g} = (sqrt(kappa) - 1) / (sqrt(kappa) + 1) for the condition "
            f"number kappa = {curv.condition:.3g}: about sqrt(kappa) epochs per factor e of the "
            "gap instead of kappa."
        )
    return RateChoice(lr, momentum, "curvature", reason, curv)


# ----- the range test ----------------------------------------------------------------------
def copy_model(model: Module) -> Module:
    """A new model of the same architecture with a copy of ``model``'s weights."""
    twin = from_config(model.to_config())
    twin.load_state_dict(model.state_dict())
    return twin


def in_memory(rows: Any, dtype: Any) -> ArrayBlocks:
    """The rows themselves when in memory; else a sample of them that is (a Dask partition,
    the first block of table files)."""
    if isinstance(rows, ArrayBlocks):
        return rows
    if hasattr(rows, "sample"):
        _, (X, y, weight) = rows.sample()
    else:
        X, y, weight = next(iter(rows.blocks()))
    return ArrayBlocks(X, y, weight, dtype=dtype)


def _curvature_of(model: Any, rows: Any, loss_fn: Any, alpha: float, dtype: Any) -> Any:
    """The curvature of the rows: in memory, of all of them; in files, summed over their
    blocks (one pass); in Dask partitions, of the first one. None when unknown."""
    try:
        if isinstance(rows, ArrayBlocks) or not hasattr(rows, "blocks"):
            sample = in_memory(rows, dtype)
            return curvature(model, sample.X, sample.y, loss_fn, sample.weight, alpha, checked=True)
        return stream_curvature(model, rows.blocks, loss_fn, alpha)
    except GapUnknown:
        return None


def _steps(rows: ArrayBlocks, batch_size: int | None, seed: int) -> Iterator[Any]:
    """Minibatches (ArrayBlocks of their rows), reshuffled each pass, or the whole rows."""
    if batch_size is None:
        while True:
            yield rows
    rng = xp.random.default_rng(seed)
    while True:
        for index in _shuffled(rows.n_rows, batch_size, rng):
            yield rows.take(index)


def _shuffled(n: int, batch_size: int, rng: Any) -> Iterator[Any]:
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def longest_valley(smoothed: list[float]) -> tuple[int, int]:
    """(start, end): the span of the longest falling subsequence of the losses (fastai's)."""
    longest = [1] * len(smoothed)
    start = end = 0
    for i in range(1, len(smoothed)):
        for j in range(i):
            if smoothed[i] < smoothed[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
            if longest[end] < longest[i]:
                end, start = i, max(i - longest[i], 0)
    return start, end


def valley(lrs: list[float], smoothed: list[float]) -> int:
    """fastai's ``valley``: the index two thirds down the longest run of falling losses."""
    start, end = longest_valley(smoothed)
    third = (end - start) / 3
    return start + int(third) + int(third / 2)


def range_test(
    model: Module,
    rows: ArrayBlocks,
    loss_fn: Any,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    seed: int = 0,
    alpha: float = 0.0,
) -> RangeTest:
    """Rule 2 (fastai's ``lr_find``) on a copy of ``model``; the model stays as it is."""
    twin = copy_model(model)
    twin.train()
    opt = make_optimizer(optimizer, twin.parameters(), RANGE_START)
    growth, penalty = (RANGE_END / RANGE_START) ** (1 / (RANGE_STEPS - 1)), L2(alpha)
    lrs, smoothed, average, best = [], [], 0.0, math.inf
    with xp.errstate(over="ignore", invalid="ignore"):
        for step, part in zip(range(RANGE_STEPS), _steps(rows, batch_size, seed)):
            lr = RANGE_START * growth**step
            opt.set_lr(lr)
            loss = mean_gradient(twin, part, loss_fn, penalty)
            if not math.isfinite(loss):
                break
            opt.step()
            average = RANGE_SMOOTHING * average + (1 - RANGE_SMOOTHING) * loss
            value = average / (1 - RANGE_SMOOTHING ** (step + 1))
            lrs.append(lr)
            smoothed.append(value)
            best = min(best, value)
            if value > RANGE_STOP * best:
                break
    return _suggest(lrs, smoothed)


def _suggest(lrs: list[float], smoothed: list[float]) -> RangeTest:
    """The valley's rate, from the steps fastai keeps (not the first 10%, not the last 5)."""
    kept = slice(RANGE_STEPS // 10, -5 if len(lrs) > RANGE_STEPS // 10 + 5 else None)
    rates, values = lrs[kept], smoothed[kept]
    if len(rates) < 3:
        raise InputError(
            "lr='auto': the range test diverged within its first steps (at rates from "
            f"{RANGE_START:g}); check the data for extreme values, or pass lr as a number."
        )
    pick, (start, end) = valley(rates, values), longest_valley(values)
    lr = float(f"{rates[pick]:.2g}")
    reason = (
        f"a range test (fastai's lr_find): {len(lrs)} steps with the rate growing from "
        f"{RANGE_START:g} to {lrs[-1]:.2g}; the smoothed loss fell longest from "
        f"{values[start]:.4g} at {rates[start]:.2g} to {values[end]:.4g} at {rates[end]:.2g}, "
        f"and lr={lr:g} is two thirds of the way down that valley."
    )
    return RangeTest(lrs, smoothed, lr, reason)


# ----- the measured comparison ----------------------------------------------------------------
MEASURED_FOLDS = 3
"""The measured comparison (rule 3) holds out each third of the training rows in turn."""
MEASURED_ROWS = 60
"""Training rows from which the measured comparison runs (fewer: too few to hold out)."""
MEASURED_RANGE = (1e-7, 1e3)
"""The rates the measured comparison walks between."""
MEASURED_GAIN = 0.01
"""Held-out losses within this share of the lowest count as equal: of those, the rate closest
to the starting one is picked."""
MEASURED_Z = 1.0
"""...or within this many standard errors of the difference, row by row (the same rows held
out: a paired comparison; the held-out loss of a few rows can decide a small data set's)."""
MEASURED_STEPS = range(-2, 5)
"""The rates compared: the starting one times 10^(k/2) for these k (a tenth to 100 times)."""
MEASURED_FURTHER = 4
"""Rates tried beyond MEASURED_STEPS, a factor sqrt(10) at a time, while the lowest held-out
loss is at an end of the rates tried (the range test's pick can be far off: a target of large
scale, which a few hundred steps do not show)."""
MEASURED_WORK = 5e6
"""Values of X times epochs up to which the measured comparison runs (its trials cost about
20 runs on two thirds of the rows)."""


def _trial(
    model: Module, rows: ArrayBlocks, folds: list[Any], loss_fn: Any, optimizer: Any,
    choice: RateChoice, lr: float, settings: dict[str, Any],
) -> Any:  # fmt: skip
    """Each row's held-out loss under copies of ``model`` trained at ``lr``, each on all the
    rows but one fold and measured on that fold (inf for all when a copy diverged)."""
    per_row = xp.zeros(rows.n_rows)
    for held in folds:
        twin = copy_model(model)
        opt = RateChoice(lr, choice.momentum, choice.rule, "").optimizer(
            optimizer, twin.parameters()
        )
        kept = xp.setdiff1d(xp.arange(rows.n_rows), held)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = train(
                twin, rows.take(kept), loss_fn, opt, None, verbose=False, log_every=0, **settings
            )
        values = row_losses(twin, rows.take(held), loss_fn)
        if history.stop_reason == "diverged" or not bool(xp.isfinite(values).all()):
            return xp.full(rows.n_rows, math.inf)
        per_row[held] = values
    return per_row


def row_losses(model: Module, rows: ArrayBlocks, loss_fn: Any) -> Any:
    """Each row's loss (times its weight over the mean weight): their mean is the loss."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            per = xp.asarray(loss_fn(model(rows.X), rows.y, reduction="none").data)
    finally:
        if was_training:
            model.train()
    per = per.reshape(rows.n_rows, -1).mean(axis=1)
    return per if rows.weight is None else per * rows.weight / rows.weight.mean()


def equal(a: Any, b: Any) -> bool:
    """True when the held-out losses ``a`` (row by row) are worse than ``b``'s by at most
    MEASURED_GAIN of them, or by at most MEASURED_Z standard errors of the difference (the
    same rows: a paired comparison)."""
    if not bool(xp.isfinite(a).all()):
        return False
    difference = a - b
    noise = MEASURED_Z * float(difference.std()) / math.sqrt(len(difference))
    return float(difference.mean()) <= max(MEASURED_GAIN * float(b.mean()), noise)


def thirds(n: int, seed: int) -> list[Any]:
    """The row positions of MEASURED_FOLDS folds of n rows, drawn at random (``seed``)."""
    order = xp.random.default_rng(seed).permutation(n)
    return [xp.sort(part) for part in xp.array_split(order, MEASURED_FOLDS)]


def measured(
    model: Module, rows: ArrayBlocks, loss_fn: Any, optimizer: str, choice: RateChoice,
    settings: dict[str, Any],
) -> RateChoice:  # fmt: skip
    """Rule 3: of the starting rate times 10^(k/2) (MEASURED_STEPS, then on past the end
    where the lowest lies, MEASURED_FURTHER at most), the one whose copies of the model end
    with the lowest loss on the rows they did not train on (MEASURED_FOLDS folds; within
    MEASURED_GAIN of the lowest, the one closest to the starting rate)."""
    folds = thirds(rows.n_rows, settings["seed"])
    trials: dict[float, Any] = {}

    def score(lr: float) -> float:
        lr = float(f"{lr:.2g}")
        if lr not in trials:
            low, high = MEASURED_RANGE
            trials[lr] = (
                _trial(model, rows, folds, loss_fn, optimizer, choice, lr, settings)
                if low <= lr <= high
                else xp.full(rows.n_rows, math.inf)
            )
        return float(trials[lr].mean())

    start = float(f"{choice.lr:.2g}")
    rates = [float(f"{start * 10 ** (k / 2):.2g}") for k in MEASURED_STEPS]
    for _ in range(MEASURED_FURTHER):  # the lowest at an end of the walk: walk on that way
        lowest = min(rates, key=score)
        end = {rates[0]: 10**-0.5, rates[-1]: 10**0.5}.get(lowest)
        if end is None or not math.isfinite(score(lowest)):
            break
        further = float(f"{lowest * end:.2g}")
        if not score(further) < score(lowest):
            break
        rates = [further, *rates] if end < 1 else [*rates, further]
    lowest = min(rates, key=score)
    if choice.rule == "curvature":  # a rate from theory: moved from only on clear evidence
        close = [lr for lr in rates if equal(trials[lr], trials[lowest])]
    else:
        close = [lr for lr in rates if score(lr) <= (1 + MEASURED_GAIN) * score(lowest)]
    best = min(close, key=lambda lr: abs(math.log(lr / start)))
    tried = ", ".join(f"{score(lr):.4g} at lr={lr:g}" for lr in sorted(trials))
    reason = (
        f"{choice.reason} Then a measured comparison: copies of the model trained for "
        f"{settings['epochs']} epochs on two thirds of the training rows, each third held out "
        f"in turn, ended with a held-out loss of {tried}; lr={best:g} is the lowest (or, of "
        f"those within {MEASURED_GAIN:.0%} of it or {MEASURED_Z:g} standard errors row by row, "
        "the closest to the starting rate)."
    )
    return RateChoice(best, choice.momentum, f"{choice.rule} and a measured comparison", reason,
                      choice.curvature, choice.test)  # fmt: skip


def measurable(rows: Any, epochs: int) -> bool:
    """Rule 3's conditions: the rows in memory, at least MEASURED_ROWS of them, and at most
    MEASURED_WORK values of X times epochs."""
    if not isinstance(rows, ArrayBlocks):
        return False
    return rows.n_rows >= MEASURED_ROWS and rows.X.size * epochs <= MEASURED_WORK


# ----- the choice ------------------------------------------------------------------------------
@validate_params(
    {"batch_size": [at_least(1), NONE], "seed": [non_negative(int)], "alpha": [non_negative()]}
)
def choose_rate(
    model: Module,
    X: Any = None,
    y: Any = None,
    loss: Any = "mse",
    optimizer: str | Optimizer = "sgd",
    batch_size: int | None = None,
    seed: int = 0,
    sample_weight: Any = None,
    alpha: float = 0.0,
    rows: ArrayBlocks | None = None,
    trial: dict[str, Any] | None = None,
) -> RateChoice:
    """The learning rate (and momentum) ``fit(lr='auto')`` uses, by the rules of this module:
    ``choose_rate(model, X, y, 'mse', 'nesterov').lr``. ``rows``: the training rows already
    in blocks (instead of X, y and sample_weight). ``trial``: the run's settings for
    ``learn.training.train`` (epochs, batch_size, seed, tol, patience, alpha...), which
    rule 3 trains its copies with; without it, rules 1 and 2 alone."""
    if not isinstance(optimizer, str):
        raise InputError(
            "lr='auto' needs the optimizer by name (such as 'sgd' or 'adam'): an Optimizer "
            "object already carries its learning rate."
        )
    loss_fn = losses.get_loss(loss)
    dtype = model.parameters()[0].data.dtype
    if rows is None:
        rows = ArrayBlocks(X, y, sample_weight, dtype=dtype)
    choice = _starting_rate(model, rows, loss_fn, optimizer, batch_size, seed, alpha, dtype)
    if trial is None or not measurable(rows, trial["epochs"]):
        return choice
    if choice.rule == "range test" or separable(model, rows, loss_fn, alpha):
        return measured(model, rows, loss_fn, optimizer, choice, trial)
    return choice


def separable(model: Module, rows: ArrayBlocks, loss_fn: Any, alpha: float) -> bool:
    """True for classes a linear model splits perfectly (without alpha): the exact optimum is
    0 (``optimum.py``), so the loss has no minimum and theory's rate is no better than others:
    how far a run gets in its epochs, and how extreme its probabilities are on new rows, only
    the measured comparison shows."""
    if alpha or loss_fn not in (losses.bce_with_logits, losses.cross_entropy):
        return False
    gap, _ = gap_and_note(model, rows.X, rows.y, loss_fn, rows.weight)
    return gap is not None and gap.optimum <= SEPARABLE * gap.reached


def _starting_rate(
    model: Module, rows: Any, loss_fn: Any, optimizer: str, batch_size: int | None, seed: int,
    alpha: float, dtype: Any,
) -> RateChoice:  # fmt: skip
    """Rules 1 and 2: the rate (and momentum) from the curvature, or by the range test."""
    if theory_applies(model, loss_fn, optimizer, batch_size):
        curv = _curvature_of(model, rows, loss_fn, alpha, dtype)
        if curv is not None and 0 < curv.L < math.inf:
            return from_curvature(curv, optimizer)
    test = range_test(model, in_memory(rows, dtype), loss_fn, optimizer, batch_size, seed, alpha)
    reason = test.reason[0].upper() + test.reason[1:]
    return RateChoice(test.suggestion, None, "range test", reason, test=test)
