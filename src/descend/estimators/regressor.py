"""Regressor: linear regression or an MLP, as a scikit-learn regressor."""

from __future__ import annotations

from typing import Any

from ..data import to_array, to_targets
from ..errors import InputError
from ..understand.metrics import r2_score, regression_metrics
from .base import Estimator
from .contract import RegressorMixin


class Regressor(RegressorMixin, Estimator):
    """Linear regression (``model='auto'`` or ``'linear'``) or an MLP regressor.

    ``alpha`` (L2) means what it means in scikit-learn: a converged linear
    ``Regressor(alpha=a)`` is ``make_pipeline(StandardScaler(), Ridge(alpha=a))`` (the
    same ``coef_`` and ``intercept_``, one target or several), and with
    ``standardize=False`` it is ``Ridge(alpha=a)`` (raw columns may need many more epochs
    to converge); an MLP's is ``MLPRegressor(alpha=a)``'s.
    In ``partial_fit`` alpha is per row, as in ``SGDRegressor(alpha=a)``: one pass over
    blocks of n rows in all is a pass of ``fit`` with ``alpha=a * n``. ``sample_weight``
    (integers) gives exactly the model of the rows repeated that many times in full batch
    (``batch_size=None``, the linear default, without ``validation``); minibatches and a
    validation split draw their rows from the rows given, so they differ.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 2)); y = X @ [1.0, 2.0]
    >>> round(Regressor().fit(X, y).score(X, y), 4)
    1.0
    """

    _models = ("auto", "linear", "mlp")
    _task = "regression"

    def _targets(self, y: Any) -> Any:
        target = to_targets(y)
        outputs = self.module_.parameters()[-1].shape[0]  # the last layer's bias
        if (target.shape[1] if target.ndim == 2 else 1) != outputs:
            raise InputError(
                f"y has {target.shape[1] if target.ndim == 2 else 1} column(s) but the model "
                f"predicts {outputs}; give the targets it was fitted on."
            )
        return target

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Regressor:
        """One epoch on these rows, from where the last call (or fit) left the model."""
        return self._partial_fit(X, y, sample_weight)  # type: ignore[no-any-return]

    @property
    def coef_(self) -> Any:
        """The weights in the units of X's columns: (n_features,), or (targets, n_features)."""
        coef = self._linear_weights()[0]
        return coef[0] if len(coef) == 1 else coef

    @property
    def intercept_(self) -> Any:
        """The bias in the units of y: a float, or one per target."""
        intercept = self._linear_weights()[1]
        return float(intercept[0]) if len(intercept) == 1 else intercept

    def metrics(self, X: Any, y: Any) -> dict[str, float]:
        """mse, rmse, mae and r2 of the predictions for X against the true values y."""
        fix = "this model is a regressor: it predicts numbers. Give the column it was trained on."
        name = getattr(y, "name", None)
        truth = to_array(y, name=f"Target {name!r}" if name else "y", ndim=1, fix=fix)
        return regression_metrics(truth, self.predict(X))

    def predict(self, X: Any) -> Any:
        """Predicted values: shape (n,) for one target, (n, k) for k."""
        out = self._outputs(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of the predictions (1 is perfect), as scikit-learn defines it."""
        truth = to_targets(y)
        return float(r2_score(truth, self.predict(X), sample_weight))
