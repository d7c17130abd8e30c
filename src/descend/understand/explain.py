"""One step of gradient descent on a tiny example, every number shown, in the lesson's four steps.

``explain()`` takes a few rows (by default three of the lesson's patients),
makes the forward pass, computes the loss, gets the gradient of every weight
from ``backward()`` and checks it against central finite differences and the
lesson's formula, applies the update rule and computes the loss again.

>>> step = explain(rows=2)
>>> step.loss_after < step.loss_before
True
>>> print(str(step).splitlines()[0])
One step of gradient descent, by hand: linear regression on 2 rows of the lesson's patients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._validation import (
    Boolean,
    Interval,
    Options,
    at_least,
    check,
    positive,
    validate_params,
)
from ..data import LabelEncoder, Preprocessor, to_array
from ..engine import ops
from ..engine.backend import xp
from ..engine.tensor import Tensor, no_grad
from ..errors import InputError
from ..learn import losses
from ..learn.nn import Linear
from ..learn.optim import make_optimizer
from .curvature import curvature

TASKS = ("regression", "classification")
LESSON_WEIGHTS = (0.1, -0.3, 0.5)
"""The lesson's starting weights for age, weight and creatinine."""
STEP = 1e-6
"""The step h of the central differences (L(w + h) - L(w - h)) / 2h."""


def _num(x: float) -> str:
    """A number with six significant digits."""
    return f"{x:.6g}"


def _factor(x: float) -> str:
    """A number as a factor in a product: negative ones in parentheses."""
    return f"({_num(x)})" if x < 0 else _num(x)


@dataclass
class Explanation:
    """The numbers of one gradient-descent step; ``str()`` tells it in the lesson's four steps."""

    task: str
    names: list[str]
    X: Any
    y: Any
    lr: float
    weights: Any
    bias: float
    predictions: Any
    loss_before: float
    gradients: Any
    finite_differences: Any
    formula: Any
    new_weights: Any
    new_bias: float
    loss_after: float
    smaller_lr: float | None = None
    """When the step did not lower the loss: the first of lr/10, lr/100, ... whose step does."""
    L: float = math.nan
    """The largest curvature of this loss on these rows (``curvature.curvature``; for the
    cross-entropy, its largest anywhere): steps above 2/L overshoot."""
    text: str = field(repr=False, default="")

    def __str__(self) -> str:
        return self.text


def _patients(task: str) -> tuple[Any, Any, str, str]:
    """The lesson's patients as a table, the target, what the data is and what y is."""
    from ..datasets import load_patients

    X, inr, names = load_patients()
    table = {name: X[:, j] for j, name in enumerate(names)}
    if task == "regression":
        return table, inr, "the lesson's patients", "The target y is the patient's INR."
    high = (inr > 2.5).astype(float)
    return table, high, "the lesson's patients", "The target y is 1 when INR > 2.5, else 0."


def _columns(X: Any) -> tuple[list[str], Any]:
    """Column names and a function (row, name) -> raw value, for a DataFrame, dict or array."""
    if isinstance(X, dict):
        return list(X), lambda i, name: X[name][i]
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns], lambda i, name: X[name].iloc[i]
    array = xp.asarray(X)
    if array.ndim != 2:
        raise InputError(f"explain: X must be 2-D (rows x columns); got shape {array.shape}.")
    names = [f"x{j}" for j in range(array.shape[1])]
    return names, lambda i, name: array[i, names.index(name)]


def _loss(model: Linear, X: Any, y: Any, task: str) -> Tensor:
    """The lesson's loss: MSE of the predictions, or binary cross-entropy of their sigmoid."""
    z = model(X)
    if task == "regression":
        return losses.mse(z, y)
    return losses.binary_cross_entropy(ops.sigmoid(z), y)


def _finite_differences(model: Linear, X: Any, y: Any, task: str) -> Any:
    """Central differences (L(w + h) - L(w - h)) / 2h for every weight, then the bias."""
    values = []
    with no_grad():
        for flat in (p.data.reshape(-1) for p in model.parameters()):  # weight, then bias
            for k in range(flat.size):
                keep = flat[k]
                flat[k] = keep + STEP
                up = float(_loss(model, X, y, task).data)
                flat[k] = keep - STEP
                down = float(_loss(model, X, y, task).data)
                flat[k] = keep
                values.append((up - down) / (2 * STEP))
    return xp.asarray(values)


