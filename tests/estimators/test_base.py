"""Tests for descend.estimators.base: what both estimators share: the inputs refused, the
validation split made once (its statistics from the training rows only), the settings
and callbacks handed to fit, and a model choice made once."""

import numpy as np
import pytest

import descend
from descend.errors import InputError
from descend.estimators import Classifier, Regressor
from tests.estimators.frames import patients_frame

pd = pytest.importorskip("pandas")


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
