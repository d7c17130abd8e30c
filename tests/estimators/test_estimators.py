"""The estimators package as a whole: both estimators saved and loaded give the same
predictions, bit for bit. Each module has its own file beside this one."""

import numpy as np

import descend
from descend.estimators import Classifier, Regressor
from tests.estimators.frames import patients_frame


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
