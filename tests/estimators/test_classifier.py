"""Tests for descend.estimators.classifier: the Classifier on labels of any kind, its
probabilities, scores, metrics and decision function."""

import numpy as np
import pytest

from descend.errors import InputError
from descend.estimators import Classifier


def test_classifier_with_string_labels_binary_and_multiclass():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    model = Classifier().fit(X, y)
    assert model.kind_ == "logistic" and list(model.classes_) == ["no", "yes"]
    assert model.score(X, y) >= 0.97
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.classes_[proba.argmax(axis=1)] == model.predict(X)).all()
    y3 = np.select([X[:, 0] > 0.5, X[:, 0] < -0.5], ["hi", "lo"], "mid")
    model = Classifier().fit(X, y3)
    assert model.kind_ == "softmax" and model.predict_proba(X).shape == (300, 3)
    assert model.score(X, y3) >= 0.95


def test_mlp_classifier_learns_a_circle():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = (X**2).sum(axis=1) < 0.5
    model = Classifier(model="mlp", hidden=(32,), epochs=150).fit(X, y)
    assert model.score(X, y) >= 0.95


def test_a_classifier_refuses_numbers_that_are_not_whole_and_suggests_regressor():
    X = np.arange(300.0).reshape(-1, 1)
    y = np.random.default_rng(0).uniform(0, 10, size=300)  # 300 distinct floats
    for model in ("auto", "softmax", "logistic"):
        with pytest.raises(InputError, match="not class labels; use Regressor"):
            Classifier(model=model).fit(X, y)
    with pytest.raises(InputError, match="not class labels"):
        Classifier().fit(X[:4], [5.599, 6.020, 5.599, 6.020])
    assert Classifier(epochs=2).fit(X[:4], [1.0, 2.0, 1.0, 2.0]).classes_.tolist() == [1.0, 2.0]


def three_classes():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(150, 2))
    y = np.select([X[:, 0] > 0.6, X[:, 1] > 0.3], ["a", "b"], "c")
    return X, y, Classifier(epochs=300).fit(X, y)


def test_probabilities_are_the_softmax_of_the_decision_function():
    X, y, model = three_classes()
    scores = model.decision_function(X)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), e / e.sum(axis=1, keepdims=True))
    assert model.predict(X).tolist() == model.classes_[scores.argmax(axis=1)].tolist()


def test_the_score_is_the_share_of_right_labels_weighted_or_not():
    X, y, model = three_classes()
    right = model.predict(X) == y
    w = np.where(right, 1.0, 3.0)  # the wrong rows weigh three times as much
    assert model.score(X, y) == pytest.approx(right.mean(), rel=1e-15)
    expected = right.sum() / (right.sum() + 3 * (~right).sum())
    assert model.score(X, y, sample_weight=w) == pytest.approx(expected, rel=1e-15)
    assert 0.8 < model.score(X, y) < 1.0  # some rows wrong: the weights matter


def test_the_metrics_count_each_pair_of_true_and_predicted_labels():
    X, y, model = three_classes()
    metrics = model.metrics(X, y)
    predicted = model.predict(X)
    labels = ["a", "b", "c"]
    assert metrics["labels"] == labels
    counts = [[int(((y == t) & (predicted == p)).sum()) for p in labels] for t in labels]
    assert np.asarray(metrics["confusion_matrix"]).tolist() == counts
    assert metrics["accuracy"] == pytest.approx((predicted == y).mean(), rel=1e-15)
    proba = model.predict_proba(X)
    codes = np.searchsorted(labels, y)
    expected = -np.mean(np.log(proba[np.arange(len(y)), codes]))
    assert metrics["log_loss"] == pytest.approx(expected, rel=1e-12)


def test_two_classes_have_one_score_the_log_odds_of_the_second():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = Classifier(epochs=100).fit(X, y)
    odds = model.decision_function(X)
    assert odds.shape == (80,)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-odds)), rtol=1e-12)
    np.testing.assert_allclose(X @ model.coef_.ravel() + model.intercept_[0], odds, rtol=1e-9)
