"""L2 regularisation: the loss a run minimises is the data's mean loss + (alpha / 2) |w|^2.

``w`` is every weight of the model except the biases (scikit-learn leaves the
intercept unpenalised too). The gradient of the penalty, ``alpha * w``, is
added to each weight's gradient after the data's, and its value to the
loss the History records; the exact optimum (``understand/optimum.py``)
includes the same term, so the gap stays exact. Decoupled ``weight_decay``
(AdamW, SGD's coupled one) stays an optimizer's business.

How ``alpha`` maps onto scikit-learn (n: the training rows, or the sum of their weights;
k: the regression targets; checked in ``tests/learn/test_penalty.py``):

- ``mse``: ``Ridge(alpha=n * k * alpha / 2)`` (Ridge sums the squared errors of every
  target and does not halve them, where fit averages over rows and targets; one target:
  ``n * alpha / 2``), ``SGDRegressor(penalty='l2', alpha=alpha / 2)`` (one target);
- ``bce_with_logits`` (one output) and ``cross_entropy`` of three classes or more:
  ``LogisticRegression(C=1 / (n * alpha))``; ``bce_with_logits`` is also
  ``SGDClassifier(loss='log_loss', penalty='l2', alpha=alpha)``;
- ``cross_entropy`` of two classes (a softmax of two outputs):
  ``LogisticRegression(C=2 / (n * alpha))``: the penalty counts the weights of both
  classes, and at the optimum each class's are plus or minus half of LogisticRegression's;
- an MLP: ``MLPClassifier(alpha=n * alpha)``, ``MLPRegressor(alpha=n * alpha / 2)``
  (their penalty is ``alpha / (2 n) |w|^2``, and MLPRegressor halves its squared error).

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