@validate_params(
    {
        "task": [Options(*TASKS)],
        "lr": [positive()],
        "rows": [at_least(1)],
        "standardize": [Boolean()],
    }
)
def explain(
    X: Any = None,
    y: Any = None,
    task: str = "regression",
    lr: float = 0.1,
    *,
    rows: int = 3,
    weights: Sequence[float] | None = None,
    bias: float = 0.0,
    standardize: bool = True,
    seed: int = 0,
    source: str = "your data",
) -> Explanation:
    """One training step of a linear model on the first ``rows`` rows, told with real numbers.

    ``task='regression'`` uses the lesson's MSE; ``'classification'`` a sigmoid
    and the lesson's binary cross-entropy (``y`` with two classes). Without
    ``X`` and ``y`` it uses the lesson's patients (INR, or INR > 2.5) and the
    lesson's starting weights; otherwise ``weights`` (default: small random
    numbers with one decimal, from ``seed``). Features are standardised with
    the mean and standard deviation of all rows given, as training does.
    ``source`` names the data in the first line.
    """
    if (X is None) != (y is None):
        raise InputError("explain needs both X and y, or neither (for the lesson's patients).")
    given = X is not None
    legend = ""
    if X is None:
        X, y, source, legend = _patients(task)
        if weights is None:
            weights = LESSON_WEIGHTS
    columns, raw = _columns(X)
    table = X if not isinstance(X, dict) else _dict_frame(X)
    pre = Preprocessor(standardize=standardize).fit(table, check=False)
    features = pre.transform(table)
    n_all = len(features)
    check("explain", {"rows": [Interval(int, 1, n_all)]}, {"rows": rows})
    target, said = _target(y, task)
    legend = said if given else legend
    if len(target) != n_all:
        raise InputError(f"X has {n_all} rows but y has {len(target)}; give one target per row.")
    model = _start(list(pre.feature_names_out_), weights, bias, seed)
    step = _one_step(model, features[:rows], target[:rows], task, float(lr))
    step.names = list(pre.feature_names_out_)
    step.text = _tell(step, pre, columns, raw, source, legend, n_all, standardize)
    return step


def _target(y: Any, task: str) -> tuple[Any, str]:
    """The target as numbers (classes as 0 and 1) and a sentence saying what it is."""
    column = getattr(y, "name", None)
    what = f"the column {column!r}" if isinstance(column, str) else "y"
    if task != "classification":
        return to_array(y, name="y", ndim=1), f"The target y is {what}."
    labels = LabelEncoder().fit(y)
    if len(labels.classes_) != 2:
        raise InputError(
            f"explain's classification step is binary cross-entropy, for two classes; y has "
            f"{len(labels.classes_)}. Pick a target with two values, or use task='regression'."
        )
    legend = (
        f"The target y is 1 where {what} is {_label(labels.classes_[1])} and 0 where it "
        f"is {_label(labels.classes_[0])}."
    )
    return labels.transform(y).astype(float), legend


def _start(names: list[str], weights: Any, bias: float, seed: int) -> Linear:
    """The linear model at its starting weights (given, or small random ones from ``seed``)."""
    model = Linear(len(names), 1, init="zeros")
    if weights is None:
        w0 = xp.round(xp.random.default_rng(seed).normal(0, 0.5, len(names)), 1)
    else:
        w0 = xp.asarray(weights, dtype=float).reshape(-1)
    if w0.shape != (len(names),):
        raise InputError(
            f"explain: 'weights' needs one value per feature ({len(names)}: "
            f"{', '.join(names)}); got {w0.size}."
        )
    weight, intercept = model.parameters()
    weight.data[:, 0] = w0
    intercept.data[0] = bias
    return model


