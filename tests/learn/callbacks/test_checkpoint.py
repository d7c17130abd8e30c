"""Checkpoint: an interrupted-then-resumed run equals the uninterrupted run bit for bit, and a
process killed while it writes checkpoints leaves the last good one at the path."""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.learn.callbacks import Callback, Checkpoint
from descend.learn.callbacks import checkpoint as ckpt
from descend.learn.optim import SGD, Adam


class CtrlC(Callback):
    """Press Ctrl-C (a real SIGINT) after minibatch ``batch`` of ``epoch`` (None: at its end)."""

    def __init__(self, epoch: int, batch: int | None) -> None:
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, run):
        if run.epoch == self.epoch and run.cursor.batch == self.batch:
            os.kill(os.getpid(), signal.SIGINT)

    def on_epoch_end(self, run):
        if self.batch is None and run.epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3 + rng.normal(0, 0.3, n)


OPTIMIZERS = {
    "sgd": lambda p: SGD(p, lr=0.05),
    "momentum": lambda p: SGD(p, lr=0.02, momentum=0.9),
    "adam": lambda p: Adam(p, lr=0.01),
}


def run(name, batch_size, callbacks=(), **kwargs):
    model = nn.MLP([3, 6, 1], activation="tanh", seed=2)
    X, y = data()
    history = descend.fit(
        model, X, y, optimizer=OPTIMIZERS[name](model.parameters()), epochs=12,
        batch_size=batch_size, callbacks=callbacks, verbose=False, tol=None, validation=0.25,
        schedule=descend.schedules.ReduceOnPlateau(factor=0.5, patience=1), **kwargs,
    )  # fmt: skip
    return model, history


PER_EPOCH = ("loss", "val_loss", "lr", "grad_norm", "update_cosine")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize(("batch_size", "at"), [(None, (5, None)), (32, (5, 3)), (32, (4, None))])
def test_interrupted_then_resumed_equals_uninterrupted_bit_for_bit(name, batch_size, at, tmp_path):
    path = str(tmp_path / "run.ckpt")
    reference, expected = run(name, batch_size)
    _, stopped = run(name, batch_size, [CtrlC(*at)], checkpoint=path)
    assert stopped.stop_reason == "interrupted" and stopped.epochs < 12
    model, history = run(name, batch_size, resume=path)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert np.array_equal(p.data, q.data)  # bit for bit, not close
    for key in PER_EPOCH:
        np.testing.assert_array_equal(getattr(history, key), getattr(expected, key))
    assert history.events == expected.events and history.epochs == 12


def test_a_checkpoint_is_written_every_n_epochs_and_resumes_a_finished_run(tmp_path):
    path = tmp_path / "run.ckpt"
    model, first = run("adam", 32, checkpoint=path, checkpoint_every=5)
    state = ckpt.read(path)
    assert state["epoch"] == 12 and state["cursor"]["batch"] == 0  # after the last epoch
    assert state["base_lr"] == 0.01 and state["lr"] == first.lr[-1]
    assert state["history"]["loss"] == first.loss
    again, resumed = run("adam", 32, resume=path)  # all 12 epochs done: nothing left to train
    for p, q in zip(again.parameters(), model.parameters()):
        assert np.array_equal(p.data, q.data)
    assert resumed.loss == first.loss and resumed.stop_reason == "max_epochs"


def _stops_by_itself(batch_size, callbacks=(), **kwargs):
    X, y = data(300)
    model = nn.Linear(3, 1, init="zeros")
    history = descend.fit(
        model, X, y, lr=0.05, epochs=500, batch_size=batch_size, verbose=False,
        callbacks=callbacks, **kwargs,
    )  # fmt: skip
    return model, history


