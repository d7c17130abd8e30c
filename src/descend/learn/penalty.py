"""L2 regularisation: the loss a run minimises is the data's mean loss + (alpha / 2) |w|^2.

``w`` is every weight of the model except the biases (scikit-learn leaves the
intercept unpenalised too). The gradient of the penalty, ``alpha * w``, is
added to each weight's gradient after the data's, and its value to the
loss the History records; the exact optimum (``understand/optimum.py``)
includes the same term, so the gap stays exact. Decoupled ``weight_decay``
(AdamW, SGD's coupled one) stays an optimizer's business.

How ``alpha`` maps onto scikit-learn (n: the training rows):

- ``mse``: ``Ridge(alpha=n * alpha / 2)`` (Ridge sums the squared errors and does
  not halve them), ``SGDRegressor(penalty='l2', alpha=alpha / 2)``;
- ``bce_with_logits`` and ``cross_entropy``: ``LogisticRegression(C=1 / (n * alpha))``,
  ``SGDClassifier(loss='log_loss', penalty='l2', alpha=alpha)``;
- an MLP: ``MLPClassifier(alpha=n * alpha)`` / ``MLPRegressor(alpha=n * alpha)``
  (whose penalty is ``alpha / (2 n) |w|^2`` and whose squared error is halved: for
  regression its alpha is ``n * alpha / 2``).

>>> from descend import nn
>>> model = nn.Linear(2, 1, init="zeros"); model.weight.data[:] = 1.0; model.bias.data[:] = 5.0
>>> L2(0.5).value(L2(0.5).weights(model))
0.5
"""

from __future__ import annotations

from typing import Any

from .._validation import check, non_negative
from ..engine.backend import xp


class L2:
    """The penalty (alpha / 2) |w|^2 over the model's weights (biases left out)."""

    def __init__(self, alpha: float = 0.0) -> None:
        check("L2", {"alpha": [non_negative()]}, {"alpha": alpha})
        self.alpha = float(alpha)

    @staticmethod
    def weights(model: Any) -> list[Any]:
        """The parameters the penalty counts: all but those named ``bias``."""
        named = model.named_parameters() if hasattr(model, "named_parameters") else []
        return [p for name, p in named if name.rpartition(".")[2] != "bias"]

    def value(self, weights: list[Any]) -> float:
        """(alpha / 2) |w|^2 (0.0 without alpha)."""
        if not self.alpha:
            return 0.0
        return 0.5 * self.alpha * sum(float(xp.vdot(p.data, p.data)) for p in weights)

    def add_gradient(self, weights: list[Any]) -> float:
        """Add alpha * w to each weight's gradient (in place); returns the penalty's value."""
        if not self.alpha:
            return 0.0
        for p in weights:
            if p.grad is not None:
                p.grad += self.alpha * p.data
        return self.value(weights)
