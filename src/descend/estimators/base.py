"""What Regressor and Classifier share: checking the data, preprocessing, building, fitting
(all rows at once, or block by block with ``partial_fit``), the learned attributes in
scikit-learn's words, and the model file's part of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import interrupts
from .._validation import (
    NONE,
    Boolean,
    Constraints,
    InstanceOf,
    Interval,
    Options,
    Satisfies,
    at_least,
    check,
    non_negative,
    positive,
)
from ..data import IMPUTE_STRATEGIES, Preprocessor, train_validation_split
from ..data.inputs import fit_inputs, is_table, predict_input, weights
from ..engine.backend import xp
from ..engine.tensor import no_grad
from ..errors import InputError, not_fitted
from ..learn.callbacks import Callback
from ..learn.callbacks.base import CALLBACKS
from ..learn.history import PER_EPOCH, History
from ..learn.nn import ACTIVATIONS, Module
from ..learn.optim import OPTIMIZERS, make_optimizer
from ..learn.training import printer
from ..models import DEFAULTS, Choice, build, choose
from ..scale.tables import in_blocks, open_table
from ..train import fit as train
from ..train import print_summary
from ..understand.diagnose import Diagnosis, diagnose
from ..understand.rates import choose_rate
from ..understand.sweep import SweepResult
from ..understand.sweep import sweep as run_sweep
from .contract import SEEDS, EstimatorContract, seed_of

_VALIDATION = [Interval(float, 0, 1, "neither", words="a fraction")]
"""A fraction of the rows to hold out, such as 0.2."""


def _sizes(value: Any) -> bool:
    sizes = [value] if isinstance(value, int) else value
    return isinstance(sizes, (list, tuple)) and all(at_least(1).satisfied(s) for s in sizes)


class Estimator(EstimatorContract):
    """What Regressor and Classifier share: preprocessing, building, fitting, saving.

    ``random_state`` is scikit-learn's name for the seed of the validation split, the
    initial weights and the minibatch order: an int (0, the default, makes every fit
    the same), None (a new seed each fit) or a NumPy RandomState or Generator (its next
    integer). ``descend.fit`` and the command line (``--seed``) call it ``seed``.

    ``alpha`` is L2 regularisation in scikit-learn's units, for the columns the model
    sees (standardised when ``standardize=True``): in ``fit``, a linear Regressor with
    ``alpha`` is ``make_pipeline(StandardScaler(), Ridge(alpha=alpha))`` (with
    ``standardize=False``, ``Ridge(alpha=alpha)``), a logistic or softmax Classifier
    ``LogisticRegression(C=1 / alpha)`` the same way, an MLP's penalty that of
    ``MLPRegressor`` / ``MLPClassifier(alpha=alpha)``. ``partial_fit`` cannot know how many
    rows a pass over the data holds, so there ``alpha`` is per row, as in
    ``SGDRegressor`` / ``SGDClassifier(alpha=alpha)``: one pass of row blocks of total
    weight n with ``alpha=a`` minimises what ``fit`` with ``alpha=a * n`` does.
    ``descend.fit`` takes the penalty per row, on the mean loss (``learn/penalty.py``):
    ``fit_alpha`` converts.

    ``verify=True``: before training on table files or Dask partitions, check that a
    sample of their rows gives the loss and gradient the same rows give in memory
    (``descend.fit(verify=True)``); an InputError if not. Rows in memory need no check.
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
        random_state: Any = 0,
        verbose: bool | Callable[[str], None] = False,
        log_every: int = 10,
        callbacks: tuple[Callback, ...] = (),
        verify: bool = False,
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
        self.random_state = random_state
        self.verbose = verbose
        self.log_every = log_every
        self.callbacks = callbacks
        self.verify = verify

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
            "alpha": [non_negative()],
            "random_state": [
                non_negative(int),
                NONE,
                InstanceOf((np.random.RandomState, np.random.Generator), "a NumPy random state"),
            ],
            "verbose": [Boolean(), Satisfies(callable, "a function that prints one line")],
            "log_every": [non_negative(int)],
            "callbacks": [CALLBACKS],
            "verify": [Boolean()],
        }

    # ----- what subclasses decide ------------------------------------------------
    _task = ""

    def _targets(self, y: Any) -> Any:
        """The target as the model learns it (after ``_choose``)."""
        raise NotImplementedError

    def _choose(self, y: Any, given: Choice | None = None) -> Choice:
        """The task, model and outputs target ``y`` needs (a classifier keeps its labels);
        ``given``: ``models.choose`` made already for this y (by the command line)."""
        if given is not None and given.task == self._task:
            return given
        return choose(y, None if self.model == "auto" else self.model, self._task)

    # ----- fitting ----------------------------------------------------------------
    @interrupts.entry()
    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, *, choice: Choice | None = None
    ) -> Any:
        """Preprocess X (and y), build the model and train it; returns self.

        The validation rows (``validation``) are held out once, here: the preprocessing
        statistics come from the training rows only. ``sample_weight`` (one number >= 0
        per row) counts each row as if it were repeated that many times. ``choice``: what
        ``descend.models.choose`` made of this y already, so that y is read once.
        """
        if in_blocks(X):  # table files or Dask partitions: fitted and trained in blocks
            rows, held = self._prepare_blocks(X, y, sample_weight)
            self.history_: History = self._train_blocks(rows, held)
        else:
            features, target, weight, train_rows = self._prepare(X, y, sample_weight, choice)
            self.history_ = self._train(features, target, weight, train_rows)
        self._in_my_units(self.history_, self.history_.settings.get("rows") or 0)
        print_summary(self.history_, printer(self.verbose))  # in this estimator's units
        return self

    def _penalty_scale(self) -> float:
        """fit's alpha over this estimator's, times the rows, so that alpha means what it
        means in scikit-learn. Ridge sums the squared errors of every target and does not
        halve them, where fit averages over rows and targets: 2 / targets. MLPRegressor
        halves them and averages over the targets: 2. LogisticRegression's and
        MLPClassifier's log loss is the sum of what fit averages: 1; but a softmax of two
        classes penalises two rows of weights, and at the optimum each is half their
        difference, LogisticRegression's weights: 2. Before fit, one output."""
        kind = getattr(self, "kind_", None) or self.model
        module = getattr(self, "module_", None)
        outputs = module.parameters()[-1].shape[0] if module is not None else 1
        if self._estimator_type == "classifier":
            return 2.0 if kind == "softmax" and outputs == 2 else 1.0
        return 2.0 if kind == "mlp" else 2.0 / outputs

    def fit_alpha(self, rows: float) -> float:
        """The L2 penalty ``descend.fit`` takes (on the mean loss) for this estimator's
        ``alpha`` (scikit-learn's, on the sum) over ``rows`` training rows (their weight);
        ``rows=1`` gives partial_fit's (alpha per row).

        >>> from descend import Classifier, Regressor
        >>> Regressor(alpha=1.0).fit_alpha(100), Classifier(alpha=1.0).fit_alpha(100)
        (0.02, 0.01)
        """
        return self._penalty_scale() * self.alpha / rows if self.alpha and rows else 0.0

    def _in_my_units(self, history: History, rows: float) -> History:
        """The diagnosis' suggested alpha (fit's, per row) in this estimator's units, for a
        run over ``rows`` rows (partial_fit: 1, its alpha is per row)."""
        advice = history.diagnosis or {}
        fitted = (advice.get("suggested") or {}).get("alpha")
        if fitted and rows:
            mine = float(f"{fitted * rows / self._penalty_scale():.2g}")
            advice["suggestion"] = advice["suggestion"].replace(
                f"alpha={fitted:g}", f"alpha={mine:g}"
            )
            advice["suggested"]["alpha"] = mine
        return history

    def _prepare_blocks(self, X: Any, y: Any, sample_weight: Any) -> tuple[Any, Any]:
        """``_prepare`` for data read in blocks (``scale.tables``): the preprocessing and the
        target's values in one pass over the training rows, then the rows to train on."""
        check(type(self).__name__, self._constraints(), self.get_params())
        self._seed_ = seed_of(self.random_state)
        if sample_weight is not None:
            raise InputError("With data in files or Dask partitions, fit takes no sample_weight.")
        table = open_table(X, y, self.validation, self._seed_)
        pre = Preprocessor(self.standardize, impute=self.impute, categorical=self.categorical)
        self.preprocessor_, values = table.statistics(pre)
        self.n_features_in_ = len(table.features)
        if table.from_table:
            self.feature_names_in_ = xp.asarray(table.features, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        self._begin(values.sample(), len(self.preprocessor_.feature_names_out_))
        if self._estimator_type == "classifier":
            values.check_classes()
        self.validation_rows_: Any = None  # chosen by row number as the blocks are read
        pre, encode = self.preprocessor_, self._targets
        return table.rows(lambda x, t: (pre.transform(x), encode(t)))  # type: ignore[no-any-return]

    def _train_blocks(self, rows: Any, held: Any) -> History:
        """``descend.fit`` on rows in blocks, the held-out ones as validation data."""
        return train(
            self.module_, rows, None, loss=self.loss_, **self.training_settings(self.kind_),
            seed=self._seed_, validation=held, callbacks=self.callbacks,
            log_every=self.log_every, verbose=self.verbose, tol=self.tol,
            patience=self.patience, recover=self.recover,
            alpha=self.fit_alpha(rows.n_rows or 0), verify=self.verify, summary=False,
        )  # fmt: skip

    def _checked(self, X: Any, y: Any, sample_weight: Any, first: bool) -> tuple[Any, Any, Any]:
        """X, y and the weights, checked; ``first``: the columns are learned, not compared."""
        if first:
            check(type(self).__name__, self._constraints(), self.get_params())
            self._seed_ = seed_of(self.random_state)
        classifier = self._estimator_type == "classifier"
        X, y = fit_inputs(self, X, y, classifier, self.impute is not None, reset=first)
        return X, y, weights(sample_weight, X)

    def _prepare(
        self, X: Any, y: Any, sample_weight: Any = None, choice: Choice | None = None
    ) -> tuple[Any, Any, Any, Any]:
        """Check the parameters and the data, hold out the validation rows, fit the
        preprocessing on the training rows, choose the model and build it: (features,
        target, sample weights, training rows)."""
        X, y, weight = self._checked(X, y, sample_weight, first=True)
        train_rows = self.training_rows(len(X), self._seed_)
        self.validation_rows_ = xp.setdiff1d(xp.arange(len(X)), train_rows)
        features = self._preprocess(X, train_rows, weight)
        target = self._begin(y, features.shape[1], given=choice)
        if len(target) != len(features):
            raise InputError(
                f"X has {len(features)} rows but y has {len(target)}; give one target per row."
            )
        return features, target, weight, train_rows

    def _preprocess(self, X: Any, rows: Any, weight: Any) -> Any:
        """Fit the Preprocessor on the ``rows`` of X (weighted), remember X's columns, and
        transform all of X."""
        self.preprocessor_ = Preprocessor(
            standardize=self.standardize, impute=self.impute, categorical=self.categorical
        )
        self.preprocessor_.fit(_rows(X, rows), sample_weight=_take(weight, rows))
        self.n_features_in_ = len(self.preprocessor_.input_features_)
        if is_table(X):
            self.feature_names_in_ = xp.asarray(self.preprocessor_.input_features_, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        return self.preprocessor_.transform(X)

    def _begin(
        self, y: Any, n_features: int, classes: Any = None, given: Choice | None = None
    ) -> Any:
        """Choose the model for y (or ``classes``; or take the one ``given``), check the loss,
        build the network; the target as it learns it."""
        choice = self._choose(y if classes is None else classes, given)
        self.kind_ = choice.kind
        self.loss_ = self.loss or choice.loss
        if self.loss_ not in choice.losses:
            raise InputError(
                f"loss={self.loss_!r} does not fit this {choice.kind} {choice.task} model; use "
                f"{' or '.join(choice.losses)}, or leave loss out."
            )
        self.module_ = build(
            choice.kind, n_features, choice.n_outputs, self.hidden, self.activation, self._seed_
        )
        self.__dict__.pop("optimizer_", None)  # a new network needs a new optimizer
        return self._targets(y)

    @interrupts.entry()
    def sweep(
        self, X: Any, y: Any, lrs: Any = None, epochs: int | None = None, verbose: Any = False
    ) -> SweepResult:
        """Train this estimator's model once per learning rate in ``lrs`` on the same
        preprocessed rows, from the same starting weights, and recommend one
        (``descend.sweep``); ``epochs`` defaults to the estimator's; ``verbose`` prints a
        line per run. The estimator itself is left as it was."""
        twin = type(self)(**self.get_params())
        features, target, _, rows = twin._prepare(X, y)
        held = twin.validation_rows_
        settings = twin.training_settings(twin.kind_)
        return run_sweep(
            twin.module_, features[rows], target[rows], lrs=lrs,
            epochs=epochs or settings["epochs"], loss=twin.loss_,
            optimizer=self.optimizer or DEFAULTS[twin.kind_].optimizer,  # the rates are given
            batch_size=settings["batch_size"], seed=twin._seed_,
            validation=(features[held], target[held]) if len(held) else None, tol=self.tol,
            patience=self.patience, recover=self.recover, verbose=verbose,
            alpha=twin.fit_alpha(len(rows)),
        )  # fmt: skip

    def _train(self, features: Any, target: Any, weight: Any, rows: Any) -> History:
        """``descend.fit`` on the training rows, the held-out ones as validation data."""
        held = self.validation_rows_
        validation = None
        if len(held):
            validation = (features[held], target[held], _take(weight, held))
        return train(
            self.module_,
            features[rows],
            target[rows],
            loss=self.loss_,
            **self.training_settings(self.kind_),
            seed=self._seed_,
            validation=validation,
            callbacks=self.callbacks,
            log_every=self.log_every,
            verbose=self.verbose,
            tol=self.tol,
            patience=self.patience,
            recover=self.recover,
            alpha=self.fit_alpha(_total(_take(weight, rows), len(rows))),
            sample_weight=_take(weight, rows),
            verify=self.verify,
            summary=False,
        )

    # ----- learning from row blocks --------------------------------------------------
    def _partial_fit(self, X: Any, y: Any, sample_weight: Any, classes: Any = None) -> Any:
        """One epoch over the rows given (minibatches of ``batch_size``; None: one step),
        continuing from the weights and the optimizer's state of the calls before.

        The first call (on an estimator not fitted yet) fits the preprocessing on its rows
        (every later call is standardised with the first call's means and scales) and
        builds the model; later calls must have the same columns. ``alpha`` is per row
        (``SGDRegressor``'s): a pass over blocks of total weight n with ``alpha=a`` is a
        pass of ``fit`` with ``alpha=a * n``. ``epochs``, ``tol``, ``patience`` and
        ``verbose`` do not apply: each call is one epoch.
        """
        first = not hasattr(self, "module_")
        X, y, weight = self._checked(X, y, sample_weight, first)
        if first and self.validation is not None:
            raise InputError(
                f"partial_fit learns from every row it is given; validation={self.validation} "
                "holds rows out only in fit. Set validation=None, and measure the held-out "
                "rows yourself."
            )
        if first:
            self.validation_rows_ = xp.arange(0)
            features = self._preprocess(X, xp.arange(len(X)), weight)
            target = self._begin(y, features.shape[1], classes)
        else:
            features, target = self.preprocessor_.transform(X), self._targets(y)
        if len(target) != len(features):
            raise InputError(
                f"X has {len(features)} rows but y has {len(target)}; give one target per row."
            )
        optimizer, lr = self._optimizer((features, target, weight))
        history = train(
            self.module_, features, target, loss=self.loss_, optimizer=optimizer, lr=lr,
            epochs=1, batch_size=self.training_settings(self.kind_)["batch_size"],
            seed=self._next_seed(), callbacks=self.callbacks, log_every=0, verbose=False,
            tol=None, recover=self.recover, sample_weight=weight,
            alpha=self.fit_alpha(1.0),
        )  # fmt: skip
        history.diagnosis = None  # diagnosis_ reads the whole run, in partial_fit's units
        self.history_ = history if first else _continued(self.history_, history)
        return self

    def _optimizer(self, rows: Any = None) -> tuple[Any, Any]:
        """What partial_fit steps with: (the Optimizer, its rate), made once, so that it keeps
        its state (momentum, Adam's moments) between calls. For lr='auto' the first call's
        ``rows`` (features, target, weights) choose the rate (and momentum), as fit would."""
        if not hasattr(self, "optimizer_"):
            settings = self.training_settings(self.kind_)
            name, params = settings["optimizer"], self.module_.parameters()
            if settings["lr"] != "auto":
                self.optimizer_ = make_optimizer(name, params, settings["lr"])
            else:
                features, target, weight = rows
                choice = choose_rate(
                    self.module_, features, target, self.loss_, name, settings["batch_size"],
                    self._next_seed(), weight, self.fit_alpha(1.0),
                )  # fmt: skip
                self.optimizer_ = choice.optimizer(name, params)
        return self.optimizer_, self.optimizer_.lr

    def _next_seed(self) -> int:
        """The seed of the next partial_fit call's minibatch order."""
        seed = getattr(self, "_seed_", None)
        seed = seed_of(self.random_state) if seed is None else seed
        return (seed + len(self.history_.loss) + 1 if hasattr(self, "history_") else seed) % SEEDS

    def training_settings(self, kind: str) -> dict[str, Any]:
        """The optimizer, lr, epochs and batch_size that fit uses for a model of ``kind``:
        the parameters given, and the model's defaults for those left unset.

        >>> from descend import Regressor
        >>> Regressor(lr=0.3).training_settings("linear")
        {'optimizer': 'sgd', 'lr': 0.3, 'epochs': 1000, 'batch_size': None}
        >>> Regressor().training_settings("linear")["optimizer"]
        'nesterov'
        """
        optimizer, lr, batch_size, epochs = DEFAULTS[kind]
        lr = self.lr if self.lr is not None else lr
        if lr == "auto" and kind != "mlp":
            optimizer = "nesterov"  # its momentum comes with the rate, from the curvature
        return {
            "optimizer": self.optimizer or optimizer,
            "lr": lr,
            "epochs": self.epochs if self.epochs is not None else epochs,
            "batch_size": batch_size if self.batch_size == "auto" else self.batch_size,
        }

    def training_rows(self, n_rows: int, seed: int | None = None) -> Any:
        """Positions of the rows fit learns from; the others (``validation``) are held out.
        ``seed`` defaults to the one ``random_state`` stands for.

        >>> from descend import Regressor
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
        seed = seed_of(self.random_state) if seed is None else seed
        return train_validation_split(n_rows, fraction, seed)[0]

    # ----- what fit learned --------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise not_fitted(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) before using it."
            )

    def _outputs(self, X: Any) -> Any:
        """The model's raw outputs (predictions or logits) for X: (rows, outputs)."""
        self._fitted()
        features = self.preprocessor_.transform(predict_input(self, X, self.impute is not None))
        with no_grad():
            return self.module_(features).data

    def _linear_weights(self) -> tuple[Any, Any]:
        """(coef, intercept) of a linear, logistic or softmax model in the units of the
        columns as given: one row of coef per output, one column per input column
        (per category for a one-hot encoded column: ``preprocessor_.feature_names_out_``)."""
        self._fitted()
        if self.kind_ == "mlp":
            raise AttributeError(
                f"coef_ and intercept_ belong to linear models; this {type(self).__name__} is "
                "an mlp: its weights are in module_."
            )
        linear: Any = self.module_
        weight, bias = linear.weight.data, linear.bias.data
        coef, intercept = self.preprocessor_.original_units(weight, bias)
        return coef.T, intercept

    @property
    def n_iter_(self) -> int:
        """Epochs run (partial_fit: calls)."""
        self._fitted()
        return self.history_.epochs

    @property
    def loss_curve_(self) -> list[float]:
        """The training loss of each epoch (``history_.loss``)."""
        self._fitted()
        return list(self.history_.loss)

    @property
    def diagnosis_(self) -> Diagnosis:
        """The verdict on the run (``descend.diagnose``), as fit printed it; after
        partial_fit, of all its calls (each call's loss is of its own rows)."""
        self._fitted()
        if self.history_.diagnosis is None:  # after partial_fit, whose alpha is per row
            self.history_.diagnosis = diagnose(self.history_).to_dict()
            self._in_my_units(self.history_, 1.0)
        return Diagnosis.from_dict(self.history_.diagnosis)

    # ----- the model file -----------------------------------------------------------
    def _export(self) -> tuple[Module, dict[str, Any]]:
        self._fitted()
        unsaved = ("validation", "callbacks")
        params = {k: v for k, v in self.get_params().items() if k not in unsaved}
        params["verbose"] = params["verbose"] is True  # a printer function is not saved
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = getattr(self, "_seed_", None)  # the seed it stood for
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


def _rows(X: Any, positions: Any) -> Any:
    """The rows of an array or table at ``positions`` (a DataFrame keeps its row labels)."""
    if hasattr(X, "iloc"):
        return X.iloc[positions]
    if hasattr(X, "to_pandas") and hasattr(X, "columns"):  # polars, pyarrow
        return X.to_pandas().iloc[positions]
    return xp.asarray(X)[positions]


def _take(weight: Any, positions: Any) -> Any:
    return None if weight is None else weight[positions]


def _total(weight: Any, rows: int) -> float:
    """The training rows' total weight (their number, without weights)."""
    return float(rows) if weight is None else float(weight.sum())


def _continued(history: History, more: History) -> History:
    """``history`` with the epochs of ``more`` (the next partial_fit call) after its own,
    the clock running on; the diagnosis is made when asked for (``diagnosis_``)."""
    offset, epochs = (history.time[-1] if history.time else 0.0), history.epochs
    for name in PER_EPOCH:
        shift = offset if name == "time" else 0.0
        getattr(history, name).extend(v + shift for v in getattr(more, name))
    history.events.extend({**e, "epoch": e.get("epoch", 0) + epochs} for e in more.events)
    history.stop_reason, history.stop_message = more.stop_reason, more.stop_message
    history.final_loss = more.final_loss
    history.settings["epochs"] = history.epochs
    history.diagnosis = None  # diagnosis_ reads the whole run when asked
    return history