@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("stopper", ["converged", "early_stopping"])
def test_resuming_a_run_that_stopped_by_itself_ends_as_it_ended(batch_size, stopper, tmp_path):
    """The final checkpoint of a run that Convergence (or EarlyStopping) stopped keeps that decision:
    resumed, it trains no further epoch, and its weights and history are the run's."""
    path = tmp_path / "run.ckpt"
    extra = {"validation": 0.25, "tol": None} if stopper == "early_stopping" else {}

    def callbacks():
        if stopper == "converged":
            return ()
        return (descend.callbacks.EarlyStopping(patience=2, min_delta=1e-3),)

    model, first = _stops_by_itself(batch_size, callbacks(), checkpoint=path, **extra)
    # Convergence's stop is 'converged' at the optimum, 'stalled' short of it (minibatches)
    stopped = {"converged": ("converged", "stalled")}.get(stopper, (stopper,))
    assert first.stop_reason in stopped and first.epochs < 500
    again, resumed = _stops_by_itself(batch_size, callbacks(), resume=path, **extra)
    assert resumed.stop_reason == first.stop_reason and resumed.epochs == first.epochs
    for p, q in zip(again.parameters(), model.parameters()):
        assert np.array_equal(p.data, q.data)
    assert resumed.loss == first.loss and resumed.final_loss == first.final_loss


def test_a_checkpoint_of_another_model_or_run_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    run("sgd", None, checkpoint=path)
    X, y = data()
    with pytest.raises(InputError, match="weights of shapes"):
        descend.fit(nn.Linear(3, 1), X, y, epochs=2, verbose=False, resume=path)
    with pytest.raises(InputError, match="batch_size=None"):
        run("sgd", 16, resume=path)
    with pytest.raises(InputError, match="optimizer='SGD'"):
        run("adam", None, resume=path)


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    path = tmp_path / "run.ckpt"
    run("sgd", None, checkpoint=path)
    data_bytes = path.read_bytes()
    path.write_bytes(data_bytes[: len(data_bytes) // 2])
    with pytest.raises(InputError, match="run.ckpt"):
        ckpt.read(path)
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    with pytest.raises(InputError, match="Not a descend checkpoint"):
        ckpt.read(tmp_path / "text.ckpt")
    with pytest.raises(InputError, match="a path to write to"):
        Checkpoint()


class SaveModel(Callback):
    """Save the model file after every epoch too (descend.save writes atomically as well)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_epoch_end(self, run):
        descend.save(run.model, self.path)


def _train_forever(path: str) -> None:
    """The child: train with a checkpoint and a model file written after every epoch,
    until killed."""
    X, y = data(64)
    model = nn.Linear(3, 1, init="zeros")
    descend.fit(model, X, y, lr=0.01, epochs=10**9, tol=None, verbose=False, checkpoint=path,
                callbacks=[SaveModel(path + ".model")])  # fmt: skip


KILLS = 200


def test_sigkill_while_writing_checkpoints_leaves_the_last_good_one(tmp_path):
    """Fork a trainer that writes a checkpoint and a model file every epoch, SIGKILL it at a
    random moment, load what is at the paths; KILLS times. Bounded: each round waits at
    most 2 s for the child's first checkpoint, then at most 20 ms."""
    path = str(tmp_path / "run.ckpt")
    chance = random.Random(0)
    mid_write = loaded = 0
    for _ in range(KILLS):
        before = os.path.exists(path) and os.stat(path).st_mtime_ns
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            try:
                _train_forever(path)
            finally:
                os._exit(0)
        deadline = time.monotonic() + 2.0
        while (not os.path.exists(path) or os.stat(path).st_mtime_ns == before) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.001)  # until this child has written at least one
        time.sleep(chance.uniform(0, 0.02))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        leftovers = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        mid_write += bool(leftovers)
        for name in leftovers:
            os.unlink(tmp_path / name)
        state = ckpt.read(path)  # raises if the file at the path is not a whole checkpoint
        assert state["epoch"] >= 1 and len(state["weights"]) == 2
        if os.path.exists(path + ".model"):  # and the model file is whole too
            assert descend.load(path + ".model").weight.shape == (3, 1)
        loaded += 1
    assert loaded == KILLS
    print(f"{KILLS} SIGKILLs, {mid_write} in the middle of a write, {loaded} loaded")
    assert mid_write > 0  # some kills did land while a checkpoint was being written
