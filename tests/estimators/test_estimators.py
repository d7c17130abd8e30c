import numpy as np
import pytest

import descend
from descend.errors import InputError
from descend.estimators import Classifier, Regressor
from descend.understand.metrics import r2_score

pd = pytest.importorskip("pandas")


def patients_frame():
    X, y, names = descend.datasets.load_patients()
    frame = pd.DataFrame(X, columns=names)
    frame["sex"] = np.where(np.arange(len(frame)) % 3 == 0, "f", "m")
    return frame, y


def test_regressor_on_a_dataframe_matches_least_squares():
    frame, y = patients_frame()
    model = Regressor(epochs=3000, tol=None).fit(frame, y)
    assert list(model.feature_names_in_) == ["age", "weight", "creatinine", "sex"]
    design = np.c_[model.preprocessor_.transform(frame), np.ones(len(y))]
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.module_.weight.data.ravel(), exact[:-1], atol=1e-6)
    assert model.score(frame, y) == pytest.approx(r2_score(y, design @ exact), abs=1e-9)


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


def test_save_and_load_give_the_same_predictions_bit_for_bit(tmp_path):
    frame, y = patients_frame()
    labels = np.where(y > 2.3, "high", "normal")
    for model, target in [(Regressor(epochs=50), y), (Classifier(epochs=50), labels)]:
        model.fit(frame, target)
        path = tmp_path / "model.descend"
        descend.save(model, path)
        back = descend.load(path)
        assert type(back) is type(model)
        np.testing.assert_array_equal(back.predict(frame), model.predict(frame))
        if isinstance(model, Classifier):
            np.testing.assert_array_equal(back.predict_proba(frame), model.predict_proba(frame))
        assert back.history_.loss == model.history_.loss
        assert list(back.feature_names_in_) == list(model.feature_names_in_)


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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: Regressor(model="tree").fit(np.ones((4, 1)), np.ones(4)),
            "'model' parameter of Regressor",
        ),
        (lambda: Regressor().predict(np.ones((2, 1))), "not fitted yet"),
        (lambda: Classifier().fit(np.ones((4, 1)), ["a"] * 4), "one class only"),
        (
            lambda: Classifier(model="logistic").fit(np.eye(3), ["a", "b", "c"]),
            "separates two classes",
        ),
        (lambda: Regressor().fit(np.ones(4), np.ones(4)), "Expected 2D array, got 1D array"),
        (
            lambda: Regressor().fit(np.ones((4, 1)), np.ones(3)),
            r"inconsistent numbers of samples: \[4, 3\]",
        ),
        (
            lambda: Regressor().fit(pd.DataFrame({"a": np.ones(4)}), np.ones(3)),
            "X has 4 rows but y has 3",
        ),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_standardisation_statistics_come_from_the_training_rows_only():
    frame, y = patients_frame()
    model = Regressor(validation=0.25, epochs=20, tol=None).fit(frame, y)
    rows = model.training_rows(len(frame))
    held_out = np.setdiff1d(np.arange(len(frame)), rows)
    assert len(held_out) == 50 and len(rows) == 150
    assert model.history_.settings["validation_rows"] == 50
    training = frame["age"].iloc[rows]
    assert model.preprocessor_.means_["age"] == pytest.approx(training.mean(), rel=1e-12)
    assert model.preprocessor_.scales_["age"] == pytest.approx(training.std(ddof=0), rel=1e-12)
    assert model.preprocessor_.means_["age"] != pytest.approx(frame["age"].mean(), rel=1e-6)


def test_callbacks_are_passed_to_fit_but_not_saved(tmp_path):
    seen = []

    class Count(descend.Callback):
        def on_epoch_end(self, run):
            seen.append(run.epoch)

    frame, y = patients_frame()
    model = Regressor(epochs=5, tol=None, callbacks=(Count(),)).fit(frame, y)
    assert seen == [0, 1, 2, 3, 4]
    assert model.training_settings("linear") == {  # issue 14: the rate from the curvature
        "optimizer": "nesterov",
        "lr": "auto",
        "epochs": 5,
        "batch_size": None,
    }
    descend.save(model, tmp_path / "m.descend")
    assert descend.load(tmp_path / "m.descend").callbacks == ()


def test_a_classifier_refuses_numbers_that_are_not_whole_and_suggests_regressor():
    X = np.arange(300.0).reshape(-1, 1)
    y = np.random.default_rng(0).uniform(0, 10, size=300)  # 300 distinct floats
    for model in ("auto", "softmax", "logistic"):
        with pytest.raises(InputError, match="not class labels; use Regressor"):
            Classifier(model=model).fit(X, y)
    with pytest.raises(InputError, match="not class labels"):
        Classifier().fit(X[:4], [5.599, 6.020, 5.599, 6.020])
    assert Classifier(epochs=2).fit(X[:4], [1.0, 2.0, 1.0, 2.0]).classes_.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("validation", [1.0, 0.0, 1, -0.5])
def test_a_bad_validation_fraction_is_named_as_the_user_gave_it(validation):
    X = np.arange(10.0).reshape(-1, 1)
    with pytest.raises(
        InputError, match=r"^The 'validation' parameter of Regressor must be a fraction in \(0, 1\)"
    ):
        Regressor(validation=validation).fit(X, X[:, 0])
    with pytest.raises(InputError, match="needs at least 2 rows"):
        Classifier(validation=0.5).fit(X[:1], ["a"])


def test_a_choice_handed_to_fit_is_the_one_used_and_the_target_is_not_read_again(monkeypatch):
    import descend.estimators.base as base
    from descend.models import choose

    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] - X[:, 1] > 0, "up", "down")
    plain = Classifier(epochs=20, validation=0.25).fit(X, y)
    made = choose(y)
    monkeypatch.setattr(base, "choose", lambda *a, **k: pytest.fail("the target was read again"))
    handed = Classifier(epochs=20, validation=0.25).fit(X, y, choice=made)
    assert handed.labels_ is made.labels and list(handed.classes_) == ["down", "up"]
    np.testing.assert_array_equal(handed.coef_, plain.coef_)
    with pytest.raises(pytest.fail.Exception):  # a regression choice is no classifier's
        Classifier(epochs=2).fit(X, X[:, 0], choice=choose(X[:, 0]))
