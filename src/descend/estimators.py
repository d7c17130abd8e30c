"""scikit-learn-compatible estimators: tables in, preprocessing, a model, fit, predict.

``Regressor`` (linear or MLP) and ``Classifier`` (logistic, softmax or MLP)
take arrays or DataFrames, standardise numbers and one-hot encode text
columns (statistics fitted on the training rows only), encode class labels
(strings too), train with ``descend.fit`` and keep everything the model file
needs. They follow scikit-learn's conventions (``get_params``/``set_params``,
``fit`` returns self, learned state ends in ``_``) and work in its pipelines
and searches when scikit-learn is installed.

>>> import numpy as np
>>> X = np.arange(20.0).reshape(-1, 1); y = 3 * X[:, 0] + 1
>>> Regressor(epochs=2000).fit(X, y).predict([[30.0]]).round(2)
array([91.])
"""

from __future__ import annotations

import inspect
from typing import Any

from .data import (
    LabelEncoder,
    Preprocessor,
    check_class_labels,
    infer_task,
    to_targets,
    train_validation_split,
)
from .engine import ops
from .engine.backend import xp
from .engine.tensor import no_grad
from .errors import InputError
from .learn.callbacks import Callback
from .learn.history import History
from .learn.nn import MLP, Linear, Module
from .train import fit as train
from .understand.metrics import r2_score


class _Base:
    """scikit-learn's estimator contract without importing scikit-learn (it costs a second
    at start-up): get_params/set_params by the constructor's signature, and tags built
    by scikit-learn itself when it asks for them."""

    _estimator_type = ""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p for p in signature.parameters if p != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise InputError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; valid: {valid}."
                )
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

        mixin = ClassifierMixin if self._estimator_type == "classifier" else RegressorMixin
        return type("Tagged", (mixin, BaseEstimator), {})().__sklearn_tags__()

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != _defaults(type(self))[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _defaults(cls: type) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()}


class _RegressorMixin:
    _estimator_type = "regressor"


class _ClassifierMixin:
    _estimator_type = "classifier"


_DEFAULTS = {  # per model: optimizer, learning rate, batch size, epochs
    "linear": ("sgd", "auto", None, 1000),
    "logistic": ("sgd", "auto", None, 1000),
    "softmax": ("sgd", "auto", None, 1000),
    "mlp": ("adam", 0.001, 32, 200),
}
"""Linear, logistic and softmax models choose their rate from the curvature (``lr='auto'``:
1/L); with it, and no optimizer given, they take Nesterov's steps with the momentum theory
gives for the condition number, (sqrt(kappa) - 1) / (sqrt(kappa) + 1). With a rate given,
the default optimizer is plain SGD, as in the lesson."""


