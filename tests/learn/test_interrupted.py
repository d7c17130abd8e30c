"""Training, sweeps and estimators under a real Ctrl-C (a SIGINT sent to this process at an
exact moment of the run): what is kept, what is marked, what is raised."""

import signal

import numpy as np
import pytest

import descend
from descend import nn
from descend.learn.callbacks import Callback
from descend.learn.optim import SGD
from tests.learn.lines import line_data


def ctrl_c():
    signal.raise_signal(signal.SIGINT)


class CtrlC(Callback):
    """Sends SIGINT from one hook at one epoch (of the ``run``-th run it sees)."""

    def __init__(self, hook, epoch=0, run=1):
        self.hook, self.epoch, self.run, self.runs = hook, epoch, run, 0
        self.lines = []

    def on_train_begin(self, run):
        self.runs += 1
        self._maybe("on_train_begin", run)

    def on_epoch_begin(self, run):
        self._maybe("on_epoch_begin", run)

    def on_epoch_end(self, run):
        self._maybe("on_epoch_end", run)
        self.lines.append(run.epoch)  # after the SIGINT: the rest of the hook still runs

    def on_train_end(self, run):
        self._maybe("on_train_end", run)

    def _maybe(self, hook, run):
        if hook == self.hook and self.runs == self.run and run.epoch == self.epoch:
            ctrl_c()


def trained(epochs, **kwargs):
    """The weights of an uninterrupted run of ``epochs`` epochs."""
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    descend.fit(model, X, y, lr=0.1, epochs=epochs, tol=None, verbose=False, **kwargs)
    return model.weight.data.copy()


def fit_with(callback, epochs=50, **kwargs):
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    history = descend.fit(
        model, X, y, lr=0.1, epochs=epochs, tol=None, verbose=False, callbacks=[callback],
        **kwargs,
    )  # fmt: skip
    return model, history


@pytest.mark.parametrize("hook", ["on_train_begin", "on_epoch_begin"])
def test_before_the_first_epoch_ends_ctrl_c_raises_and_leaves_the_model_as_it_was(hook):
    with pytest.raises(KeyboardInterrupt):
        fit_with(CtrlC(hook, epoch=0))
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    with pytest.raises(KeyboardInterrupt):  # in the third minibatch step of epoch 0
        descend.fit(
            model, X, y, batch_size=8, epochs=5, verbose=False,
            optimizer=HalfStep(model.parameters(), lr=0.1, at=2),
        )  # fmt: skip
    assert not model.weight.data.any() and not model.bias.data.any()


class HalfStep(SGD):
    """An SGD whose ``at``-th step is cut by Ctrl-C after changing one weight."""

    def __init__(self, params, lr, at):
        super().__init__(params, lr=lr)
        self.at = at

    def step(self):
        if self.step_count == self.at:
            self.params[0].data -= 1.0
            ctrl_c()
        super().step()


def test_an_epoch_cut_short_is_dropped_and_the_last_finished_one_kept():
    X, y = line_data()
    model = nn.Linear(2, 1, init="zeros")
    history = descend.fit(
        model, X, y, epochs=50, tol=None, verbose=False,
        optimizer=HalfStep(model.parameters(), lr=0.1, at=3),
    )  # fmt: skip
    assert history.stop_reason == "interrupted" and history.epochs == 3
    assert "after 3 finished epochs; the weights of epoch 2" in history.stop_message
    np.testing.assert_array_equal(model.weight.data, trained(3))
    assert history.final_loss is not None and history.diagnosis["verdict"]


def test_ctrl_c_in_an_epochs_callbacks_lets_them_finish_and_keeps_that_epoch():
    callback = CtrlC("on_epoch_end", epoch=4)
    model, history = fit_with(callback)
    assert history.stop_reason == "interrupted" and history.epochs == 5
    assert callback.lines == [0, 1, 2, 3, 4]
    assert len(history.val_loss) == 0 and len(history.lr) == 5
    np.testing.assert_array_equal(model.weight.data, trained(5))


def test_ctrl_c_after_the_last_epoch_keeps_the_run_and_marks_it():
    model, history = fit_with(CtrlC("on_train_end", epoch=19), epochs=20)
    assert history.epochs == 20 and history.stop_reason == "interrupted"
    assert history.stop_message.startswith(
        "Interrupted after the last epoch (19), while the run was being finished; it had "
        "stopped: max_epochs."
    )
    np.testing.assert_array_equal(model.weight.data, trained(20))
    assert history.diagnosis["gap"] is None  # the costly part was skipped


def test_a_sweep_stops_at_once_with_the_rates_finished():
    X, y = line_data()
    rates = [0.01, 0.1, 0.3, 0.9]
    result = descend.sweep(
        nn.Linear(2, 1, init="zeros"), X, y, lrs=rates, epochs=30,
        callbacks=[CtrlC("on_epoch_end", epoch=3, run=2)],
    )  # fmt: skip
    assert result.lrs == [0.01] and result.not_run == [0.1, 0.3, 0.9]
    assert [row["lr"] for row in result.rows()] == [0.01]
    assert result.histories[0].epochs == 30  # the finished run, complete
    assert "interrupted after 1 of 4 learning rates; not tried: 0.1, 0.3, 0.9" in result.reason
    with pytest.raises(KeyboardInterrupt):  # nothing finished
        descend.sweep(
            nn.Linear(2, 1), X, y, lrs=rates, epochs=30,
            callbacks=[CtrlC("on_epoch_end", epoch=3, run=1)],
        )  # fmt: skip


def test_lr_auto_interrupted_raises_before_training(monkeypatch):
    from descend.understand import rates

    calls = []
    real = rates.ArrayBlocks.gradient

    def cut_at_the_third_step(self, *args, **kwargs):  # Ctrl-C inside the range test
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rates.ArrayBlocks, "gradient", cut_at_the_third_step)
    X, y = line_data()
    model = nn.MLP([2, 4, 1], seed=0)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(KeyboardInterrupt):
        descend.fit(model, X, y, optimizer="adam", lr="auto", epochs=50, verbose=False)
    assert len(calls) == 3
    assert all((p.data == b).all() for p, b in zip(model.parameters(), before))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupted_estimator_is_fitted_with_what_it_learned():
    X, y = line_data()
    regressor = descend.Regressor(epochs=500, callbacks=(CtrlC("on_epoch_end", epoch=9),))
    regressor.fit(X, y)
    assert regressor.history_.stop_reason == "interrupted" and regressor.history_.epochs == 10
    assert regressor.predict(X[:2]).shape == (2,)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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
