"""scikit-learn's own estimator checks (``parametrize_with_checks``) on both estimators and
each model family, with few epochs: the checks fit hundreds of times on small data sets.

No check is expected to fail. The one warning filtered here says the estimators do not
inherit from ``sklearn.base.BaseEstimator``: they implement its contract (``get_params``,
``set_params``, ``__sklearn_tags__``) themselves, so that ``import descend`` and the
command line never import scikit-learn.
"""

from __future__ import annotations

import warnings

import pytest

from descend.estimators import Classifier, Regressor

pytest.importorskip("sklearn")
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

ESTIMATORS = [
    Regressor(epochs=50),  # 'auto': linear
    Regressor(model="mlp", hidden=(8,), epochs=30),
    Regressor(impute="median", epochs=50),  # takes NaN in X: allow_nan
    Classifier(epochs=50),  # 'auto': logistic for two classes, softmax for more
    Classifier(model="logistic", epochs=50),  # two classes only
    Classifier(model="softmax", epochs=50),
    Classifier(model="mlp", hidden=(8,), epochs=30),
]

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r".*does not inherit from `sklearn.base.BaseEstimator`",
        category=UserWarning,
    )
    CHECKS = parametrize_with_checks(ESTIMATORS)


@CHECKS
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_tags_say_what_each_estimator_takes():
    regressor, logistic = get_tags(Regressor()), get_tags(Classifier(model="logistic"))
    assert regressor.estimator_type == "regressor" and regressor.target_tags.multi_output
    assert not regressor.input_tags.sparse and not regressor.input_tags.allow_nan
    assert regressor.input_tags.categorical and not regressor.input_tags.string
    assert get_tags(Regressor(impute="mean")).input_tags.allow_nan
    assert logistic.estimator_type == "classifier" and not logistic.target_tags.multi_output
    assert not logistic.classifier_tags.multi_class
    assert get_tags(Classifier()).classifier_tags.multi_class
