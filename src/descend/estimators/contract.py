"""scikit-learn's estimator contract, kept without importing scikit-learn (it costs a second
at start-up, and the command line never needs it): parameters by the constructor's
signature, the tags scikit-learn asks for, and what ``random_state`` stands for.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import InputError

SEEDS = 2**31 - 1
"""A random_state that is not an int gives a seed in [0, SEEDS)."""


def seed_of(random_state: Any) -> int:
    """The seed a ``random_state`` stands for: an int is the seed itself; a NumPy
    RandomState or Generator gives its next integer; None, the next integer of NumPy's
    global RandomState (a different seed each fit, as in scikit-learn).

    >>> seed_of(7), seed_of(np.random.RandomState(0)) == seed_of(np.random.RandomState(0))
    (7, True)
    """
    if random_state is None:
        return int(np.random.randint(SEEDS))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(SEEDS))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(SEEDS))
    return int(random_state)


class EstimatorContract:
    """scikit-learn's estimator contract without importing scikit-learn (it costs a second
    at start-up): get_params/set_params by the constructor's signature, and the tags
    (``__sklearn_tags__``) built when scikit-learn asks for them."""

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
        """What the estimator takes and does, in scikit-learn's words (``get_tags``).

        X: 2-D numbers (NaN too when ``impute`` fills them), and tables whose text or
        category columns are one-hot encoded (``categorical``); no sparse matrices (the
        standardisation would make them dense), and text only in tables (``string``
        is False: an array is numbers, as check_array reads it). y: required; several
        columns for a regressor, one of two or more classes for a classifier.
        """
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        classifier = self._estimator_type == "classifier"
        allow_nan = getattr(self, "impute", None) is not None
        multi_class = getattr(self, "model", None) != "logistic"  # logistic: two classes
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True, multi_output=not classifier),
            classifier_tags=ClassifierTags(multi_class=multi_class) if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
            input_tags=InputTags(two_d_array=True, categorical=True, allow_nan=allow_nan),
        )

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != _defaults(type(self))[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _defaults(cls: type) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()}


class RegressorMixin:
    _estimator_type = "regressor"


class ClassifierMixin:
    _estimator_type = "classifier"