class _Estimator(_Base):
    """What Regressor and Classifier share: preprocessing, building, fitting, saving.

    ``alpha`` is L2 regularisation: the loss minimised is the mean loss plus
    ``(alpha / 2) |w|^2`` over the weights, not the biases (``descend.learn.penalty``).
    In scikit-learn's terms, with n training rows: a linear Regressor is
    ``Ridge(alpha=n * alpha / 2)``, a logistic or softmax Classifier is
    ``LogisticRegression(C=1 / (n * alpha))``, an MLP's penalty is ``MLPClassifier(
    alpha=n * alpha)`` (``MLPRegressor(alpha=n * alpha / 2)``).
    """

    _models: tuple[str, ...] = ()

    def __init__(
        self,
        model: str = "auto",
        hidden: tuple[int, ...] = (64,),
        activation: str = "relu",
        loss: str | None = None,
        optimizer: str | None = None,
        lr: float | str | None = None,
        epochs: int | None = None,
        batch_size: int | str | None = "auto",
        validation: float | None = None,
        tol: float | None = 1e-5,
        patience: int = 10,
        standardize: bool = True,
        impute: str | None = None,
        categorical: tuple[str, ...] = (),
        recover: bool = False,
        alpha: float = 0.0,
        seed: int = 0,
        verbose: bool = False,
        log_every: int = 10,
        callbacks: tuple[Callback, ...] = (),
    ) -> None:
        self.model = model
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation = validation
        self.tol = tol
        self.patience = patience
        self.standardize = standardize
        self.impute = impute
        self.categorical = categorical
        self.recover = recover
        self.alpha = alpha
        self.seed = seed
        self.verbose = verbose
        self.log_every = log_every
        self.callbacks = callbacks

    # ----- what subclasses decide ------------------------------------------------
    def _prepare_target(self, y: Any) -> tuple[Any, str, int]:
        """(encoded y, model kind, number of outputs)."""
        raise NotImplementedError

    def _default_loss(self, kind: str) -> str:
        raise NotImplementedError

    # ----- fitting ----------------------------------------------------------------
    def _features(self, X: Any) -> Any:
        if isinstance(X, list):
            X = xp.asarray(X)
        if getattr(X, "ndim", 2) == 1:
            raise InputError(
                f"X must be 2-D (rows x columns); got shape {X.shape}. For a single feature "
                "use X.reshape(-1, 1)."
            )
        return X

    def _build(self, kind: str, n_in: int, n_out: int) -> Module:
        if kind == "mlp":
            hidden = [self.hidden] if isinstance(self.hidden, int) else list(self.hidden)
            return MLP([n_in, *hidden, n_out], activation=self.activation, seed=self.seed)
        return Linear(n_in, n_out, init="zeros")  # a convex problem: start where the lesson does

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Preprocess X (and y), build the model and train it; returns self."""
        X = self._features(X)
        if self.model not in self._models:
            raise InputError(
                f"The 'model' parameter of {type(self).__name__} must be one of "
                f"{list(self._models)}. Got {self.model!r} instead."
            )
        self.preprocessor_ = Preprocessor(
            standardize=self.standardize, impute=self.impute, categorical=self.categorical
        )
        # statistics from the training rows only: train() holds out the same rows
        self.preprocessor_.fit(_rows(X, self.training_rows(len(X))))
        features = self.preprocessor_.transform(X)
        self.n_features_in_ = len(self.preprocessor_.input_features_)
        if hasattr(X, "columns"):
            self.feature_names_in_ = xp.asarray(self.preprocessor_.input_features_, dtype=object)
        target, kind, n_out = self._prepare_target(y)
        if len(target) != len(features):
            raise InputError(
                f"X has {len(features)} rows but y has {len(target)}; give one target per row."
            )
        self.kind_ = kind
        self.loss_ = self.loss or self._default_loss(kind)
        self.module_ = self._build(kind, features.shape[1], n_out)
        self.history_: History = train(
            self.module_,
            features,
            target,
            loss=self.loss_,
            **self.training_settings(kind),
            seed=self.seed,
            validation=self.validation,
            callbacks=self.callbacks,
            log_every=self.log_every,
            verbose=self.verbose,
            tol=self.tol,
            patience=self.patience,
            recover=self.recover,
            alpha=self.alpha,
            sample_weight=sample_weight,
        )
        return self

    def training_settings(self, kind: str) -> dict[str, Any]:
        """The optimizer, lr, epochs and batch_size that fit uses for a model of ``kind``:
        the parameters given, and the model's defaults for those left unset.

        >>> Regressor(lr=0.3).training_settings("linear")
        {'optimizer': 'sgd', 'lr': 0.3, 'epochs': 1000, 'batch_size': None}
        >>> Regressor().training_settings("linear")["optimizer"]
        'nesterov'
        """
        optimizer, lr, batch_size, epochs = _DEFAULTS["mlp" if kind == "mlp" else kind]
        lr = self.lr if self.lr is not None else lr
        if lr == "auto" and kind != "mlp":
            optimizer = "nesterov"  # its momentum comes with the rate, from the curvature
        return {
            "optimizer": self.optimizer or optimizer,
            "lr": lr,
            "epochs": self.epochs if self.epochs is not None else epochs,
            "batch_size": batch_size if self.batch_size == "auto" else self.batch_size,
        }

    def training_rows(self, n_rows: int) -> Any:
        """Positions of the rows fit learns from; the others (``validation``) are held out.

        >>> Regressor(validation=0.25).training_rows(8)
        array([0, 1, 3, 5, 6, 7])
        """
        fraction = self.validation
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):  # None: no split
            return xp.arange(n_rows)
        where = f"The 'validation' parameter of {type(self).__name__}"
        if not 0 < fraction < 1:
            raise InputError(
                f"{where} must be a fraction in (0, 1), such as 0.2 to hold out 20% of the rows. "
                f"Got {fraction!r} instead."
            )
        if n_rows < 2:
            raise InputError(
                f"{where} holds rows out, which needs at least 2 rows; got {n_rows}. Use more "
                "rows or validation=None."
            )
        return train_validation_split(n_rows, fraction, self.seed)[0]

    def _fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise InputError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) before predicting."
            )

    def decision_function(self, X: Any) -> Any:
        """The model's raw outputs (predictions or logits) for X."""
        self._fitted()
        features = self.preprocessor_.transform(self._features(X))
        with no_grad():
            return self.module_(features).data

    # ----- the model file -----------------------------------------------------------
    def _export(self) -> tuple[Module, dict[str, Any]]:
        self._fitted()
        unsaved = ("validation", "callbacks")
        params = {k: v for k, v in self.get_params().items() if k not in unsaved}
        if isinstance(params.get("hidden"), tuple):
            params["hidden"] = list(params["hidden"])
        params["categorical"] = list(params.get("categorical") or ())
        labels = getattr(self, "labels_", None)
        return self.module_, {
            "estimator": type(self).__name__,
            "params": params,
            "model_kind": self.kind_,
            "loss": self.loss_,
            "preprocessing": self.preprocessor_.to_dict(),
            "labels": None if labels is None else labels.to_dict(),
            "history": self.history_.to_dict(),
            "fitted_on_table": hasattr(self, "feature_names_in_"),
        }