def _one_step(model: Linear, Xr: Any, yr: Any, task: str, lr: float) -> Explanation:
    """The four steps on the engine: forward, loss, backward (checked), update, loss again."""
    weight, intercept = model.parameters()
    w0, bias, rows = weight.data[:, 0].copy(), float(intercept.data[0]), len(Xr)
    with no_grad():
        z = model(Xr).data[:, 0]
    loss = _loss(model, Xr, yr, task)
    loss.backward()
    grads = xp.concatenate([weight.grad[:, 0], intercept.grad])
    differences = _finite_differences(model, Xr, yr, task)
    p = 1 / (1 + xp.exp(-z)) if task == "classification" else z
    scale = 2.0 if task == "regression" else 1.0  # (2/n) sum(error x) or (1/n) sum((p - y) x)
    design = xp.hstack([Xr, xp.ones((rows, 1))])
    formula = scale * design.T @ (p - yr) / rows
    with xp.errstate(over="ignore", invalid="ignore"):  # a huge lr: the loss is inf, told below
        make_optimizer("sgd", model.parameters(), lr).step()
        new = xp.concatenate([weight.data[:, 0], intercept.data])
        with no_grad():
            after = float(_loss(model, Xr, yr, task).data)
    step = Explanation(
        task, [], Xr, yr, lr, w0, bias, p, float(loss.data), grads,
        differences, formula, new[:-1], float(new[-1]), after,
    )  # fmt: skip
    if not after < step.loss_before:
        step.smaller_lr = _smaller_lr(model, Xr, yr, task, w0, bias, grads, lr)
    loss_name = "mse" if task == "regression" else "bce_with_logits"
    step.L = curvature(Linear(Xr.shape[1], 1, init="zeros"), Xr, yr, loss_name).L
    return step


def _smaller_lr(
    model: Linear, X: Any, y: Any, task: str, w0: Any, bias: float, grads: Any, lr: float
) -> float | None:
    """The first of lr/10, lr/100, ... (down to 1e-20) whose one step lowers the loss."""
    weight, intercept = model.parameters()
    with no_grad():
        weight.data[:, 0], intercept.data[0] = w0, bias
        before = float(_loss(model, X, y, task).data)
        for k in range(1, 400):
            candidate = lr / 10.0**k
            if candidate < 1e-20:
                break
            with xp.errstate(over="ignore", invalid="ignore"):
                weight.data[:, 0] = w0 - candidate * grads[:-1]
                intercept.data[0] = bias - candidate * grads[-1]
                after = float(_loss(model, X, y, task).data)
            if after < before:
                return float(f"{candidate:.3g}")
    return None


def _label(value: Any) -> str:
    """A class label as written in the data: strings quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _dict_frame(X: dict[str, Any]) -> Any:
    """A dict of columns as a pandas DataFrame (the Preprocessor reads tables)."""
    import pandas as pd

    return pd.DataFrame(X)


def _tell(
    s: Explanation,
    pre: Preprocessor,
    columns: list[str],
    raw: Any,
    source: str,
    legend: str,
    n_all: int,
    standardize: bool,
) -> str:
    """The lesson's four steps, in words and numbers."""
    lines = _intro(s, source, legend, n_all, standardize)
    lines += _forward(s, pre, columns, raw, standardize)
    lines += [""] + (_mse_lines(s) if s.task == "regression" else _bce_lines(s))
    lines += [""] + _gradient_lines(s)
    lines += [""] + _update_lines(s)
    lines += [""] + _after_lines(s)
    return "\n".join(lines)


def _weight_names(s: Explanation) -> list[str]:
    return [f"w_{name}" for name in s.names] + ["b"]


def _intro(s: Explanation, source: str, legend: str, n_all: int, standardize: bool) -> list[str]:
    """What the example is: the model, the rows, the target, the standardisation."""
    kind = "linear regression" if s.task == "regression" else "logistic regression"
    lines = [f"One step of gradient descent, by hand: {kind} on {len(s.y)} rows of {source}."]
    if legend:
        lines.append(legend)
    if standardize:
        lines.append(
            f"Each number is standardised with the mean and standard deviation of all {n_all} "
            "rows, x = (value - mean) / std, as training does."
        )
    return lines


