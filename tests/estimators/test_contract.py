"""The estimators as a scikit-learn user meets them: errors, shapes, sample weights, the
random state, the columns, sparse input, the learned attributes, and the command line
that never imports scikit-learn."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import descend
from descend.data import inputs
from descend.errors import InputError, InputTypeError, NotFittedError
from descend.estimators import Classifier, Regressor
from descend.models import build

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402


def blobs(n=120, k=2, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, 3)) + 2.0 * y[:, None] * np.array([1.0, -0.5, 0.25])
    return X, y


@pytest.fixture(params=["sklearn", "descend"])
def checker(request, monkeypatch):
    """Each test of input checking runs with scikit-learn's checks and with descend's own
    (as when scikit-learn is not installed)."""
    if request.param == "descend":
        monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)
    return request.param


# ----- errors -------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["predict", "score", "coef_", "n_iter_"])
def test_using_a_model_before_fit_is_a_not_fitted_error_of_both_kinds(method):
    model = Regressor()
    with pytest.raises(NotFittedError, match="not fitted yet; call fit") as caught:
        attribute = getattr(model, method)
        attribute(np.ones((2, 1)), np.ones(2)) if method == "score" else attribute(np.ones((2, 1)))
    assert isinstance(caught.value, SklearnNotFittedError)
    assert isinstance(caught.value, InputError) and isinstance(caught.value, AttributeError)
    back = pickle.loads(pickle.dumps(caught.value))  # joblib sends errors back pickled
    assert type(back) is type(caught.value) and str(back) == str(caught.value)
    assert not hasattr(Classifier(), "classes_") and not hasattr(model, "coef_")


def test_scikit_learn_refusals_become_one_line_input_errors():
    model = Regressor(epochs=5).fit(*blobs())
    with pytest.raises(InputError, match=r"^Expected 2D array, got 1D array instead: .*Reshape"):
        model.predict(np.ones(3))
    with pytest.raises(InputError) as caught:
        model.predict(np.ones((2, 3)) * np.nan)
    assert "\n" not in str(caught.value) and "NaN" in str(caught.value)
    with pytest.raises(InputError, match="X has 2 features, but Regressor is expecting 3"):
        model.predict(np.ones((2, 2)))


@pytest.mark.parametrize("kind", ["csr_matrix", "csr_array"])
def test_sparse_input_is_refused_with_the_way_to_make_it_dense(kind, checker):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = blobs()
    with pytest.raises(InputTypeError, match=r"(?i)sparse data was passed.*toarray\(\)") as caught:
        Regressor().fit(getattr(sparse, kind)(X), y)
    assert isinstance(caught.value, TypeError)


def test_empty_and_one_dimensional_x_say_what_they_need(checker):
    with pytest.raises(InputError, match=r"0 sample\(s\)"):
        Regressor().fit(np.ones((0, 3)), np.ones(0))
    with pytest.raises(InputError, match=r"0 feature\(s\)"):
        Regressor().fit(np.ones((4, 0)), np.ones(4))
    with pytest.raises(InputError, match="Expected 2D array, got 1D array"):
        Regressor().fit(np.ones(4), np.ones(4))
    with pytest.raises(InputError, match="requires y to be passed, but the target y is None"):
        Regressor().fit(np.ones((4, 1)), None)


def test_text_is_read_from_tables_and_refused_in_arrays(checker):
    rows = [["f", 1.0], ["m", 2.0], ["f", 3.0], ["m", 4.0]]
    with pytest.raises(InputError, match="could not convert string to float: 'f'"):
        Regressor().fit(np.array(rows, dtype=object), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InputTypeError, match="argument must be a string or a (real )?number"):
        Regressor().fit(np.array([[{"a": 1}, 1.0], [2.0, 3.0]], dtype=object), [1.0, 2.0])
    table = pd.DataFrame(rows, columns=["sex", "dose"])
    model = Regressor(epochs=5).fit(table, [1.0, 2.0, 3.0, 4.0])
    assert model.preprocessor_.feature_names_out_ == ["sex=f", "sex=m", "dose"]


def test_a_table_with_no_rows_is_refused_before_any_column_is_read(recwarn):
    with pytest.raises(InputError, match=r"0 sample\(s\)"):
        Regressor().fit(pd.DataFrame({"a": [], "b": []}), [])
    assert not recwarn.list  # no warning about duplicated (empty) columns first


# ----- shapes of the outputs ----------------------------------------------------------
def test_only_classifiers_have_decision_function():
    assert not hasattr(Regressor(), "decision_function")
    assert hasattr(Classifier(), "decision_function")


@pytest.mark.parametrize(
    ("model", "k"),
    [("logistic", 2), ("softmax", 2), ("mlp", 2), ("auto", 3), ("softmax", 5), ("mlp", 4)],
)
def test_probabilities_are_n_by_k_and_binary_scores_are_log_odds(model, k):
    X, y = blobs(k=k)
    clf = Classifier(model=model, hidden=(8,), epochs=30).fit(X, np.array(list("abcde"))[y])
    proba, scores = clf.predict_proba(X), clf.decision_function(X)
    assert proba.shape == (len(X), k) and list(clf.classes_) == list("abcde")[:k]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    if k == 2:
        assert scores.shape == (len(X),)
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-10)
        assert ((scores > 0) == (clf.predict(X) == "b")).all()
    else:
        assert scores.shape == (len(X), k)
        assert (clf.classes_[scores.argmax(axis=1)] == clf.predict(X)).all()


# ----- sample weights -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (np.ones((120, 2)), r"1D array|one number per row"),
        (np.ones(119), r"expected \(120,\)|one number per row"),
        (np.r_[-1.0, np.ones(119)], r"(?i)negative"),
        (np.zeros(120), "at least one non-zero number"),
        (np.r_[np.nan, np.ones(119)], "NaN"),
    ],
)
def test_bad_sample_weights_are_refused(weight, message, checker):
    X, y = blobs()
    for model in (Regressor(), Classifier()):
        with pytest.raises(InputError, match=message):
            model.fit(X, y, sample_weight=weight)


def _repeated(X, y, weight):
    return np.repeat(X, weight, axis=0), np.repeat(y, weight)


@pytest.mark.parametrize("table", [False, True])
def test_integer_weights_are_the_same_as_repeated_rows(table, checker):
    X, y = blobs(n=40, k=3)
    X[::7, 1] = np.nan  # imputed: the fill value is weighted too
    weight = np.random.default_rng(1).integers(0, 4, size=len(X))
    Xr, yr = _repeated(X, y, weight)
    as_input = (lambda a: pd.DataFrame(a, columns=["a", "b", "c"])) if table else (lambda a: a)
    for make in (
        lambda: Regressor(impute="median", epochs=200, alpha=3.0),  # alpha over the weight
        lambda: Classifier(impute="mean", epochs=200, alpha=3.0),
    ):
        weighted = make().fit(as_input(X), y, sample_weight=weight)
        repeated = make().fit(as_input(Xr), yr)
        for ours, theirs in zip(
            weighted.preprocessor_.to_dict()["columns"], repeated.preprocessor_.to_dict()["columns"]
        ):
            for key in ("mean", "scale", "fill_value"):
                assert ours[key] == pytest.approx(theirs[key], rel=1e-12), key
        np.testing.assert_allclose(
            weighted.coef_, repeated.coef_, rtol=1e-9, atol=1e-12, err_msg=repr(make())
        )


# ----- random_state ------------------------------------------------------------------------
def test_random_state_is_the_seed_of_the_split_the_weights_and_the_batches():
    X, y = blobs()
    a = Regressor(model="mlp", hidden=(4,), epochs=3, validation=0.25, random_state=5).fit(X, y)
    b = Regressor(model="mlp", hidden=(4,), epochs=3, validation=0.25, random_state=5).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    first = build("mlp", 3, 1, (4,), "relu", seed=5)
    untrained = Regressor(model="mlp", hidden=(4,), epochs=1, lr=1e-12, random_state=5).fit(X, y)
    for p, q in zip(untrained.module_.parameters(), first.parameters()):
        np.testing.assert_allclose(p.data, q.data, atol=1e-9)
    assert list(a.validation_rows_) == list(np.setdiff1d(np.arange(120), a.training_rows(120)))
    c = Regressor(model="mlp", hidden=(4,), epochs=3, validation=0.25, random_state=6).fit(X, y)
    assert list(c.validation_rows_) != list(a.validation_rows_)


def test_a_random_state_object_or_none_draws_a_new_seed_each_fit():
    X, y = blobs()
    state = np.random.RandomState(0)
    model = Regressor(model="mlp", hidden=(4,), epochs=2, random_state=state)
    first, second = model.fit(X, y).predict(X), model.fit(X, y).predict(X)
    assert not np.allclose(first, second)  # the RandomState moved on
    again = Regressor(model="mlp", hidden=(4,), epochs=2, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(again.fit(X, y).predict(X), first)
    unseeded = Regressor(model="mlp", hidden=(4,), epochs=2, random_state=None)
    assert not np.allclose(unseeded.fit(X, y).predict(X), unseeded.fit(X, y).predict(X))
    with pytest.raises(InputError, match="'random_state' parameter of Regressor"):
        Regressor(random_state=-1).fit(X, y)


def test_model_files_keep_the_seed_and_read_the_old_name(tmp_path):
    X, y = blobs()
    model = Regressor(epochs=5, random_state=np.random.RandomState(3)).fit(X, y)
    descend.save(model, tmp_path / "m.descend")
    assert descend.load(tmp_path / "m.descend").random_state == model._seed_
    _, meta = model._export()
    meta["params"]["seed"] = meta["params"].pop("random_state")  # a file from before
    from descend.estimators import from_export

    assert from_export(model.module_, meta).random_state == model._seed_


# ----- columns ---------------------------------------------------------------------------
def test_feature_names_come_from_tables_and_go_with_arrays():
    X, y = blobs()
    frame = pd.DataFrame(X, columns=["age", "dose", "weight"])
    model = Regressor(epochs=5).fit(frame, y)
    assert model.n_features_in_ == 3 and list(model.feature_names_in_) == ["age", "dose", "weight"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_allclose(model.predict(X), model.predict(frame))
    model.fit(X, y)
    assert model.n_features_in_ == 3 and not hasattr(model, "feature_names_in_")


# ----- learned attributes ------------------------------------------------------------------
def test_coef_and_intercept_are_the_weights_in_the_units_of_the_columns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 100.0, 0.01] + [5.0, -300.0, 0.0]
    y = X @ [2.0, 0.03, 400.0] + 7.0
    model = Regressor(epochs=3000, tol=None).fit(X, y)
    np.testing.assert_allclose(model.coef_, [2.0, 0.03, 400.0], rtol=1e-6)
    assert model.intercept_ == pytest.approx(7.0, rel=1e-6)
    np.testing.assert_allclose(X @ model.coef_ + model.intercept_, model.predict(X), rtol=1e-10)
    both = Regressor(epochs=50).fit(X, np.c_[y, -y])
    assert both.coef_.shape == (2, 3) and both.intercept_.shape == (2,)
    np.testing.assert_allclose(X @ both.coef_.T + both.intercept_, both.predict(X), rtol=1e-9)


@pytest.mark.parametrize(
    ("model", "k", "rows"),
    [("logistic", 2, 1), ("auto", 2, 1), ("softmax", 2, 1), ("softmax", 3, 3), ("auto", 3, 3)],
)
def test_a_classifier_s_coef_gives_its_scores(model, k, rows):
    """scikit-learn's shapes: one row of coef_ for two classes, whatever the model."""
    X, y = blobs(k=k)
    X = X * [10.0, 1.0, 0.1]
    clf = Classifier(model=model, epochs=100).fit(X, y)
    assert clf.coef_.shape == (rows, 3) and clf.intercept_.shape == (rows,)
    scores = X @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(scores[:, 0] if rows == 1 else scores, clf.decision_function(X))
    if rows == 1:  # positive: classes_[1]
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[(scores[:, 0] > 0).astype(int)])


