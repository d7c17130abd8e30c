"""scikit-learn-compatible estimators: tables in, preprocessing, a model, fit, predict.

``Regressor`` (linear or MLP) and ``Classifier`` (logistic, softmax or MLP)
take arrays or DataFrames, standardise numbers and one-hot encode text
columns (statistics fitted on the training rows only), encode class labels
(strings too), train with ``descend.fit`` and keep everything the model file
needs. They follow scikit-learn's developer contract (``get_params`` /
``set_params``, ``__sklearn_tags__``, ``fit`` returns self, learned state ends
in ``_``, ``partial_fit``) and pass its ``check_estimator``; scikit-learn is
imported only when it is used: to check an array, to build the tags, or to
raise its NotFittedError. Tables never need it, so the command line starts
without it. ``fit`` also takes data beyond memory: table files
(``fit("big/*.parquet", "y")``) or Dask collections (``fit(ddf[cols], ddf["y"])``),
whose preprocessing statistics come from one pass over the row blocks.

``contract``: parameters, tags and ``random_state``, the scikit-learn side;
``base``: what both estimators do (fit, partial_fit, the learned attributes,
the model file); ``regressor`` and ``classifier``: what differs.

>>> import numpy as np
>>> X = np.arange(20.0).reshape(-1, 1); y = 3 * X[:, 0] + 1
>>> model = Regressor(epochs=2000).fit(X, y)
>>> model.predict([[30.0]]).round(2), model.coef_.round(3), round(model.intercept_, 3)
(array([91.]), array([3.]), 1.0)
"""

from __future__ import annotations

from typing import Any

from .._validation import register
from ..data import LabelEncoder, Preprocessor
from ..engine.backend import xp
from ..errors import InputError
from ..learn.history import History
from ..learn.nn import Module
from .classifier import Classifier
from .contract import seed_of
from .regressor import Regressor

__all__ = ["ESTIMATORS", "Classifier", "Regressor", "from_export", "seed_of"]

ESTIMATORS = {"Regressor": Regressor, "Classifier": Classifier}
for _estimator in ESTIMATORS.values():  # checked when fit starts, as in scikit-learn
    register(_estimator, _estimator()._constraints())


def from_export(module: Module, meta: dict[str, Any]) -> Any:
    """Rebuild a fitted estimator from a model file's module and metadata."""
    name = meta.get("estimator")
    if name not in ESTIMATORS:
        raise InputError(f"The model file names an unknown estimator {name!r}.")
    params = dict(meta.get("params", {}))
    if "seed" in params:  # files written before the estimators called it random_state
        params["random_state"] = params.pop("seed")
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    params["categorical"] = tuple(params.get("categorical") or ())
    estimator: Any = ESTIMATORS[name](**params)
    estimator.module_ = module
    estimator.kind_ = meta["model_kind"]
    estimator.loss_ = meta["loss"]
    estimator.preprocessor_ = Preprocessor.from_dict(meta["preprocessing"])
    estimator.n_features_in_ = len(estimator.preprocessor_.input_features_)
    if meta.get("fitted_on_table"):
        estimator.feature_names_in_ = xp.asarray(
            estimator.preprocessor_.input_features_, dtype=object
        )
    if meta.get("labels") is not None:
        estimator.labels_ = LabelEncoder.from_dict(meta["labels"])
        estimator.classes_ = xp.asarray(estimator.labels_.classes_)
    estimator.history_ = History.from_dict(meta.get("history", {}))
    return estimator
