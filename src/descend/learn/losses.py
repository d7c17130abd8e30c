"""Loss functions: how wrong the predictions are, as one number to minimise.

Every loss takes ``(prediction, target, reduction='mean', weight=None)``.
``reduction='none'`` gives one value per element (per sample for
cross_entropy); ``'sum'`` adds them; ``'mean'`` divides the (weighted) sum by
the (weighted) count. A prediction of shape (N, 1) against a target of shape
(N,) is matched explicitly; any other shape mismatch is an error, never a
silent broadcast to (N, N).

>>> import descend
>>> from descend.learn.losses import mse
>>> round(mse(descend.tensor([1.5]), [2.8]).item(), 2)   # the lesson's example
1.69
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._validation import Constraints, Options, by_name, check, message, positive, register
from ..engine import functional as F
from ..engine import ops
from ..engine.backend import xp
from ..engine.tensor import Tensor
from ..errors import InputError

Loss = Callable[..., Tensor]
REDUCTIONS = ("mean", "sum", "none")
_REDUCTION = [Options(*REDUCTIONS)]
_HUBER: Constraints = {"delta": [positive()]}


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _target(prediction: Tensor, target: Any, name: str) -> Any:
    """The target as an array of the prediction's shape, or a clear error."""
    t = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if t.shape == prediction.shape:
        return t
    if prediction.shape == t.shape + (1,) or t.shape == prediction.shape + (1,):
        return t.reshape(prediction.shape)  # (N, 1) against (N,): one output per row
    raise InputError(
        f"{name}: the prediction has shape {prediction.shape} but the target has shape "
        f"{t.shape}; they must match (reshape one of them; broadcasting here would compare "
        "every prediction with every target)."
    )


def _reduce(per: Tensor, reduction: str, weight: Any, name: str) -> Tensor:
    """Apply sample weights (one per row) and the reduction to per-element losses."""
    if reduction not in REDUCTIONS:  # checked by hand: this runs once per batch
        raise InputError(message(name, "reduction", _REDUCTION, reduction))
    count: Any = per.size
    if weight is not None:
        w = xp.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=per.dtype)
        if w.ndim != 1 or w.shape[0] != per.shape[0]:
            raise InputError(
                f"{name}: 'weight' must hold one value per row ({per.shape[0]}); got shape "
                f"{w.shape}."
            )
        per = per * w.reshape(w.shape + (1,) * (per.ndim - 1))
        count = w.sum() * (per.size // per.shape[0] if per.shape[0] else 1)
    if reduction == "none":
        return per
    if reduction == "mean" and weight is None:
        return ops.mean(per)
    total = ops.sum(per)
    return total if reduction == "sum" else total / count


def mse(prediction: Any, target: Any, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean squared error, the lesson's regression loss: mean((prediction - target)^2)."""
    prediction = _as_tensor(prediction)
    diff = prediction - _target(prediction, target, "mse")
    return _reduce(diff * diff, reduction, weight, "mse")


def mae(prediction: Any, target: Any, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean absolute error: mean(|prediction - target|)."""
    prediction = _as_tensor(prediction)
    diff = prediction - _target(prediction, target, "mae")
    return _reduce(ops.abs(diff), reduction, weight, "mae")


def huber(
    prediction: Any,
    target: Any,
    reduction: str = "mean",
    weight: Any = None,
    delta: float = 1.0,
) -> Tensor:
    """Huber loss: squared below ``delta``, linear above (robust to outliers)."""
    check("huber", _HUBER, {"delta": delta})
    prediction = _as_tensor(prediction)
    diff = prediction - _target(prediction, target, "huber")
    size = ops.abs(diff)
    per = ops.where(size.data <= delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return _reduce(per, reduction, weight, "huber")


def binary_cross_entropy(
    prediction: Any,
    target: Any,
    reduction: str = "mean",
    weight: Any = None,
    eps: float = 1e-7,
) -> Tensor:
    """The lesson's binary cross-entropy on probabilities, clamped to [eps, 1 - eps]."""
    prob = ops.clip(_as_tensor(prediction), eps, 1 - eps)
    t = _target(prob, target, "binary_cross_entropy")
    per = -(t * ops.log(prob) + (1 - t) * ops.log(1 - prob))
    return _reduce(per, reduction, weight, "binary_cross_entropy")


def bce_with_logits(
    prediction: Any, target: Any, reduction: str = "mean", weight: Any = None
) -> Tensor:
    """Binary cross-entropy on logits z: max(z, 0) - z*t + log(1 + e^-|z|), stable for any z."""
    z = _as_tensor(prediction)
    t = _target(z, target, "bce_with_logits")
    per = F.softplus(z) - z * t  # softplus' tie at z = 0 gives its true gradient, 1/2
    return _reduce(per, reduction, weight, "bce_with_logits")


def cross_entropy(
    prediction: Any, target: Any, reduction: str = "mean", weight: Any = None
) -> Tensor:
    """Softmax cross-entropy of logits (N, C) against integer labels (N,) or probabilities (N, C)."""
    logits = _as_tensor(prediction)
    if logits.ndim != 2:
        raise InputError(
            f"cross_entropy: the logits must have shape (N, C); got {logits.shape}. "
            "A binary model with one output uses bce_with_logits."
        )
    n, classes = logits.shape
    labels = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if labels.shape == logits.shape:  # class probabilities (one-hot or soft labels)
        per = -ops.sum(F.log_softmax(logits, axis=1) * labels, axis=1)
        return _reduce(per, reduction, weight, "cross_entropy")
    if labels.shape not in ((n,), (n, 1)):
        raise InputError(
            f"cross_entropy: the labels must have shape ({n},) or ({n}, {classes}); "
            f"got {labels.shape}."
        )
    labels = labels.reshape(n)
    if labels.dtype.kind not in "iu":
        as_int = labels.astype(xp.int64)
        if labels.dtype.kind != "f" or not (as_int == labels).all():
            raise InputError(
                "cross_entropy: the labels must be integer class indices in [0, "
                f"{classes}); got values of dtype {labels.dtype}. Encode labels first."
            )
        labels = as_int
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise InputError(
            f"cross_entropy: labels must lie in [0, {classes}) for {classes} classes; got "
            f"values from {labels.min()} to {labels.max()}."
        )
    per = ops.softmax_cross_entropy(logits, labels)
    return _reduce(per, reduction, weight, "cross_entropy")


LOSSES: dict[str, Loss] = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "binary_cross_entropy": binary_cross_entropy,
    "bce": binary_cross_entropy,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A loss function from its name (``'mse'``) or the function itself."""
    if callable(loss):
        return loss
    instead = "pass a function (prediction, target, reduction='mean') -> Tensor"
    return by_name(LOSSES, loss, "loss", instead)  # type: ignore[no-any-return]


for _loss in (mse, mae, huber, binary_cross_entropy, bce_with_logits, cross_entropy):
    register(_loss, {"reduction": _REDUCTION})
register(huber, _HUBER)
