import math

import pytest

from descend.learn.history import History, json_ready


def make():
    h = History(settings={"lr": 0.1})
    for loss, val in [(4.0, 5.0), (2.0, 3.0), (1.0, 3.5)]:
        h.record(loss=loss, val_loss=val, lr=0.1, grad_norm=1.0, update_cosine=math.nan, time=0.1)
    h.stop_reason = "max_epochs"
    return h


def test_best_epoch_prefers_validation():
    h = make()
    assert h.best_epoch == 1
    assert History(loss=[3.0, 1.0, 2.0]).best_epoch == 1
    assert History(loss=[math.nan]).best_epoch is None


def test_json_round_trip_keeps_everything(tmp_path):
    h = make()
    path = tmp_path / "h.json"
    text = h.to_json(str(path))
    assert path.read_text() == text
    back = History.from_json(text)
    assert back.loss == h.loss and back.val_loss == h.val_loss
    assert math.isnan(back.update_cosine[0])
    assert back.stop_reason == "max_epochs" and back.settings == {"lr": 0.1}
    assert '"best_epoch": 1' in text


def test_csv_has_one_row_per_epoch(tmp_path):
    text = make().to_csv(str(tmp_path / "h.csv"))
    lines = text.splitlines()
    assert lines[0] == "epoch,loss,val_loss,lr,grad_norm,update_cosine,time"
    assert lines[2] == "1,2.0,3.0,0.1,1.0,nan,0.1"
    assert len(lines) == 4


def test_unknown_record_is_an_error():
    with pytest.raises(KeyError, match="no per-epoch record 'acc'"):
        History().record(acc=1.0)


def test_final_loss_round_trips_and_defaults_to_unknown():
    assert History(loss=[1.0]).final_loss is None
    h = History(loss=[2.0, 1.0], final_loss=0.5)
    assert h.to_dict()["final_loss"] == 0.5
    assert History.from_json(h.to_json()).final_loss == 0.5
    assert History.from_dict(History(loss=[1.0]).to_dict()).final_loss is None


def test_json_ready_turns_every_non_finite_number_into_null_and_numpy_into_python():
    import json

    import numpy as np

    value = {
        "loss": (1.5, math.inf, -math.inf),
        1: {"cos": np.float64("nan"), "w": np.array([[0.25, np.inf]])},
        "n": np.int64(3),
    }
    ready = json_ready(value)
    assert ready == {"loss": [1.5, None, None], "1": {"cos": None, "w": [[0.25, None]]}, "n": 3}
    assert type(ready["n"]) is int
    assert json.loads(json.dumps(ready, allow_nan=False)) == ready
