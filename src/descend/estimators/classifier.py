"""Classifier: logistic, softmax or an MLP, as a scikit-learn classifier; labels may be text."""

from __future__ import annotations

from typing import Any

from ..data import LabelEncoder
from ..engine import ops
from ..engine.backend import xp
from ..errors import InputError
from ..models import Choice
from ..understand.metrics import classification_metrics
from .base import Estimator
from .contract import ClassifierMixin


class Classifier(ClassifierMixin, Estimator):
    """Logistic regression, softmax regression or an MLP classifier; labels may be strings.

    ``model='auto'`` picks logistic for two classes and softmax for more.

    ``alpha`` (L2) means what it means in scikit-learn: a converged logistic or softmax
    ``Classifier(alpha=a)`` is ``make_pipeline(StandardScaler(), LogisticRegression(C=1 /
    a))`` (the same ``coef_``, ``intercept_`` and probabilities, for a softmax of two
    classes too), and with ``standardize=False`` it is ``LogisticRegression(C=1 / a)``
    (raw columns may need many more epochs to converge); an MLP's is
    ``MLPClassifier(alpha=a)``'s. In ``partial_fit`` alpha is per row, as in
    ``SGDClassifier(loss='log_loss', alpha=a)``: one pass over blocks of n rows in all is a
    pass of ``fit`` with ``alpha=a * n``. ``sample_weight`` (integers) gives exactly the
    model of the rows repeated that many times in full batch (``batch_size=None``, the
    logistic and softmax default, without ``validation``); minibatches and a validation
    split draw their rows from the rows given, so they differ.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = ["no", "no", "yes", "yes"]
    >>> Classifier().fit(X, y).predict([[0.2], [2.8]]).tolist()
    ['no', 'yes']
    """

    _models = ("auto", "logistic", "softmax", "mlp")
    _task = "classification"

    def _choose(self, y: Any, given: Choice | None = None) -> Choice:
        choice = super()._choose(y, given)
        assert choice.labels is not None  # a classification choice has its labels
        self.labels_ = choice.labels
        self.classes_ = xp.asarray(self.labels_.classes_)
        return choice

    def _targets(self, y: Any) -> Any:
        codes = self.labels_.transform(y)
        one_output = len(self.labels_.classes_) == 2 and self.kind_ != "softmax"
        return codes.astype(float) if one_output else codes

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> Classifier:
        """One epoch on these rows, from where the last call (or fit) left the model.
        The first call needs ``classes``, every class y will ever hold; later calls may
        repeat them (the same), or leave them out."""
        if not hasattr(self, "module_") and classes is None:
            raise InputError(
                "classes must be passed on the first call to partial_fit: every class y "
                "will hold, e.g. classes=np.unique(y_all)."
            )
        if hasattr(self, "module_") and classes is not None:
            given = LabelEncoder().fit(classes).classes_
            if given != self.labels_.classes_:
                raise InputError(
                    f"classes={given!r} is not the same as on the first call to partial_fit "
                    f"({self.labels_.classes_!r}); pass the same classes, or none."
                )
        return self._partial_fit(X, y, sample_weight, classes)  # type: ignore[no-any-return]

    @property
    def coef_(self) -> Any:
        """The weights in the units of X's columns, as scikit-learn shapes them: (1,
        n_features) for two classes (the log-odds of ``classes_[1]``, logistic or softmax),
        (classes, n_features) for more; ``X @ coef_.T + intercept_`` is
        ``decision_function(X)``."""
        return self._scores_weights()[0]

    @property
    def intercept_(self) -> Any:
        """The biases: (1,) for two classes, one per class for more."""
        return self._scores_weights()[1]

    def _scores_weights(self) -> tuple[Any, Any]:
        """(coef, intercept) of ``decision_function``: a softmax of two classes scores
        ``classes_[1]`` by the difference of its two logits."""
        coef, intercept = self._linear_weights()
        if len(coef) == 2:
            return coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        return coef, intercept

    def metrics(self, X: Any, y: Any) -> dict[str, Any]:
        """accuracy, log_loss, f1_macro, the confusion matrix and the labels, for X against y."""
        self._fitted()
        result = classification_metrics(self.labels_.transform(y), self.predict_proba(X))
        result["labels"] = list(self.labels_.classes_)
        return result

    def decision_function(self, X: Any) -> Any:
        """The model's scores: (n, classes) logits for three classes or more; for two, (n,)
        log-odds of ``classes_[1]`` (positive: it is predicted), as in scikit-learn."""
        scores = self._outputs(X)
        if scores.shape[1] == 2:  # softmax of two classes: the difference of the logits
            return scores[:, 1] - scores[:, 0]
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, (n, classes): one column per class in ``classes_`` order."""
        scores = self._outputs(X)
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