class Regressor(_RegressorMixin, _Estimator):
    """Linear regression (``model='auto'`` or ``'linear'``) or an MLP regressor.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 2)); y = X @ [1.0, 2.0]
    >>> round(Regressor().fit(X, y).score(X, y), 4)
    1.0
    """

    _models = ("auto", "linear", "mlp")

    def _prepare_target(self, y: Any) -> tuple[Any, str, int]:
        target = to_targets(y)
        kind = "linear" if self.model == "auto" else self.model
        return target, kind, target.shape[1] if target.ndim == 2 else 1

    def _default_loss(self, kind: str) -> str:
        return "mse"

    def predict(self, X: Any) -> Any:
        """Predicted values: shape (n,) for one target, (n, k) for k."""
        out = self.decision_function(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of the predictions (1 is perfect), as scikit-learn defines it."""
        truth = to_targets(y)
        return float(r2_score(truth, self.predict(X), sample_weight))


class Classifier(_ClassifierMixin, _Estimator):
    """Logistic regression, softmax regression or an MLP classifier; labels may be strings.

    ``model='auto'`` picks logistic for two classes and softmax for more.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = ["no", "no", "yes", "yes"]
    >>> Classifier().fit(X, y).predict([[0.2], [2.8]]).tolist()
    ['no', 'yes']
    """

    _models = ("auto", "logistic", "softmax", "mlp")

    def _prepare_target(self, y: Any) -> tuple[Any, str, int]:
        if xp.ndim(y) == 2 and xp.shape(y)[1] == 1:
            y = xp.asarray(y)[:, 0]
        task = infer_task(y, name="y") if self.model == "auto" else None
        check_class_labels(y, "y", "use Regressor to predict them as numbers.")
        self.labels_ = LabelEncoder().fit(y)
        self.classes_ = xp.asarray(self.labels_.classes_)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise InputError(
                f"y has a single class {self.classes_[0]!r}; a classifier needs at least two."
            )
        kind = self.model
        if kind == "auto":
            kind = "logistic" if task == "binary" or n_classes == 2 else "softmax"
        if kind == "logistic" and n_classes > 2:
            raise InputError(
                f"model='logistic' separates two classes but y has {n_classes}; use "
                "model='softmax' (or 'auto')."
            )
        n_out = 1 if n_classes == 2 and kind != "softmax" else n_classes
        codes = self.labels_.transform(y)
        return (codes.astype(float) if n_out == 1 else codes), kind, n_out

    def _default_loss(self, kind: str) -> str:
        return (
            "bce_with_logits" if len(self.classes_) == 2 and kind != "softmax" else "cross_entropy"
        )

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, one column per class in ``classes_`` order."""
        scores = self.decision_function(X)
        if scores.shape[1] == 1:
            positive = ops.sigmoid(scores[:, 0]).data
            return xp.stack([1 - positive, positive], axis=1)
        shifted = scores - scores.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> Any:
        """The most probable class label of each row."""
        codes = self.predict_proba(X).argmax(axis=1)
        return xp.asarray(self.labels_.inverse_transform(codes))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy: the share of rows whose predicted label is right."""
        right = self.predict(X) == xp.asarray(y).reshape(-1)
        return float(xp.average(right, weights=sample_weight))


def _rows(X: Any, positions: Any) -> Any:
    """The rows of an array or table at ``positions`` (a DataFrame keeps its row labels)."""
    if hasattr(X, "iloc"):
        return X.iloc[positions]
    if hasattr(X, "to_pandas") and hasattr(X, "columns"):  # polars, pyarrow
        return X.to_pandas().iloc[positions]
    return xp.asarray(X)[positions]


ESTIMATORS = {"Regressor": Regressor, "Classifier": Classifier}


def from_export(module: Module, meta: dict[str, Any]) -> Any:
    """Rebuild a fitted estimator from a model file's module and metadata."""
    name = meta.get("estimator")
    if name not in ESTIMATORS:
        raise InputError(f"The model file names an unknown estimator {name!r}.")
    params = dict(meta.get("params", {}))
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
