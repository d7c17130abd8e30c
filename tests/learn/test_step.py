"""The captured step against the eager one: the same losses, gradients and weights, bit for bit.

Each test runs one model twice from the same weights over the same batches:
once through ``compile_step`` (the replayed tape and the flat optimizer), once
eagerly (``loss_fn(model(X[i]), y[i]).backward(); opt.step()``), and compares
the bytes after every step. Then the cases where the captured step must step
aside (a changed model, a replaced array, a gradient already there, a tape that
does not match eager), and ``fit`` with capture on and off.
"""

from __future__ import annotations

import contextlib
import functools
import math
import types

import numpy as np
import pytest

import descend
from descend.engine import capture
from descend.learn import blocks, losses, nn, optim, training
from descend.learn.callbacks import EarlyStopping
from descend.learn.schedules import Cosine
from descend.learn.step import CapturedStep, compile_step, eager
from descend.learn.updates import sgd_update


def bits(a) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def data(n: int, d: int, loss: str, outputs: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    if loss == "cross_entropy":
        return X, rng.integers(0, outputs, n).astype(dtype)  # labels as fit hands them on
    if loss == "bce_with_logits":
        y = rng.integers(0, 2, (n, outputs)).astype(dtype)
    else:
        y = rng.standard_normal((n, outputs)).astype(dtype)
    return X, y[:, 0] if outputs == 1 else y


MODELS = {
    "linear": lambda d, k, dtype: nn.Linear(d, k, seed=1, dtype=dtype),
    "linear without bias": lambda d, k, dtype: nn.Linear(d, k, bias=False, seed=1, dtype=dtype),
    "mlp relu": lambda d, k, dtype: nn.MLP([d, 16, k], seed=1, dtype=dtype),
    "mlp tanh": lambda d, k, dtype: nn.MLP([d, 12, 8, k], activation="tanh", seed=1, dtype=dtype),
    "mlp sigmoid": lambda d, k, dtype: nn.MLP([d, 8, k], activation="sigmoid", seed=1, dtype=dtype),
    "sequential": lambda d, k, dtype: nn.Sequential(
        nn.Linear(d, 8, seed=2, dtype=dtype),
        nn.Tanh(),
        nn.Linear(8, 8, bias=False, seed=3, dtype=dtype),
        nn.Linear(8, k, seed=4, dtype=dtype),
        nn.Sigmoid(),
    ),
}

OPTIMIZERS = {
    "sgd": functools.partial(optim.SGD, lr=0.1),
    "momentum": functools.partial(optim.SGD, lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": functools.partial(optim.SGD, lr=0.05, momentum=0.9, nesterov=True),
    "adam": functools.partial(optim.Adam, lr=0.01),
    "adamw": functools.partial(optim.AdamW, lr=0.01, amsgrad=True),
    "rmsprop": functools.partial(optim.RMSprop, lr=0.01, centered=True),
    "adagrad": functools.partial(optim.Adagrad, lr=0.1),
}


def pair(model: str, optimizer: str, d: int, k: int, dtype=np.float64):
    """Two copies of one model and optimizer: (model, optimizer) twice."""
    a, b = MODELS[model](d, k, dtype), MODELS[model](d, k, dtype)
    return (a, OPTIMIZERS[optimizer](a.parameters())), (b, OPTIMIZERS[optimizer](b.parameters()))


def eager_step(model, opt, loss_fn, X, y) -> float:
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
    return float(loss.data)


def captured_step(step: CapturedStep, opt, loss_fn, model, X, y) -> float:
    """What the loop does: the captured step where it can, eager where not."""
    opt.zero_grad()
    loss = step.loss(X, y)
    if loss is None:
        loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
    return float(loss.data)


def assert_same_models(a, b) -> None:
    for p, q in zip(a.parameters(), b.parameters()):
        assert bits(p.data) == bits(q.data)
        assert bits(p.grad) == bits(q.grad)


def batches(X, y, sizes=(16, 32, 48), epochs: int = 2, seed: int = 0):
    """Shuffled minibatches of rows, as the loop's data hands them on (copies)."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for index in np.array_split(rng.permutation(len(X)), list(sizes)):
            yield X[index], y[index]


def run_both(model: str, loss: str, optimizer: str, dtype=np.float64, steps: int = 7):
    """The captured and the eager step side by side, batch 16 over 50 rows (16, 16, 16, 2)."""
    k = 4 if loss == "cross_entropy" else 1 if model != "sequential" else 3
    X, y = data(50, 5, loss, k, dtype)
    loss_fn = getattr(losses, loss)
    (m1, o1), (m2, o2) = pair(model, optimizer, 5, k, dtype)
    step = compile_step(m1, loss_fn, o1)
    assert step is not None and o1.flat is step.flat
    for Xb, yb in list(batches(X, y))[:steps]:
        got = captured_step(step, o1, loss_fn, m1, Xb, yb)
        want = eager_step(m2, o2, loss_fn, Xb, yb)
        assert bits(np.float64(got)) == bits(np.float64(want))
        assert_same_models(m1, m2)
    return step


# ----- bit for bit ----------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "bce_with_logits", "cross_entropy"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_and_loss_steps_as_eager_does(model, loss) -> None:
    step = run_both(model, loss, "adam")
    assert sorted(step.tapes) == [2, 16]  # the last, smaller batch has a tape of its own
    assert all(step.tapes.values()) and step.replayed == 7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_steps_as_eager_does(optimizer, dtype) -> None:
    step = run_both("mlp relu", "cross_entropy", optimizer, dtype, steps=8)
    assert step.replayed == 8 and step.flat.params[0].data.dtype == dtype


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_float32_models_step_as_eager_does(loss) -> None:
    step = run_both("mlp tanh", loss, "momentum", np.float32)
    assert step.replayed == 7


def test_labels_as_ints_or_a_column_step_as_eager_does() -> None:
    X, y = data(40, 3, "cross_entropy", 3)
    (m1, o1), (m2, o2) = pair("mlp relu", "sgd", 3, 3)
    step = compile_step(m1, losses.cross_entropy, o1)
    for i, (Xb, yb) in enumerate(batches(X, y, sizes=(10, 20, 30))):
        labels = yb.astype(np.int64) if i % 2 else yb.reshape(-1, 1)
        captured_step(step, o1, losses.cross_entropy, m1, Xb, labels)
        eager_step(m2, o2, losses.cross_entropy, Xb, labels)
        assert_same_models(m1, m2)
    assert step.replayed == 8


# ----- what compile_step takes, and the batches it leaves to eager ----------------------
def declined(model, loss_fn, optimizer=None) -> bool:
    params = model.parameters()
    arrays = [p.data for p in params]
    opt = optimizer if optimizer is not None else optim.SGD(params)
    step = compile_step(model, loss_fn, opt)
    if step is None:  # and nothing changed
        assert all(p.data is a for p, a in zip(params, arrays)) and opt.flat is None
    return step is None


def test_models_losses_and_optimizers_it_cannot_replay_are_left_to_eager() -> None:
    mlp = functools.partial(nn.MLP, [3, 4, 1], seed=0)
    assert not declined(mlp(), losses.mse)
    assert not declined(nn.Linear(3, 1), losses.bce_with_logits)
    assert declined(mlp(dropout=0.5), losses.mse)
    assert declined(mlp(activation="leaky_relu"), losses.mse)
    assert declined(mlp(activation="gelu"), losses.mse)
    assert declined(nn.Sequential(nn.Tanh(), nn.Linear(3, 1)), losses.mse)
    assert declined(nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.ReLU()), losses.mse)

    class Doubled(nn.Sequential):  # its own forward: the layers are not the whole story
        def forward(self, x):
            return super().forward(x) * 2

    assert declined(Doubled(nn.Linear(3, 1)), losses.mse)
    assert declined(mlp(), losses.mae)
    assert declined(mlp(), lambda p, t, **kw: losses.mse(p, t, **kw))
    assert declined(mlp(dtype="float32"), losses.bce_with_logits)  # its gradient turns float64
    model = mlp()
    assert declined(model, losses.mse, optimizer=optim.SGD(model.parameters()[:2]))
    with eager():
        assert declined(mlp(), losses.mse)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_batches_it_cannot_replay_are_left_to_eager() -> None:
    X, y = data(20, 3, "mse", 1)
    X3, labels = data(20, 3, "cross_entropy", 3)
    model = nn.MLP([3, 4, 1], seed=0)
    regression = compile_step(model, losses.mse, optim.SGD(model.parameters()))
    assert regression.loss(X, y) is not None and regression.loss(X, y[:, None]) is not None
    assert regression.loss(X.astype(np.float32), y) is None
    assert regression.loss(X, y.astype(np.float32)) is None
    assert regression.loss(X, np.ones((20, 2))) is None  # eager reports the shapes
    assert regression.loss(X[:, :2], y) is None
    assert regression.loss(X[:10], y) is None
    assert regression.loss(X.tolist(), y) is None
    assert regression.loss(X[:1], np.array(1.0)) is None  # 0-d
    model = nn.MLP([3, 4, 3], seed=0)
    classifier = compile_step(model, losses.cross_entropy, optim.SGD(model.parameters()))
    assert classifier.loss(X3, labels) is not None
    assert classifier.loss(X3, np.eye(3)[labels.astype(int)]) is None  # probabilities
    assert classifier.loss(X3, labels + 0.5) is None
    assert classifier.loss(X3, labels + 1) is None  # a label 3 of 3 classes
    assert classifier.loss(X3, -labels) is None
    assert classifier.loss(X3, labels.astype(np.int64) - 3) is None
    assert classifier.loss(X3, np.full(20, np.nan)) is None
    assert classifier.replayed == 0  # loss() alone steps nothing


def test_the_training_labels_are_checked_once_when_given() -> None:
    X, labels = data(20, 3, "cross_entropy", 3)
    model = nn.MLP([3, 4, 3], seed=0)
    rows = types.SimpleNamespace(y=labels)  # the loop's data: the training targets in .y
    step = compile_step(model, losses.cross_entropy, optim.SGD(model.parameters()), rows)
    assert step.labels_checked and step.loss(X[:10], labels[:10]) is not None
    bad = labels.copy()
    bad[3] = 7.0
    model = nn.MLP([3, 4, 3], seed=0)
    rows = types.SimpleNamespace(y=bad)
    step = compile_step(model, losses.cross_entropy, optim.SGD(model.parameters()), rows)
    assert not step.labels_checked  # so every batch is checked, and the bad one runs eagerly
    assert step.loss(X[:10], bad[:10]) is None and step.loss(X[10:], bad[10:]) is not None


def test_fit_reports_a_bad_label_as_eager_does() -> None:
    X, labels = data(40, 3, "cross_entropy", 3)
    labels[5] = 3.0
    for context in (contextlib.nullcontext, eager):
        with (
            context(),
            pytest.raises(descend.errors.InputError, match=r"labels must lie in \[0, 3\)"),
        ):
            descend.fit(
                nn.MLP([3, 4, 3], seed=0), X, labels, loss="cross_entropy", batch_size=8,
                epochs=1, verbose=False,
            )  # fmt: skip


def test_batch_gradient_is_the_datas_and_hands_on_what_it_cannot_replay() -> None:
    X, y = data(30, 3, "mse", 1)
    (m1, o1), (m2, o2) = pair("mlp tanh", "sgd", 3, 1)
    handed: list = []

    def eager_gradient(model, loss_fn, batch):
        handed.append(batch)
        return blocks.batch_gradient(model, loss_fn, batch)

    step = compile_step(m1, losses.mse, o1, types.SimpleNamespace(batch_gradient=eager_gradient))
    for batch in [(X[:10], y[:10], None), (X[10:], y[10:], np.ones(20)), (X[:10], y[:10], None)]:
        o1.zero_grad()
        o2.zero_grad()
        got = step.batch_gradient(m1, losses.mse, batch)
        want = blocks.batch_gradient(m2, losses.mse, batch)
        assert got == want
        assert_same_models(m1, m2)
        o1.step()
        o2.step()
    assert step.replayed == 2 and len(handed) == 1 and handed[0][2] is not None  # weighted
    assert step.batch_gradient(m2, losses.mse, (X[:10], y[:10], None)) == blocks.batch_gradient(
        m2, losses.mse, (X[:10], y[:10], None)
    )  # another model: handed on
    assert len(handed) == 2 and step.replayed == 2
    step.eager_gradient = lambda model, loss_fn, batch: (0.0, 0.0)
    assert step.batch_gradient(m1, losses.mse, (0, np.arange(3))) == (0.0, 0.0)  # a Dask batch


def test_an_optimizer_with_its_own_rule_keeps_stepping_each_parameter() -> None:
    class Halved(optim.SGD):  # elementwise, but descend cannot know that
        _update = staticmethod(functools.partial(sgd_update))

    X, y = data(40, 3, "mse", 1)
    (m1, _), (m2, _) = pair("mlp relu", "sgd", 3, 1)
    o1, o2 = Halved(m1.parameters(), lr=0.1), Halved(m2.parameters(), lr=0.1)
    step = compile_step(m1, losses.mse, o1)
    assert step is not None and o1.flat is None
    for Xb, yb in batches(X, y, sizes=(10, 20, 30), epochs=1):
        captured_step(step, o1, losses.mse, m1, Xb, yb)
        eager_step(m2, o2, losses.mse, Xb, yb)
        assert_same_models(m1, m2)
    assert step.replayed == 4


# ----- stepping aside --------------------------------------------------------------------
def test_a_changed_model_is_stepped_eagerly_and_the_rest_still_replays() -> None:
    X, y = data(48, 4, "mse", 1)
    (m1, o1), (m2, o2) = pair("mlp tanh", "sgd", 4, 1)
    step = compile_step(m1, losses.mse, o1)
    for i, (Xb, yb) in enumerate(batches(X, y, sizes=(8, 16, 24, 32, 40), epochs=1)):
        if i == 2:  # a callback swaps the last layer's weight for a new Parameter
            for m in (m1, m2):
                m[4].weight = nn.Parameter(np.full((8, 1), 0.1))
        assert (step.loss(Xb, yb) is None) == (i >= 2)
        captured_step(step, o1, losses.mse, m1, Xb, yb)
        eager_step(m2, o2, losses.mse, Xb, yb)
    assert step.replayed == 2
    assert bits(m1[4].weight.data) == bits(m2[4].weight.data)


def test_a_swapped_layer_or_a_replaced_array_is_stepped_eagerly() -> None:
    X, y = data(10, 3, "mse", 1)
    model = nn.MLP([3, 5, 1], seed=0)
    step = compile_step(model, losses.mse, optim.SGD(model.parameters(), lr=0.1))
    assert step.loss(X, y) is not None
    model[0].bias.data = model[0].bias.data.copy()  # no longer in the buffer
    assert step.loss(X, y) is None
    model[0].bias.data = step.flat.views[1]
    assert step.loss(X, y) is not None
    setattr(model, "2", nn.Linear(5, 1))
    assert step.loss(X, y) is None


def test_backward_onto_existing_gradients_adds_to_them_as_eager_does() -> None:
    X, y = data(20, 3, "cross_entropy", 3)
    (m1, o1), (m2, o2) = pair("mlp relu", "adam", 3, 3)
    step = compile_step(m1, losses.cross_entropy, o1)
    first, second = (X[:10], y[:10]), (X[10:], y[10:])
    step.loss(*first).backward()
    step.loss(*second).backward()  # no zero_grad in between: accumulate
    losses.cross_entropy(m2(first[0]), first[1]).backward()
    losses.cross_entropy(m2(second[0]), second[1]).backward()
    assert_same_models(m1, m2)
    assert step.replayed == 1
    with pytest.raises(RuntimeError, match="needs a loss"):
        step.backward()


def test_a_tape_that_differs_from_eager_is_never_replayed(monkeypatch) -> None:
    def off_by_a_bit(self):
        grad = real(self)
        grad[0, 0] = np.nextafter(grad[0, 0], np.inf)
        return grad

    real = capture.SoftmaxCrossEntropy.backward
    monkeypatch.setattr(capture.SoftmaxCrossEntropy, "backward", off_by_a_bit)
    X, y = data(30, 3, "cross_entropy", 3)
    (m1, o1), (m2, o2) = pair("mlp relu", "sgd", 3, 3)
    step = compile_step(m1, losses.cross_entropy, o1)
    for Xb, yb in batches(X, y, sizes=(10, 20), epochs=1):
        assert step.loss(Xb, yb) is None
        captured_step(step, o1, losses.cross_entropy, m1, Xb, yb)
        eager_step(m2, o2, losses.cross_entropy, Xb, yb)
    assert step.tapes == {10: None} and step.replayed == 0
    assert_same_models(m1, m2)


def test_a_non_finite_first_batch_is_not_captured_and_leaves_no_gradient() -> None:
    X, y = data(10, 3, "mse", 1)
    model = nn.MLP([3, 4, 1], seed=0)
    step = compile_step(model, losses.mse, optim.SGD(model.parameters()))
    model[0].weight.data[0, 0] = np.nan
    assert step.loss(X, y) is None
    assert step.tapes == {} and all(p.grad is None for p in model.parameters())
    model[0].weight.data[0, 0] = 0.5
    assert math.isfinite(float(step.loss(X, y).data)) and 10 in step.tapes


def test_batches_of_many_sizes_keep_a_few_tapes_and_stay_exact() -> None:
    X, y = data(60, 3, "bce_with_logits", 1)
    (m1, o1), (m2, o2) = pair("mlp sigmoid", "adam", 3, 1)
    step = compile_step(m1, losses.bce_with_logits, o1)
    for size in (5, 6, 7, 8, 9, 10, 5, 6):
        index = np.arange(size) * 3 % 60
        captured_step(step, o1, losses.bce_with_logits, m1, X[index], y[index])
        eager_step(m2, o2, losses.bce_with_logits, X[index], y[index])
        assert_same_models(m1, m2)
        assert len(step.tapes) <= 4
    assert step.replayed == 8


# ----- fit, capture on and off -------------------------------------------------------------
def fit_twice(monkeypatch, make_model, X, y, **kwargs):
    """fit with capture (returning its CapturedStep) and with eager(): models and histories."""
    made: list[CapturedStep | None] = []

    def spy(*args, **kw):
        made.append(compile_step(*args, **kw))
        return made[-1]

    monkeypatch.setattr(training, "compile_step", spy)
    runs = []
    for context in (contextlib.nullcontext, eager):
        model = make_model()
        with context():
            history = descend.fit(model, X, y, verbose=False, **kwargs)
        runs.append((model, history))
    (a, ha), (b, hb) = runs
    for p, q in zip(a.parameters(), b.parameters()):
        assert bits(p.data) == bits(q.data)
    for name in ("loss", "val_loss", "lr", "grad_norm", "update_cosine"):
        assert bits(np.array(getattr(ha, name))) == bits(np.array(getattr(hb, name))), name
    assert (ha.stop_reason, ha.events, ha.final_loss) == (hb.stop_reason, hb.events, hb.final_loss)
    assert made[1] is None  # eager() turned capture off
    return made[0], ha


def test_fit_gives_the_same_run_with_capture_on_and_off(monkeypatch) -> None:
    X, y = data(300, 6, "cross_entropy", 4)
    step, history = fit_twice(
        monkeypatch,
        lambda: nn.MLP([6, 16, 4], seed=3),
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=6,
        batch_size=32,
        validation=0.2,
        schedule=Cosine(t_max=6),
        tol=None,
    )
    steps_per_epoch = math.ceil(240 / 32)
    assert step.replayed == 6 * steps_per_epoch and sorted(step.tapes) == [16, 32]
    assert history.epochs == 6 and history.loss[-1] < history.loss[0]


@pytest.mark.parametrize(
    "loss, optimizer, extra",
    [
        ("mse", "momentum", {"clip_norm": 0.5}),
        ("bce_with_logits", "sgd", {"callbacks": [EarlyStopping(patience=2)]}),
        ("mse", "nesterov", {"sample_weight": np.linspace(0.5, 1.5, 120)}),
    ],
)
def test_fit_with_clipping_callbacks_or_weights_is_unchanged(monkeypatch, loss, optimizer, extra):
    X, y = data(120, 4, loss, 1)
    step, _ = fit_twice(
        monkeypatch,
        lambda: nn.MLP([4, 8, 1], activation="tanh", seed=0),
        X,
        y,
        loss=loss,
        optimizer=optimizer,
        lr=0.05,
        epochs=8,
        batch_size=25,
        tol=None,
        validation=(X[:30], y[:30]),
        **extra,
    )
    if "sample_weight" in extra:
        assert step.replayed == 0  # weighted batches stay eager
    else:
        assert step.replayed > 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_fit_recovering_from_divergence_is_unchanged(monkeypatch) -> None:
    X, y = data(200, 3, "mse", 1)
    y = y * 100
    step, history = fit_twice(
        monkeypatch,
        lambda: nn.MLP([3, 8, 1], seed=0),
        X,
        y,
        loss="mse",
        optimizer="momentum",
        lr=0.5,
        epochs=6,
        batch_size=50,
        tol=None,
        recover=True,
    )
    assert any(event["event"] == "recovered" for event in history.events)
    assert step.replayed > 0
