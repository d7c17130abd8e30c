"""Tests for descend.data.inputs: what the estimators take as X, y and sample weights, checked
by scikit-learn where it is installed and by descend's own checks where it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descend import Regressor
from descend.data import inputs
from descend.errors import InputError, InputTypeError


# ----- sample weights: one check, one set of words --------------------------------------
@pytest.mark.parametrize(
    ("weight", "words"),
    [
        (np.ones((6, 2)), r"one number per row of X, shape \(6,\), or one number for all rows"),
        (np.ones((6, 1)), r"got shape \(6, 1\)"),
        (np.ones(5), r"X has 6 rows but sample_weight has 5; give one weight per row"),
        (np.r_[1.0, -2.0, np.ones(4)], r"negative value \(-2\) in row 1"),
        (np.zeros(6), "zero in every row; give it at least one non-zero number"),
        (np.r_[np.nan, np.ones(5)], "NaN"),
    ],
)
def test_fit_and_the_estimators_refuse_bad_weights_in_the_same_words(weight, words, monkeypatch):
    import descend
    from descend import Regressor, nn
    from descend.data import inputs

    X = np.arange(12.0).reshape(6, 2)
    y = X[:, 0]
    with pytest.raises(InputError, match=words) as by_fit:
        descend.fit(nn.Linear(2, 1), X, y, sample_weight=weight, epochs=1, verbose=False)
    monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)  # descend's own check
    with pytest.raises(InputError) as by_estimator:
        Regressor(epochs=1).fit(X, y, sample_weight=weight)
    assert str(by_estimator.value) == str(by_fit.value)


# ----- X: checked by scikit-learn where it is installed, by descend where it is not ----------
def test_an_array_sets_the_number_of_columns_and_predict_compares_with_it():
    model = Regressor()
    X, y = inputs.fit_inputs(model, [[1, 2, 3], [4, 5, 6]], [1.0, 2.0], classifier=False)
    assert X.shape == (2, 3) and model.n_features_in_ == 3
    assert y.tolist() == [1.0, 2.0]
    with pytest.raises(
        InputError, match=r"^X has 2 features, but Regressor is expecting 3 features as input\.$"
    ):
        inputs.predict_input(model, np.ones((2, 2)))


def test_a_table_is_handed_on_as_it_is_for_the_preprocessor():
    table = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    model = Regressor()
    X, y = inputs.fit_inputs(model, table, [1.0, 2.0], classifier=False)
    assert X is table and not hasattr(model, "n_features_in_")
    assert inputs.predict_input(model, table) is table
    assert inputs.is_table(table) and not inputs.is_table(np.ones((2, 2)))


def test_without_scikit_learn_x_is_checked_in_the_same_words(monkeypatch):
    monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)
    assert inputs.features([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(
        InputError, match=r"^Expected 2D array, got 1D array instead \(shape \(3,\)\)"
    ):
        inputs.features(np.ones(3))
    with pytest.raises(
        InputError, match=r"^Found array with 0 sample\(s\) and 2 feature\(s\) \(shape=\(0, 2\)\)"
    ):
        inputs.features(np.zeros((0, 2)))
    with pytest.raises(InputError, match="could not convert string to float"):
        inputs.features(np.array([["a", "b"]]))
    with pytest.raises(InputError, match=r"^Regressor requires y to be passed, but the target"):
        inputs.fit_inputs(Regressor(), np.ones((2, 2)), None, classifier=False)


@pytest.mark.parametrize("checked_by", ["sklearn", "descend"])
def test_sparse_x_is_a_type_error_naming_the_way_to_make_it_dense(checked_by, monkeypatch):
    sparse = pytest.importorskip("scipy.sparse")
    if checked_by == "descend":
        monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)
    X = sparse.csr_matrix(np.eye(3))
    assert inputs.is_sparse(X) and not inputs.is_table(X)
    with pytest.raises(
        InputTypeError,
        match=r"Sparse data was passed for X, but dense data is required.*toarray\(\)",
    ):
        inputs.fit_inputs(Regressor(), X, [1.0, 2.0, 3.0], classifier=False)


def test_weights_are_the_same_numbers_with_and_without_scikit_learn(monkeypatch):
    X = np.ones((3, 2))
    by_sklearn = [inputs.weights(w, X) for w in ([1, 0, 2], 2.5)]
    monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)
    by_descend = [inputs.weights(w, X) for w in ([1, 0, 2], 2.5)]
    assert [w.tolist() for w in by_sklearn] == [[1.0, 0.0, 2.0], [2.5, 2.5, 2.5]]
    assert [w.tolist() for w in by_descend] == [[1.0, 0.0, 2.0], [2.5, 2.5, 2.5]]
    assert {w.dtype for w in by_sklearn + by_descend} == {np.dtype(np.float64)}
    assert inputs.weights(None, X) is None
