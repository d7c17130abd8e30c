"""Tests for descend.learn.callbacks.divergence: Divergence stops a run whose loss has grown
far past its first value, or recovers (the best weights back, the rate cut)."""

import pytest

import descend
from descend import nn
from descend.learn.callbacks import Divergence
from tests.learn.lines import line_data


def test_divergence_recovery_cuts_the_learning_rate_and_carries_on(capsys):
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(model, X, y, lr=3.0, epochs=200, recover=True, verbose=True)
    recoveries = [e for e in h.events if e["event"] == "recovered"]
    assert recoveries and recoveries[0]["new_lr"] == pytest.approx(0.3)
    assert h.stop_reason in ("converged", "max_epochs")
    assert h.loss[-1] < 0.02
    assert "learning rate cut from 3 to 0.3" in capsys.readouterr().out


def test_recovery_rolls_back_to_the_best_weights_and_records_each_event(capsys):
    # mse of w on X = [[1], [-1]], y = [1, -1] is (w - 1)^2 (curvature 2): from w = 0 with
    # lr = 3 the error grows by |1 - 6| = 5 per step, the loss by 25: 1, 25, 625, 15625.
    model = nn.Linear(1, 1, bias=False, init="zeros")
    X, y = [[1.0], [-1.0]], [1.0, -1.0]
    h = descend.fit(model, X, y, lr=3.0, epochs=60, recover=True, callbacks=[Divergence(1e4, True)])
    assert h.loss[:4] == [1.0, 25.0, 625.0, 15625.0]
    assert h.events == [
        {"epoch": 3, "event": "recovered", "loss": 15625.0, "lr": 3.0, "new_lr": pytest.approx(0.3)}
    ]
    assert h.loss[4] == 1.0  # epoch 4 starts again from the best weights, w = 0 (epoch 0)
    assert h.lr[3] == 3.0 and h.lr[4] == pytest.approx(0.3)
    assert h.loss[5] == pytest.approx((1 - 0.3 * 2) ** 2)  # then lr = 0.3 < 1/L descends
    assert h.stop_reason == "converged" and model.weight.data[0, 0] == pytest.approx(1.0)
    out = capsys.readouterr().out
    assert "Epoch   3: loss = 1.562e+04 diverged; the weights from epoch 0 were restored" in out
    assert h.diagnosis["evidence"]["recoveries"] == 1
    assert (
        h.diagnosis["suggestion"] == "Start at lr=0.3 next time: it took one recovery to get there."
    )


def test_recovery_gives_up_after_max_recoveries():
    model = nn.Linear(1, 1, bias=False, init="zeros")
    X, y = [[1.0], [-1.0]], [1.0, -1.0]
    divergence = Divergence(recover=True, max_recoveries=2)
    h = descend.fit(model, X, y, lr=3000.0, epochs=60, callbacks=[divergence], verbose=False)
    assert [e["event"] for e in h.events] == ["recovered", "recovered", "diverged"]
    assert [e["lr"] for e in h.events] == pytest.approx([3000.0, 300.0, 30.0])
    assert h.stop_reason == "diverged"
    assert model.weight.data[0, 0] == 0.0  # the best weights: the first ones
    assert h.diagnosis["verdict"] == "diverged"
    assert h.diagnosis["suggested"]["lr"] == pytest.approx(0.5)  # 1/L, from the growth


def test_divergence_threshold_is_relative_to_the_first_loss():
    d = Divergence(factor=100)
    d.first_loss_ = 2.0
    assert not d.is_diverged(199.0)
    assert d.is_diverged(201.0)
    assert d.is_diverged(float("nan"))


def test_recovery_also_cuts_a_reduce_on_plateau_schedule():
    from descend.learn.schedules import ReduceOnPlateau

    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1, init="zeros"),
        X * 10,
        y,
        lr=5.0,
        epochs=30,
        recover=True,
        schedule=ReduceOnPlateau(),
        tol=None,
        verbose=False,
    )
    recoveries = [e for e in h.events if e["event"] == "recovered"]
    assert recoveries
    after = recoveries[0]["epoch"] + 1
    assert h.lr[after] == pytest.approx(recoveries[0]["new_lr"])