def _forward(
    s: Explanation, pre: Preprocessor, columns: list[str], raw: Any, standardize: bool
) -> list[str]:
    """Step 1: the formula, the weights, and each row's features and prediction."""
    terms = " + ".join(f"w_{m} × x_{m}" for m in s.names) + " + b"
    lines = ["", "Step 1 - Forward pass: the model makes a prediction with its current weights."]
    if s.task == "regression":
        lines.append("  prediction = w · x + b = " + terms)
    else:
        lines.append("  z = w · x + b = " + terms)
        lines.append("  p = sigmoid(z) = 1 / (1 + e^-z), the probability that y = 1")
    lines.append(
        "  weights: "
        + ", ".join(f"w_{m} = {_num(w)}" for m, w in zip(s.names, s.weights))
        + f"; bias b = {_num(s.bias)}"
    )
    for i in range(len(s.y)):
        lines.append(f"  row {i + 1}:")
        lines += [_feature_line(s, pre, i, name, raw(i, name), standardize) for name in columns]
        lines += _prediction_lines(s, i)
    return lines


def _feature_line(
    s: Explanation, pre: Preprocessor, i: int, name: str, value: Any, standardize: bool
) -> str:
    """One column of row i: its standardised number, or its one-hot columns."""
    if pre.kinds_[name] == "numeric":
        j = s.names.index(name)
        mean, std = pre.means_[name], pre.scales_[name]
        shown = (
            f"({_num(float(value))} - {_factor(mean)}) / {_num(std)} = {_num(s.X[i, j])}"
            if standardize
            else _num(s.X[i, j])
        )
        return f"    x_{name} = {shown}"
    hot = [m for m in s.names if m.startswith(f"{name}=")]
    ones = ", ".join(f"x_{m} = {_num(s.X[i, s.names.index(m)])}" for m in hot)
    return f"    {name} is {value!r}: {ones}"


def _prediction_lines(s: Explanation, i: int) -> list[str]:
    """Row i's products, prediction (or z and p) and true target."""
    products = " + ".join(f"{_factor(w)} × {_factor(x)}" for w, x in zip(s.weights, s.X[i]))
    z = float(s.weights @ s.X[i] + s.bias)
    truth = f"(true y = {_num(s.y[i])})"
    if s.task == "regression":
        return [f"    prediction = {products} + {_factor(s.bias)} = {_num(z)}   {truth}"]
    return [
        f"    z = {products} + {_factor(s.bias)} = {_num(z)}",
        f"    p = 1 / (1 + e^{_factor(-z)}) = {_num(s.predictions[i])}   {truth}",
    ]


def _mse_lines(s: Explanation) -> list[str]:
    """Step 2 for regression: each row's squared error, and their mean."""
    n = len(s.y)
    lines = [
        "Step 2 - Loss: how wrong the predictions are. Mean squared error:",
        "  MSE = (1/n) Σ (prediction - y)²",
    ]
    squares = []
    for i in range(n):
        error = s.predictions[i] - s.y[i]
        squares.append(error**2)
        lines.append(
            f"  row {i + 1}: error = {_num(s.predictions[i])} - {_factor(s.y[i])} = "
            f"{_num(error)}, squared = {_num(error**2)}"
        )
    total = " + ".join(_num(v) for v in squares)
    return lines + [f"  MSE = ({total}) / {n} = {_num(s.loss_before)}"]


def _bce_lines(s: Explanation) -> list[str]:
    """Step 2 for classification: each row's cross-entropy, and their mean."""
    n = len(s.y)
    lines = [
        "Step 2 - Loss: how wrong the probabilities are. Binary cross-entropy:",
        "  BCE = (1/n) Σ -(y log p + (1 - y) log(1 - p))",
    ]
    terms = []
    for i in range(n):
        p, t = float(s.predictions[i]), float(s.y[i])
        term = -(t * math.log(p) + (1 - t) * math.log(1 - p))
        terms.append(term)
        shown = f"-log({_num(p)})" if t == 1 else f"-log(1 - {_num(p)})"
        lines.append(f"  row {i + 1}: y = {_num(t)}, loss = {shown} = {_num(term)}")
    total = " + ".join(_num(v) for v in terms)
    return lines + [f"  BCE = ({total}) / {n} = {_num(s.loss_before)}"]


