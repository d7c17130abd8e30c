import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.learn.callbacks import Callback, Convergence, Divergence, EarlyStopping


def line_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ np.array([2.0, -1.0]) + 0.5 + rng.normal(0, 0.1, n)


def test_convergence_stops_when_improvement_falls_below_tol():
    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1, init="zeros"),
        X,
        y,
        lr=0.1,
        epochs=10_000,
        verbose=False,
        callbacks=[Convergence(tol=1e-8, patience=3)],
    )
    assert h.stop_reason == "converged"
    assert h.epochs < 10_000
    last = np.array(h.loss[-4:])
    improvements = (last[:-1] - last[1:]) / last[:-1]
    assert (improvements[-3:] < 1e-8).all()


class Scripted(Callback):
    """Overwrites the val_loss history to script an early-stopping scenario."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, run):
        run.history.val_loss[-1] = self.values[run.epoch]


def test_early_stopping_restores_the_best_weights():
    X, y = line_data()
    seen = []

    class Remember(Callback):
        def on_epoch_end(self, run):
            seen.append(run.snapshot())

    values = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 1.0]
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(
        model,
        X,
        y,
        lr=0.05,
        epochs=8,
        validation=(X, y),
        verbose=False,
        callbacks=[
            Scripted(values),
            Remember(),
            EarlyStopping(patience=3, restore_best_weights=True),
        ],
    )
    assert h.stop_reason == "early_stopping"
    assert h.epochs == 6
    assert "epoch 2" in h.stop_message
    np.testing.assert_array_equal(model.weight.data, seen[2][0])


def test_early_stopping_needs_validation_for_val_loss():
    X, y = line_data()
    with pytest.raises(InputError, match="monitors 'val_loss' but fit got no validation"):
        descend.fit(nn.Linear(2, 1), X, y, verbose=False, callbacks=[EarlyStopping()])


def test_interrupt_keeps_what_was_learned():
    X, y = line_data()

    class CtrlC(Callback):
        def on_epoch_end(self, run):
            if run.epoch == 4:
                raise KeyboardInterrupt

    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(model, X, y, lr=0.1, epochs=100, verbose=False, callbacks=[CtrlC()])
    assert h.stop_reason == "interrupted"
    assert h.epochs == 5
    assert np.abs(model.weight.data).sum() > 0  # five updates were kept
    reference = nn.Linear(2, 1, init="zeros")
    descend.fit(reference, X, y, lr=0.1, epochs=5, tol=None, verbose=False)
    np.testing.assert_array_equal(model.weight.data, reference.weight.data)


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


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Convergence(tol=-1), r"'tol' parameter of Convergence must be a float in \[0"),
        (lambda: EarlyStopping(monitor="acc"), "'monitor' parameter of EarlyStopping"),
        (lambda: EarlyStopping(patience=1.5), "'patience' parameter of EarlyStopping"),
        (lambda: Divergence(factor=0.5), "'factor' parameter of Divergence"),
        (lambda: Divergence(lr_factor=1), "'lr_factor' parameter of Divergence"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_a_slowly_climbing_loss_is_not_called_converged():
    class Climb(Callback):
        def on_epoch_end(self, run):
            run.history.loss[-1] = 1.0 + 1e-4 * run.epoch  # rises slowly, but by more than tol

    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1),
        X,
        y,
        lr=0.01,
        epochs=40,
        verbose=False,
        callbacks=[Climb(), Convergence(tol=1e-5, patience=5)],
    )
    assert h.stop_reason == "max_epochs"


def test_a_flat_loss_still_converges():
    class Flat(Callback):
        def on_epoch_end(self, run):
            run.history.loss[-1] = 1.0

    X, y = line_data()
    h = descend.fit(
        nn.Linear(2, 1),
        X,
        y,
        lr=0.01,
        epochs=40,
        verbose=False,
        callbacks=[Flat(), Convergence(tol=1e-5, patience=5)],
    )
    # Convergence stopped it after 5 flat epochs; the diagnosis, which measures the gap to the
    # optimum of this linear model, records that as 'stalled' (short of converged)
    assert h.stop_reason == "stalled" and h.epochs == 6
    assert h.diagnosis["verdict"] != "converged" and h.diagnosis["gap"]["relative"] > 1e-5


def test_epochs_around_a_recovery_do_not_count_toward_convergence(capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(0, 5, (100, 2))
    y = 2 * X[:, 0] - X[:, 1] + rng.normal(0, 1, 100)
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(model, X, y, lr=1e6, recover=True, epochs=1000, log_every=1)
    # a recovery every other epoch is never converging; out of recoveries, the run diverged
    assert h.stop_reason == "diverged"
    assert [e["event"] for e in h.events] == ["recovered"] * 5 + ["diverged"]
    assert descend.train.evaluate_loss(model, X, y) == pytest.approx(h.final_loss)
    assert h.final_loss <= h.loss[0]
    out = capsys.readouterr().out
    for event in h.events:  # one line per epoch, even where a recovery is logged
        assert out.count(f"Epoch {event['epoch']:3d}:") == 1
    assert f"Try lr={h.diagnosis['suggested']['lr']:g}, as the diagnosis suggests." in out


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


def test_early_stopping_on_the_training_loss_restores_the_weights_that_loss_belongs_to():
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    h = descend.fit(
        model,
        X,
        y,
        lr=1.1,
        epochs=50,
        verbose=False,
        tol=None,  # zig-zags upward
        callbacks=[EarlyStopping(monitor="loss", patience=3)],
    )
    assert h.stop_reason == "early_stopping"
    assert h.final_loss == pytest.approx(min(h.loss), rel=1e-12)
