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
    if X is None:
        X, y, source, legend = _patients(task)
        if weights is None:
            weights = LESSON_WEIGHTS
    column = getattr(y, "name", None)
    what = f"the column {column!r}" if isinstance(column, str) else "y"
    columns, raw = _columns(X)
    table = X if not isinstance(X, dict) else _dict_frame(X)
    pre = Preprocessor(standardize=standardize).fit(table, check=False)
    features = pre.transform(table)
    n_all = len(features)
    check("explain", {"rows": [Interval(int, 1, n_all)]}, {"rows": rows})
    names = pre.feature_names_out_
    labels = None
    if task == "classification":
        labels = LabelEncoder().fit(y)
        if len(labels.classes_) != 2:
            raise InputError(
                f"explain's classification step is binary cross-entropy, for two classes; y has "
                f"{len(labels.classes_)}. Pick a target with two values, or use task='regression' "
                "(--task regression)."
            )
        target = labels.transform(y).astype(float)
        if given:
            legend = (
                f"The target y is 1 where {what} is {_label(labels.classes_[1])} and 0 where it "
                f"is {_label(labels.classes_[0])}."
            )
    else:
        target = to_array(y, name="y", ndim=1)
        if given:
            legend = f"The target y is {what}."
    if len(target) != n_all:
        raise InputError(f"X has {n_all} rows but y has {len(target)}; give one target per row.")
    Xr, yr = features[:rows], target[:rows]

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

    # the four steps, on the engine
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
        task, list(names), Xr, yr, float(lr), w0, float(bias), p, float(loss.data), grads,
        differences, formula, new[:-1], float(new[-1]), after,
    )  # fmt: skip
    if not after < step.loss_before:
        step.smaller_lr = _smaller_lr(model, Xr, yr, task, w0, float(bias), grads, float(lr))
    step.text = _tell(step, pre, columns, raw, source, legend, n_all, standardize)
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
    n = len(s.y)
    kind = "linear regression" if s.task == "regression" else "logistic regression"
    wnames = [f"w_{name}" for name in s.names] + ["b"]
    lines = [f"One step of gradient descent, by hand: {kind} on {n} rows of {source}."]
    if legend:
        lines.append(legend)
    if standardize:
        lines.append(
            f"Each number is standardised with the mean and standard deviation of all {n_all} "
            "rows, x = (value - mean) / std, as training does."
        )
    lines += ["", "Step 1 - Forward pass: the model makes a prediction with its current weights."]
    if s.task == "regression":
        lines.append(
            "  prediction = w · x + b = " + " + ".join(f"w_{m} × x_{m}" for m in s.names) + " + b"
        )
    else:
        lines.append("  z = w · x + b = " + " + ".join(f"w_{m} × x_{m}" for m in s.names) + " + b")
        lines.append("  p = sigmoid(z) = 1 / (1 + e^-z), the probability that y = 1")
    lines.append(
        "  weights: "
        + ", ".join(f"w_{m} = {_num(w)}" for m, w in zip(s.names, s.weights))
        + f"; bias b = {_num(s.bias)}"
    )
    for i in range(n):
        lines.append(f"  row {i + 1}:")
        for name in columns:
            value = raw(i, name)
            if pre.kinds_[name] == "numeric":
                j = s.names.index(name)
                mean, std = pre.means_[name], pre.scales_[name]
                shown = (
                    f"({_num(float(value))} - {_factor(mean)}) / {_num(std)} = {_num(s.X[i, j])}"
                    if standardize
                    else _num(s.X[i, j])
                )
                lines.append(f"    x_{name} = {shown}")
            else:
                hot = [m for m in s.names if m.startswith(f"{name}=")]
                ones = ", ".join(f"x_{m} = {_num(s.X[i, s.names.index(m)])}" for m in hot)
                lines.append(f"    {name} is {value!r}: {ones}")
        products = " + ".join(f"{_factor(w)} × {_factor(x)}" for w, x in zip(s.weights, s.X[i]))
        z = float(s.weights @ s.X[i] + s.bias)
        if s.task == "regression":
            lines.append(
                f"    prediction = {products} + {_factor(s.bias)} = {_num(z)}   (true y = {_num(s.y[i])})"
            )
        else:
            lines.append(f"    z = {products} + {_factor(s.bias)} = {_num(z)}")
            lines.append(
                f"    p = 1 / (1 + e^{_factor(-z)}) = {_num(s.predictions[i])}   (true y = {_num(s.y[i])})"
            )

    lines.append("")
    if s.task == "regression":
        lines.append("Step 2 - Loss: how wrong the predictions are. Mean squared error:")
        lines.append("  MSE = (1/n) Σ (prediction - y)²")
        squares = []
        for i in range(n):
            error = s.predictions[i] - s.y[i]
            squares.append(error**2)
            lines.append(
                f"  row {i + 1}: error = {_num(s.predictions[i])} - {_factor(s.y[i])} = "
                f"{_num(error)}, squared = {_num(error**2)}"
            )
        total = " + ".join(_num(v) for v in squares)
        lines.append(f"  MSE = ({total}) / {n} = {_num(s.loss_before)}")
    else:
        lines.append("Step 2 - Loss: how wrong the probabilities are. Binary cross-entropy:")
        lines.append("  BCE = (1/n) Σ -(y log p + (1 - y) log(1 - p))")
        terms = []
        for i in range(n):
            p, t = float(s.predictions[i]), float(s.y[i])
            term = -(t * math.log(p) + (1 - t) * math.log(1 - p))
            terms.append(term)
            shown = f"-log({_num(p)})" if t == 1 else f"-log(1 - {_num(p)})"
            lines.append(f"  row {i + 1}: y = {_num(t)}, loss = {shown} = {_num(term)}")
        total = " + ".join(_num(v) for v in terms)
        lines.append(f"  BCE = ({total}) / {n} = {_num(s.loss_before)}")

    lines.append("")
    lines.append(
        "Step 3 - Backward pass: the gradient, how much the loss changes per unit increase of "
        "each weight."
    )
    lines.append(
        "  from backward() (automatic differentiation), checked against central finite "
        f"differences (L(w + h) - L(w - h)) / 2h with h = {STEP:g}, and the lesson's formula "
        + (
            "∂MSE/∂w_j = (2/n) Σ error × x_j (x = 1 for b):"
            if s.task == "regression"
            else "∂BCE/∂w_j = (1/n) Σ (p - y) × x_j (x = 1 for b):"
        )
    )
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
    for m, g in zip(wnames, s.gradients):
        if g > 0:
            lines.append(
                f"  {m}: gradient {_num(g)} > 0: raising {m} raises the loss, so the step lowers {m}."
            )
        elif g < 0:
            lines.append(
                f"  {m}: gradient {_num(g)} < 0: raising {m} lowers the loss, so the step raises {m}."
            )
        else:
            lines.append(f"  {m}: gradient 0: the loss does not change with {m}, so it stays.")

    lines.append("")
    lines.append(
        f"Step 4 - Weight update: new = old - learning rate × gradient, with learning rate {_num(s.lr)}."
    )
    old = list(s.weights) + [s.bias]
    new = list(s.new_weights) + [s.new_bias]
    for m, o, g, w in zip(wnames, old, s.gradients, new):
        lines.append(f"  {m} = {_num(o)} - {_num(s.lr)} × {_factor(g)} = {_num(w)}")

    lines.append("")
    name = "MSE" if s.task == "regression" else "BCE"
    change = s.loss_after - s.loss_before
    verb = "fell" if change < 0 else "rose"
    share = abs(change) / s.loss_before
    how_much = (
        f"{share:.1%}" if share <= 1 else f"to {s.loss_after / s.loss_before:.3g} times what it was"
    )
    lines.append(
        f"After the step: {name} = {_num(s.loss_after)} (it was {_num(s.loss_before)}): the loss "
        f"{verb} by {_num(abs(change))} ({how_much})."
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
    return "\n".join(lines)