def _gradient_lines(s: Explanation) -> list[str]:
    """Step 3: backward() beside finite differences and the formula, and what each sign means."""
    formula = (
        "∂MSE/∂w_j = (2/n) Σ error × x_j (x = 1 for b):"
        if s.task == "regression"
        else "∂BCE/∂w_j = (1/n) Σ (p - y) × x_j (x = 1 for b):"
    )
    lines = [
        "Step 3 - Backward pass: the gradient, how much the loss changes per unit increase of "
        "each weight.",
        "  from backward() (automatic differentiation), checked against central finite "
        f"differences (L(w + h) - L(w - h)) / 2h with h = {STEP:g}, and the lesson's formula "
        + formula,
    ]
    wnames = _weight_names(s)
    width = max(len(m) for m in wnames) + 2
    lines.append(
        f"  {'':<{width}}{'backward()':>14}{'finite diff.':>16}{'formula':>14}{'difference':>13}"
    )
    for m, g, d, f in zip(wnames, s.gradients, s.finite_differences, s.formula):
        gap = f"{abs(g - d):.1e}"
        lines.append(f"  {m:<{width}}{_num(g):>14}{_num(d):>16}{_num(f):>14}{gap:>13}")
    worst = float(max(abs(s.gradients - s.finite_differences)))
    if worst <= 1e-6 * (1 + float(max(abs(s.gradients)))):
        lines.append(
            f"  backward() and the finite differences agree to {worst:.1e}: the gradient is right."
        )
    else:
        lines.append(
            f"  backward() and the finite differences differ by up to {worst:.1e}: a gradient is "
            "wrong (or the loss is not smooth here)."
        )
    return lines + [_sign_line(m, g) for m, g in zip(wnames, s.gradients)]


def _sign_line(m: str, g: float) -> str:
    """What the sign of one weight's gradient says about its step."""
    if g > 0:
        return (
            f"  {m}: gradient {_num(g)} > 0: raising {m} raises the loss, so the step lowers {m}."
        )
    if g < 0:
        return (
            f"  {m}: gradient {_num(g)} < 0: raising {m} lowers the loss, so the step raises {m}."
        )
    return f"  {m}: gradient 0: the loss does not change with {m}, so it stays."


def _update_lines(s: Explanation) -> list[str]:
    """Step 4: new = old - lr × gradient, for every weight."""
    lines = [
        f"Step 4 - Weight update: new = old - learning rate × gradient, with learning rate "
        f"{_num(s.lr)}."
    ]
    old = list(s.weights) + [s.bias]
    new = list(s.new_weights) + [s.new_bias]
    for m, o, g, w in zip(_weight_names(s), old, s.gradients, new):
        lines.append(f"  {m} = {_num(o)} - {_num(s.lr)} × {_factor(g)} = {_num(w)}")
    return lines


def _after_lines(s: Explanation) -> list[str]:
    """The loss after the step, and what it means (a smaller rate when it overshot)."""
    name = "MSE" if s.task == "regression" else "BCE"
    change = s.loss_after - s.loss_before
    verb = "fell" if change < 0 else "rose"
    share = abs(change) / s.loss_before
    how_much = (
        f"{share:.1%}" if share <= 1 else f"to {s.loss_after / s.loss_before:.3g} times what it was"
    )
    lines = [
        f"After the step: {name} = {_num(s.loss_after)} (it was {_num(s.loss_before)}): the loss "
        f"{verb} by {_num(abs(change))} ({how_much})."
    ]
    if math.isfinite(s.L) and s.L > 0:
        where = "is" if s.task == "regression" else "is at most (where z = 0)"
        lines.append(
            f"The largest curvature of this loss on these rows {where} L = {s.L:.4g}: a step "
            f"with lr below 1/L = {1 / s.L:.3g} goes straight down, one above 2/L = "
            f"{2 / s.L:.3g} overshoots; lr = {_num(s.lr)} is {s.lr * s.L:.2g}/L."
        )
    if change < 0:
        lines.append(
            "Training repeats these four steps, epoch after epoch, until the loss stops falling."
        )
    elif s.smaller_lr is not None:
        lines.append(
            "The step overshot: the learning rate is too large for this loss. A smaller one "
            f"makes the loss fall: one step with lr={_num(s.smaller_lr)} lowers it (checked)."
        )
    else:
        lines.append(
            "The step did not lower the loss, and no smaller learning rate (down to 1e-20) "
            "does: the gradient is zero or the loss is already at its minimum."
        )
    return lines
