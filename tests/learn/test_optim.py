"""Optimizers: every update rule against PyTorch's published algorithm, worked by hand.

Each ``by_hand_*`` function below writes out three steps of the rule in
PyTorch's documentation (torch.optim.SGD / Adam / AdamW / RMSprop / Adagrad),
line by line; the class and the pure function must both reproduce them.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import descend
from descend.errors import InputError
from descend.learn.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    clip_grad_norm,
    global_grad_norm,
    make_optimizer,
)
from tests.learn.rules import CASES, G1, G3, GRADS, P0, run_pure


def run_class(cls: type[Optimizer], hyper: dict) -> list[np.ndarray]:
    """The parameter after each of three steps of ``cls`` with the fixed gradients."""
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = cls([w], **hyper)
    trajectory = []
    for g in GRADS:
        w.grad = g.copy()
        optimizer.step()
        trajectory.append(w.data.copy())
    return trajectory


@pytest.mark.parametrize("case", CASES)
def test_three_steps_match_the_published_rule(case):
    cls, update, hyper, by_hand = CASES[case]
    expected = by_hand()
    assert_allclose(run_class(cls, hyper), expected, rtol=1e-12, atol=1e-15)
    assert_allclose(run_pure(update, hyper), expected, rtol=1e-12, atol=1e-15)


# ----- numbers small enough to check in one's head ------------------------------------
def test_sgd_literal_numbers():
    # 1 - 0.1*0.5 = 0.95, -2 - 0.1*(-1) = -1.9, then 0.95 - 0.01 = 0.94, -1.9 - 0.03 = -1.93
    trajectory = run_class(SGD, {"lr": 0.1})
    assert_allclose(trajectory[:2], [[0.95, -1.9], [0.94, -1.93]])


def test_sgd_momentum_and_nesterov_literal_numbers():
    # constant g = 1, lr 0.1, mu 0.9: velocities 1, 1.9, 2.71
    w = descend.tensor([1.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    heavy_ball = []
    for _ in range(3):
        w.grad = np.array([1.0])
        optimizer.step()
        heavy_ball.append(w.data[0])
    assert_allclose(heavy_ball, [0.9, 0.71, 0.439])
    # nesterov steps along g + mu*v: 1.9, 2.71, 3.439
    w = descend.tensor([1.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    lookahead = []
    for _ in range(3):
        w.grad = np.array([1.0])
        optimizer.step()
        lookahead.append(w.data[0])
    assert_allclose(lookahead, [0.81, 0.539, 0.1951])


def test_adam_moves_each_weight_by_lr_when_the_gradient_is_constant():
    # with a constant g, bias correction makes m_hat = g and v_hat = g*g exactly
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = Adam([w], lr=0.1)
    for _ in range(3):
        w.grad = G1.copy()
        optimizer.step()
    assert_allclose(w.data, [0.7, -1.7], rtol=1e-7)
    assert optimizer.state[0]["step"] == 3


def test_adagrad_literal_numbers():
    # g = 1 every step: the sum of squares is t, so the steps are 0.1/sqrt(t)
    w = descend.tensor([1.0], requires_grad=True)
    optimizer = Adagrad([w], lr=0.1)
    for _ in range(3):
        w.grad = np.array([1.0])
        optimizer.step()
    assert_allclose(w.data, [1 - 0.1 - 0.1 / math.sqrt(2) - 0.1 / math.sqrt(3)])


# ----- step(), zero_grad(), state -------------------------------------------------------
def test_step_writes_the_parameter_in_place():
    w = descend.tensor(P0.copy(), requires_grad=True)
    array, view = w.data, w.data[:1]
    optimizer = SGD([w], lr=0.1)
    w.grad = G1.copy()
    optimizer.step()
    assert w.data is array
    assert_allclose(view, [0.95])


def test_step_skips_parameters_without_a_gradient():
    a = descend.tensor([1.0, 2.0], requires_grad=True)
    b = descend.tensor([3.0], requires_grad=True)
    optimizer = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = np.array([1.0, 1.0])
    optimizer.step()
    assert_allclose(a.data, [0.9, 1.9])
    assert_array_equal(b.data, [3.0])
    assert optimizer.state[1] == {}
    assert optimizer.step_count == 1


def test_zero_grad_forgets_every_gradient():
    a = descend.tensor([1.0], requires_grad=True)
    b = descend.tensor([2.0], requires_grad=True)
    (a * b).sum().backward()
    optimizer = SGD([a, b])
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None


def test_a_new_lr_takes_effect_at_the_next_step():
    w = descend.tensor([1.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    w.grad = np.array([1.0])
    optimizer.step()
    optimizer.lr = 0.5
    optimizer.step()
    assert_allclose(w.data, [1.0 - 0.1 - 0.5])


def test_the_first_velocity_is_a_copy_of_the_gradient():
    # backward() accumulates into .grad in place; the velocity must not follow it
    w = descend.tensor([1.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.array([2.0])
    optimizer.step()
    w.grad += 5.0
    assert_array_equal(optimizer.state[0]["velocity"], [2.0])


@pytest.mark.parametrize("case", CASES)
def test_float32_parameters_and_state_stay_float32(case):
    cls, _, hyper, _ = CASES[case]
    w = descend.tensor(P0.astype(np.float32), requires_grad=True)
    optimizer = cls([w], **hyper)
    for g in GRADS:
        w.grad = g.astype(np.float32)
        optimizer.step()
    assert w.data.dtype == np.float32
    for key, value in optimizer.state[0].items():
        assert key == "step" or value.dtype == np.float32


def test_training_a_line_with_autograd_converges():
    # y = 2x - 1 by full-batch gradient descent: the loop of the lesson, with Adam
    x = descend.tensor(np.linspace(-1, 1, 20))
    y = 2 * x.data - 1
    w = descend.tensor([0.0], requires_grad=True)
    b = descend.tensor([0.0], requires_grad=True)
    optimizer = Adam([w, b], lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        ((w * x + b - y) ** 2).mean().backward()
        optimizer.step()
    assert_allclose([w.item(), b.item()], [2.0, -1.0], atol=1e-3)


# ----- state_dict ------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_state_dict_round_trip_continues_identically(case):
    cls, _, hyper, _ = CASES[case]
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = cls([w], **hyper)
    for g in GRADS[:2]:
        w.grad = g.copy()
        optimizer.step()
    saved = optimizer.state_dict()
    # everything but the arrays is JSON
    arrays = [{k: v.tolist() for k, v in s.items() if k != "step"} for s in saved["state"]]
    steps = [{k: v for k, v in s.items() if k == "step"} for s in saved["state"]]
    restored = json.loads(json.dumps({**saved, "state": steps}))
    restored["state"] = [{**s, **a} for s, a in zip(restored["state"], arrays)]

    w2 = descend.tensor(w.data.copy(), requires_grad=True)
    resumed = cls([w2])  # default hyperparameters: load_state_dict restores them
    resumed.load_state_dict(restored)
    assert resumed.hyperparameters() == json.loads(json.dumps(optimizer.hyperparameters()))
    assert resumed.step_count == 2
    w.grad, w2.grad = G3.copy(), G3.copy()
    optimizer.step()
    resumed.step()
    assert_array_equal(w2.data, w.data)


def test_state_dict_is_a_snapshot():
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = Adam([w], lr=0.1)
    w.grad = G1.copy()
    optimizer.step()
    saved = optimizer.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    optimizer.step()
    assert_array_equal(saved["state"][0]["exp_avg"], before)
    assert saved["state"][0]["step"] == 1
    assert saved["optimizer"] == "Adam" and saved["step_count"] == 1
    assert saved["hyperparameters"] == {
        "lr": 0.1,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }


def test_load_state_dict_copies_into_the_parameter_dtype():
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    w.grad = G1.copy()
    optimizer.step()
    saved = optimizer.state_dict()
    w32 = descend.tensor(P0.astype(np.float32), requires_grad=True)
    resumed = SGD([w32], lr=0.1, momentum=0.9)
    resumed.load_state_dict(saved)
    saved["state"][0]["velocity"][:] = 100.0  # the caller's dict is theirs to change
    assert resumed.state[0]["velocity"].dtype == np.float32
    assert_array_equal(resumed.state[0]["velocity"], G1.astype(np.float32))


def test_load_state_dict_changes_the_rate_through_set_lr_alone(monkeypatch):
    w = descend.tensor(P0.copy(), requires_grad=True)
    saved = Adam([w], lr=0.05).state_dict()
    resumed = Adam([descend.tensor(P0.copy(), requires_grad=True)], lr=0.3)
    resumed.set_lr(0.2, base=0.4)
    calls = []

    def spy(self, lr, base=None):
        calls.append((lr, base))
        Optimizer.set_lr(self, lr, base)

    monkeypatch.setattr(Adam, "set_lr", spy)
    resumed.load_state_dict(saved)
    assert calls == [(0.05, 0.05)]  # the rate and the schedules' base, by the one method
    assert (resumed.lr, resumed.base_lr) == (0.05, 0.05)
    assert saved["hyperparameters"]["lr"] == 0.05  # the caller's dict is left whole


def _adam_state():
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = Adam([w], lr=0.1)
    w.grad = G1.copy()
    optimizer.step()
    return optimizer.state_dict()


def _with(saved, **changes):
    return {**saved, **changes}


LOAD_ERRORS = {
    "not a dict": (lambda s: [1, 2], "Adam.load_state_dict expects the dict made by state_dict()"),
    "missing key": (
        lambda s: {k: v for k, v in s.items() if k != "state"},
        "with keys optimizer, hyperparameters, step_count, state",
    ),
    "other optimizer": (
        lambda s: _with(s, optimizer="SGD"),
        "This optimizer state was saved by SGD; it cannot be loaded into Adam.",
    ),
    "hyperparameter names": (
        lambda s: _with(s, hyperparameters={"lr": 0.1}),
        "The saved hyperparameters of Adam are ['lr']; expected ",
    ),
    "bad hyperparameter": (
        lambda s: _with(s, hyperparameters={**s["hyperparameters"], "lr": -1.0}),
        "The 'lr' parameter of Adam must be a float in (0, inf). Got -1.0 instead.",
    ),
    "bad step_count": (
        lambda s: _with(s, step_count=-1),
        "The 'step_count' parameter of Adam's state must be an int in [0, inf). Got -1 instead.",
    ),
    "parameter count": (
        lambda s: _with(s, state=s["state"] * 2),
        "The saved state of Adam is for 2 parameters, but this optimizer has 1.",
    ),
    "unknown state key": (
        lambda s: _with(s, state=[{**s["state"][0], "velocity": np.zeros(2)}]),
        "has keys ['exp_avg', 'exp_avg_sq', 'step', 'velocity']; Adam keeps only step, ",
    ),
    "shape": (
        lambda s: _with(s, state=[{**s["state"][0], "exp_avg": np.zeros(3)}]),
        "The saved 'exp_avg' of parameter 0 of Adam has shape (3,), but the parameter "
        "has shape (2,).",
    ),
    "bad step": (
        lambda s: _with(s, state=[{**s["state"][0], "step": 1.5}]),
        "The 'step' parameter of Adam's state of parameter 0 must be an int in [0, inf).",
    ),
}


@pytest.mark.parametrize("case", LOAD_ERRORS)
def test_load_state_dict_rejects_what_does_not_fit(case):
    corrupt, message = LOAD_ERRORS[case]
    w = descend.tensor(P0.copy(), requires_grad=True)
    optimizer = Adam([w], lr=0.5)
    with pytest.raises(InputError, match=re.escape(message)):
        optimizer.load_state_dict(corrupt(_adam_state()))
    # nothing was half-loaded
    assert optimizer.lr == 0.5 and optimizer.state == [{}] and optimizer.step_count == 0


# ----- validation ------------------------------------------------------------------------
def _w():
    return [descend.tensor([1.0], requires_grad=True)]


def _float_message(owner, name, interval, value):
    return (
        f"The '{name}' parameter of {owner} must be a float in {interval}. Got {value!r} instead."
    )


BAD_HYPERPARAMETERS = [
    (SGD, {"lr": -0.1}, _float_message("SGD", "lr", "(0, inf)", -0.1)),
    (SGD, {"lr": 0}, _float_message("SGD", "lr", "(0, inf)", 0)),
    (SGD, {"lr": float("inf")}, _float_message("SGD", "lr", "(0, inf)", float("inf"))),
    (SGD, {"lr": float("nan")}, _float_message("SGD", "lr", "(0, inf)", float("nan"))),
    (SGD, {"lr": "0.1"}, _float_message("SGD", "lr", "(0, inf)", "0.1")),
    (SGD, {"lr": True}, _float_message("SGD", "lr", "(0, inf)", True)),
    (SGD, {"lr": None}, _float_message("SGD", "lr", "(0, inf)", None)),
    (SGD, {"momentum": 1.0}, _float_message("SGD", "momentum", "[0, 1)", 1.0)),
    (SGD, {"momentum": -0.5}, _float_message("SGD", "momentum", "[0, 1)", -0.5)),
    (
        SGD,
        {"momentum": 0.9, "nesterov": 1},
        "The 'nesterov' parameter of SGD must be a bool (True or False). Got 1 instead.",
    ),
    (
        SGD,
        {"nesterov": True},
        "The 'nesterov' parameter of SGD needs momentum > 0; got momentum=0. "
        "Pass a momentum such as 0.9, or nesterov=False.",
    ),
    (SGD, {"weight_decay": -1e-4}, _float_message("SGD", "weight_decay", "[0, inf)", -1e-4)),
    (Adam, {"lr": -1.0}, _float_message("Adam", "lr", "(0, inf)", -1.0)),
    (
        Adam,
        {"betas": (0.9, 1.0)},
        "The 'betas' parameter of Adam must be a pair of floats, each in [0, 1). "
        "Got (0.9, 1.0) instead.",
    ),
    (Adam, {"betas": 0.9}, "The 'betas' parameter of Adam must be a pair of floats"),
    (Adam, {"betas": (0.9,)}, "The 'betas' parameter of Adam must be a pair of floats"),
    (Adam, {"betas": (0.9, "0.99")}, "The 'betas' parameter of Adam must be a pair of floats"),
    (Adam, {"eps": 0.0}, _float_message("Adam", "eps", "(0, inf)", 0.0)),
    (Adam, {"weight_decay": -0.1}, _float_message("Adam", "weight_decay", "[0, inf)", -0.1)),
    (
        Adam,
        {"amsgrad": "yes"},
        "The 'amsgrad' parameter of Adam must be a bool (True or False). Got 'yes' instead.",
    ),
    (AdamW, {"weight_decay": -1.0}, _float_message("AdamW", "weight_decay", "[0, inf)", -1.0)),
    (AdamW, {"betas": (-0.1, 0.9)}, "The 'betas' parameter of AdamW must be a pair of floats"),
    (RMSprop, {"lr": 0.0}, _float_message("RMSprop", "lr", "(0, inf)", 0.0)),
    (RMSprop, {"alpha": 1.0}, _float_message("RMSprop", "alpha", "[0, 1)", 1.0)),
    (RMSprop, {"eps": -1e-8}, _float_message("RMSprop", "eps", "(0, inf)", -1e-8)),
    (RMSprop, {"momentum": 1}, _float_message("RMSprop", "momentum", "[0, 1)", 1)),
    (
        RMSprop,
        {"centered": 0},
        "The 'centered' parameter of RMSprop must be a bool (True or False). Got 0 instead.",
    ),
    (RMSprop, {"weight_decay": -2.0}, _float_message("RMSprop", "weight_decay", "[0, inf)", -2.0)),
    (Adagrad, {"lr": -0.01}, _float_message("Adagrad", "lr", "(0, inf)", -0.01)),
    (Adagrad, {"lr_decay": -0.1}, _float_message("Adagrad", "lr_decay", "[0, inf)", -0.1)),
    (Adagrad, {"weight_decay": -0.1}, _float_message("Adagrad", "weight_decay", "[0, inf)", -0.1)),
    (
        Adagrad,
        {"initial_accumulator_value": -1.0},
        _float_message("Adagrad", "initial_accumulator_value", "[0, inf)", -1.0),
    ),
    (Adagrad, {"eps": 0}, _float_message("Adagrad", "eps", "(0, inf)", 0)),
]


@pytest.mark.parametrize(("cls", "kwargs", "message"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_named_in_the_error(cls, kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        cls(_w(), **kwargs)


def test_numpy_numbers_are_accepted():
    optimizer = SGD(_w(), lr=np.float64(0.1), momentum=np.float32(0.5))
    assert optimizer.lr == 0.1


def test_the_documented_example_message():
    with pytest.raises(InputError) as caught:
        SGD(_w(), lr=-0.1)
    assert str(caught.value) == (
        "The 'lr' parameter of SGD must be a float in (0, inf). Got -0.1 instead."
    )


a_parameter = descend.tensor([1.0], requires_grad=True)

BAD_PARAMS = {
    "set": ({a_parameter}, "SGD expects the parameters as a list but got a set"),
    "frozenset": (frozenset([a_parameter]), "got a set, whose order changes from run to run"),
    "empty": ([], "SGD got an empty parameter list: there is nothing to optimize."),
    "empty generator": ((p for p in []), "SGD got an empty parameter list"),
    "no grad": (
        [descend.tensor([1.0, 2.0])],
        "Parameter 0 given to SGD (shape (2,)) does not require gradients",
    ),
    "not a tensor": (
        [a_parameter, np.ones(2)],
        "Parameter 1 given to SGD is a ndarray, not a Tensor.",
    ),
    "single tensor": (a_parameter, "SGD expects a list of parameters but got a single Tensor"),
    "not iterable": (3, "SGD expects a list of Tensors but got int"),
    "computed": ([a_parameter * 2], "Parameter 0 given to SGD (shape (1,)) was computed by an op"),
    "twice": ([a_parameter, a_parameter], "Parameter 1 given to SGD (shape (1,)) appears twice"),
}


@pytest.mark.parametrize("case", BAD_PARAMS)
def test_bad_parameter_lists_are_rejected(case):
    params, message = BAD_PARAMS[case]
    with pytest.raises(InputError, match=re.escape(message)):
        SGD(params)


def test_any_ordered_iterable_of_parameters_is_accepted():
    a = descend.tensor([1.0], requires_grad=True)
    b = descend.tensor([2.0], requires_grad=True)
    assert SGD(p for p in (a, b)).params == [a, b]
    assert Adam((a, b)).params == [a, b]


# ----- gradient norms --------------------------------------------------------------------
def _with_grads(*grads):
    tensors = []
    for g in grads:
        t = descend.tensor(np.zeros(np.shape(g)), requires_grad=True)
        t.grad = None if g is None else np.array(g, dtype=float)
        tensors.append(t)
    return tensors


def test_global_grad_norm_spans_all_gradients():
    # sqrt(3^2 + 4^2 + 12^2) = 13
    assert global_grad_norm(_with_grads([3.0, 4.0], [[12.0]])) == 13.0
    assert global_grad_norm(_with_grads([3.0, 4.0], None)) == 5.0
    assert global_grad_norm(_with_grads(None)) == 0.0
    assert global_grad_norm(_with_grads(2.0)[0]) == 2.0


def test_clip_grad_norm_scales_every_gradient_by_one_factor():
    a, b, c = _with_grads([3.0, 4.0], [[12.0]], None)
    norm = clip_grad_norm([a, b, c], max_norm=6.5)
    assert norm == 13.0
    scale = 6.5 / (13.0 + 1e-6)  # torch.nn.utils.clip_grad_norm_'s factor
    assert_allclose(a.grad, [3.0 * scale, 4.0 * scale], rtol=1e-15)
    assert_allclose(b.grad, [[12.0 * scale]], rtol=1e-15)
    assert c.grad is None
    assert global_grad_norm([a, b]) == pytest.approx(6.5, rel=1e-6)


def test_clip_grad_norm_leaves_small_gradients_alone():
    a, b = _with_grads([3.0, 4.0], [12.0])
    assert clip_grad_norm([a, b], max_norm=13.5) == 13.0
    assert_array_equal(a.grad, [3.0, 4.0])
    assert_array_equal(b.grad, [12.0])


def test_clip_grad_norm_leaves_non_finite_gradients_to_the_caller():
    (a,) = _with_grads([np.inf, 1.0])
    assert clip_grad_norm([a], max_norm=1.0) == math.inf
    assert_array_equal(a.grad, [np.inf, 1.0])


def test_clip_grad_norm_validates_max_norm():
    with pytest.raises(
        InputError, match=re.escape(_float_message("clip_grad_norm", "max_norm", "(0, inf)", 0.0))
    ):
        clip_grad_norm(_with_grads([1.0]), max_norm=0.0)
    with pytest.raises(InputError, match="Parameter 0 given to global_grad_norm is a list"):
        global_grad_norm([[1.0]])


# ----- by name -------------------------------------------------------------------------------
def test_optimizers_by_name():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"}
    expected = {
        "sgd": (SGD, {"momentum": 0.0, "nesterov": False}),
        "Momentum": (SGD, {"momentum": 0.9, "nesterov": False}),
        "NESTEROV": (SGD, {"momentum": 0.9, "nesterov": True}),
        "adam": (Adam, {"weight_decay": 0.0}),
        "AdamW": (AdamW, {"weight_decay": 0.01}),
        "rmsprop": (RMSprop, {"alpha": 0.99}),
        "adagrad": (Adagrad, {"eps": 1e-10}),
    }
    for name, (cls, settings) in expected.items():
        optimizer = make_optimizer(name, _w(), lr=0.05)
        assert type(optimizer) is cls
        assert optimizer.lr == 0.05
        for key, value in settings.items():
            assert getattr(optimizer, key) == value


def test_make_optimizer_keeps_the_default_rate_and_takes_overrides():
    assert make_optimizer("adam", _w()).lr == 0.001
    assert make_optimizer("sgd", _w()).lr == 0.01
    optimizer = make_optimizer("momentum", _w(), 0.1, momentum=0.5, weight_decay=0.1)
    assert (optimizer.momentum, optimizer.weight_decay) == (0.5, 0.1)


def test_make_optimizer_returns_an_optimizer_unchanged():
    optimizer = Adam(_w())
    assert make_optimizer(optimizer, _w(), lr=0.5) is optimizer
    assert optimizer.lr == 0.001


@pytest.mark.parametrize("name", ["adamax", "", None, 3])
def test_make_optimizer_lists_the_names_it_knows(name):
    message = (
        f"Unknown optimizer {name!r}. Choose one of 'sgd', 'momentum', 'nesterov', 'adam', "
        "'adamw', 'rmsprop', 'adagrad', or pass an Optimizer."
    )
    with pytest.raises(InputError, match=re.escape(message)):
        make_optimizer(name, _w(), lr=0.1)


def test_repr_shows_the_hyperparameters():
    assert repr(Adagrad(_w(), lr=0.5)) == (
        "Adagrad(lr=0.5, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10)"
    )


# ----- optional: the same numbers as PyTorch itself ------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_matches_torch_optim_when_torch_is_installed(case):
    torch = pytest.importorskip("torch")
    cls, _, hyper, _ = CASES[case]
    w = torch.tensor(P0.copy(), requires_grad=True)
    optimizer = getattr(torch.optim, cls.__name__)([w], **hyper)
    trajectory = []
    for g in GRADS:
        w.grad = torch.tensor(g.copy())
        optimizer.step()
        trajectory.append(w.detach().numpy().copy())
    assert_allclose(run_class(cls, hyper), trajectory, rtol=1e-12, atol=1e-15)