def test_coef_of_a_table_has_one_column_per_category():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "c": list("abab") * 5})
    y = 2 * frame["x"] + np.where(frame["c"] == "a", 1.0, -1.0)
    model = Regressor(epochs=2000, tol=None).fit(frame, y)
    assert model.preprocessor_.feature_names_out_ == ["x", "c=a", "c=b"]
    coef = model.coef_
    assert coef[0] == pytest.approx(2.0, abs=1e-6)
    assert coef[1] - coef[2] == pytest.approx(2.0, abs=1e-6)


def test_an_mlp_has_no_coef_and_every_model_has_its_history():
    X, y = blobs()
    mlp = Regressor(model="mlp", hidden=(4,), epochs=7, tol=None).fit(X, y)
    assert not hasattr(mlp, "coef_") and not hasattr(mlp, "intercept_")
    with pytest.raises(AttributeError, match="belong to linear models"):
        mlp.coef_  # noqa: B018
    assert mlp.n_iter_ == 7 == len(mlp.loss_curve_) and mlp.loss_curve_ == mlp.history_.loss
    assert mlp.diagnosis_.verdict == mlp.history_.diagnosis["verdict"]
    assert isinstance(mlp.diagnosis_, descend.Diagnosis)


# ----- the command line ----------------------------------------------------------------------
def test_the_command_line_never_imports_scikit_learn(tmp_path):
    X, y = blobs()
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": np.where(y, "yes", "no")}).to_csv(path)
    script = (
        "import sys\n"
        "from descend.cli.main import main\n"
        f"main(['train', {str(path)!r}, '--target', 'y', '--quiet', '--validation', '0.2',"
        f" '--save', {str(tmp_path / 'm.descend')!r}])\n"
        f"main(['predict', {str(tmp_path / 'm.descend')!r}, {str(path)!r}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    src = os.path.dirname(os.path.dirname(descend.__file__))
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_scikit_learn_clone_pipeline_and_search():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score

    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, -1.0, 2.0]) + 0.5
    model = Regressor(lr=0.05, epochs=300)
    assert clone(model).get_params() == model.get_params()
    scores = cross_val_score(model, X, y, cv=3)
    assert (scores > 0.999).all()
    search = GridSearchCV(Regressor(epochs=100), {"lr": [0.001, 0.1]}, cv=3).fit(X, y)
    assert search.best_params_ == {"lr": 0.1}
    assert sklearn.base.is_classifier(Classifier()) and sklearn.base.is_regressor(Regressor())
