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
from collections.abc import Callable
from typing import Any

from . import interrupts
from ._validation import (
    NONE,
    Boolean,
    Constraints,
    Interval,
    Options,
    Satisfies,
    at_least,
    check,
    non_negative,
    positive,
    register,
)
from .data import (
    IMPUTE_STRATEGIES,
    LabelEncoder,
    Preprocessor,
    to_array,
    to_targets,
    train_validation_split,
)
from .engine import ops
from .engine.backend import xp
from .engine.tensor import no_grad
from .errors import InputError
from .learn.callbacks import Callback
from .learn.history import History
from .learn.nn import ACTIVATIONS, Module
from .learn.optim import OPTIMIZERS
from .models import DEFAULTS, Choice, build, choose
from .train import fit as train
from .understand.metrics import classification_metrics, r2_score, regression_metrics
from .understand.sweep import SweepResult
from .understand.sweep import sweep as run_sweep

_VALIDATION = [Interval(float, 0, 1, "neither", words="a fraction")]
"""A fraction of the rows to hold out, such as 0.2."""


def _sizes(value: Any) -> bool:
    sizes = [value] if isinstance(value, int) else value
    return isinstance(sizes, (list, tuple)) and all(at_least(1).satisfied(s) for s in sizes)


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


class _Estimator(_Base):
    """What Regressor and Classifier share: preprocessing, building, fitting, saving."""

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
        seed: int = 0,
        verbose: bool | Callable[[str], None] = False,
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
        self.seed = seed
        self.verbose = verbose
        self.log_every = log_every
        self.callbacks = callbacks

    def _constraints(self) -> Constraints:
        """Each constructor parameter's allowed values (checked when ``fit`` starts)."""
        return {
            "model": [Options(*self._models)],
            "hidden": [Satisfies(_sizes, "a layer size >= 1 or a tuple of them", invalid=(0,))],
            "activation": [Options(*ACTIVATIONS)],
            "loss": [Satisfies(lambda v: isinstance(v, str), "a loss name"), NONE],
            "optimizer": [Options(*OPTIMIZERS), NONE],
            "lr": [positive(), Options("auto"), NONE],
            "epochs": [at_least(1), NONE],
            "batch_size": [at_least(1), Options("auto", None)],
            "validation": [*_VALIDATION, NONE],
            "tol": [non_negative(), NONE],
            "patience": [non_negative(int)],
            "standardize": [Boolean()],
            "impute": [Options(*IMPUTE_STRATEGIES)],
            "categorical": [Satisfies(lambda v: isinstance(v, (str, tuple, list)), "column names")],
            "recover": [Boolean()],
            "seed": [non_negative(int)],
            "verbose": [Boolean(), Satisfies(callable, "a function that prints one line")],
            "log_every": [non_negative(int)],
            "callbacks": [
                Satisfies(lambda v: isinstance(v, (tuple, list)), "a tuple of Callbacks")
            ],
        }

    # ----- what subclasses decide ------------------------------------------------
    _task = ""

    def _encode(self, y: Any, choice: Choice) -> Any:
        """The target as the model learns it."""
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

    @interrupts.entry()
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Preprocess X (and y), build the model and train it; returns self.

        The validation rows (``validation``) are held out once, here: the preprocessing
        statistics come from the training rows only.
        """
        features, target, train_rows = self._prepare(X, y)
        self.history_: History = self._train(features, target, sample_weight, train_rows)
        return self

    def _prepare(self, X: Any, y: Any) -> tuple[Any, Any, Any]:
        """Check the parameters, hold out the validation rows, fit the preprocessing on the
        training rows, choose the model and build it: (features, target, training rows)."""
        check(type(self).__name__, self._constraints(), self.get_params())
        X = self._features(X)
        train_rows = self.training_rows(len(X))
        self.validation_rows_ = xp.setdiff1d(xp.arange(len(X)), train_rows)
        self.preprocessor_ = Preprocessor(
            standardize=self.standardize, impute=self.impute, categorical=self.categorical
        )
        self.preprocessor_.fit(_rows(X, train_rows))
        features = self.preprocessor_.transform(X)
        self.n_features_in_ = len(self.preprocessor_.input_features_)
        if hasattr(X, "columns"):
            self.feature_names_in_ = xp.asarray(self.preprocessor_.input_features_, dtype=object)
        choice = choose(y, None if self.model == "auto" else self.model, self._task)
        target = self._encode(y, choice)
        if len(target) != len(features):
            raise InputError(
                f"X has {len(features)} rows but y has {len(target)}; give one target per row."
            )
        self.kind_ = choice.kind
        self.loss_ = self.loss or choice.loss
        if self.loss_ not in choice.losses:
            raise InputError(
                f"loss={self.loss_!r} does not fit this {choice.kind} {choice.task} model; use "
                f"{' or '.join(choice.losses)}, or leave loss out."
            )
        self.module_ = build(
            choice.kind, features.shape[1], choice.n_outputs, self.hidden, self.activation,
            self.seed,
        )  # fmt: skip
        return features, target, train_rows

    @interrupts.entry()
    def sweep(
        self, X: Any, y: Any, lrs: Any = None, epochs: int | None = None, verbose: Any = False
    ) -> SweepResult:
        """Train this estimator's model once per learning rate in ``lrs`` on the same
        preprocessed rows, from the same starting weights, and recommend one
        (``descend.sweep``); ``epochs`` defaults to the estimator's; ``verbose`` prints a
        line per run. The estimator itself is left as it was."""
        twin = type(self)(**self.get_params())
        features, target, rows = twin._prepare(X, y)
        held = twin.validation_rows_
        settings = twin.training_settings(twin.kind_)
        return run_sweep(
            twin.module_, features[rows], target[rows], lrs=lrs,
            epochs=epochs or settings["epochs"], loss=twin.loss_,
            optimizer=settings["optimizer"], batch_size=settings["batch_size"], seed=self.seed,
            validation=(features[held], target[held]) if len(held) else None, tol=self.tol,
            patience=self.patience, recover=self.recover, verbose=verbose,
        )  # fmt: skip

    def _train(self, features: Any, target: Any, weight: Any, rows: Any) -> History:
        """``descend.fit`` on the training rows, the held-out ones as validation data."""
        held = self.validation_rows_
        weight = None if weight is None else to_targets(weight, name="sample_weight").ravel()
        if weight is not None and len(weight) != len(features):
            raise InputError(
                f"X has {len(features)} rows but sample_weight has {len(weight)}; give one "
                "weight per row."
            )
        validation = None
        if len(held):
            validation = (features[held], target[held], None if weight is None else weight[held])
        return train(
            self.module_,
            features[rows],
            target[rows],
            loss=self.loss_,
            **self.training_settings(self.kind_),
            seed=self.seed,
            validation=validation,
            callbacks=self.callbacks,
            log_every=self.log_every,
            verbose=self.verbose,
            tol=self.tol,
            patience=self.patience,
            recover=self.recover,
            sample_weight=None if weight is None else weight[rows],
        )

    def training_settings(self, kind: str) -> dict[str, Any]:
        """The optimizer, lr, epochs and batch_size that fit uses for a model of ``kind``:
        the parameters given, and the model's defaults for those left unset.

        >>> Regressor(lr=0.3).training_settings("linear")
        {'optimizer': 'sgd', 'lr': 0.3, 'epochs': 1000, 'batch_size': None}
        """
        optimizer, lr, batch_size, epochs = DEFAULTS[kind]
        return {
            "optimizer": self.optimizer or optimizer,
            "lr": self.lr if self.lr is not None else lr,
            "epochs": self.epochs if self.epochs is not None else epochs,
            "batch_size": batch_size if self.batch_size == "auto" else self.batch_size,
        }

    def training_rows(self, n_rows: int) -> Any:
        """Positions of the rows fit learns from; the others (``validation``) are held out.

        >>> Regressor(validation=0.25).training_rows(8)
        array([0, 1, 3, 5, 6, 7])
        """
        fraction = self.validation
        if fraction is None:
            return xp.arange(n_rows)
        check(type(self).__name__, {"validation": _VALIDATION}, {"validation": fraction})
        if n_rows < 2:
            where = f"The 'validation' parameter of {type(self).__name__}"
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
        params["verbose"] = params["verbose"] is True  # a printer function is not saved
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
    _task = "regression"

    def _encode(self, y: Any, choice: Choice) -> Any:
        return to_targets(y)

    def metrics(self, X: Any, y: Any) -> dict[str, float]:
        """mse, rmse, mae and r2 of the predictions for X against the true values y."""
        fix = "this model is a regressor: it predicts numbers. Give the column it was trained on."
        name = getattr(y, "name", None)
        truth = to_array(y, name=f"Target {name!r}" if name else "y", ndim=1, fix=fix)
        return regression_metrics(truth, self.predict(X))

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
    _task = "classification"

    def _encode(self, y: Any, choice: Choice) -> Any:
        assert choice.labels is not None  # a classification choice has its labels
        self.labels_ = choice.labels
        self.classes_ = xp.asarray(self.labels_.classes_)
        codes = self.labels_.transform(y)
        return codes.astype(float) if choice.n_outputs == 1 else codes

    def metrics(self, X: Any, y: Any) -> dict[str, Any]:
        """accuracy, log_loss, f1_macro, the confusion matrix and the labels, for X against y."""
        self._fitted()
        result = classification_metrics(self.labels_.transform(y), self.predict_proba(X))
        result["labels"] = list(self.labels_.classes_)
        return result

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
for _estimator in ESTIMATORS.values():  # checked when fit starts, as in scikit-learn
    register(_estimator, _estimator()._constraints())


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
