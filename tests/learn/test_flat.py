"""FlatParameters: the optimizer's update over one buffer gives the per-parameter update's bytes.

Every optimizer and setting runs twice on the same parameters and gradients,
once stepping each parameter in turn and once over the flat buffer; weights and
state must be equal bit for bit after every step, also when the two kinds of
step are mixed (a gradient that is not a view, a reset or loaded state).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import descend
from descend.errors import InputError
from descend.learn.flat import FlatParameters
from descend.learn.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

SHAPES = [(4, 3), (3,), (3, 2), (2,)]

OPTIMIZERS = {
    "sgd": functools.partial(SGD, lr=0.1),
    "sgd decay": functools.partial(SGD, lr=0.1, weight_decay=0.01),
    "momentum": functools.partial(SGD, lr=0.1, momentum=0.9),
    "nesterov": functools.partial(SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    "adam": functools.partial(Adam, lr=0.01),
    "adam decay amsgrad": functools.partial(Adam, lr=0.01, weight_decay=0.1, amsgrad=True),
    "adamw": functools.partial(AdamW, lr=0.01),
    "rmsprop": functools.partial(RMSprop, lr=0.01, momentum=0.5, centered=True),
    "adagrad": functools.partial(Adagrad, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
}


def bits(a) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def parameters(dtype=np.float32) -> list[descend.Tensor]:
    rng = np.random.default_rng(0)
    return [descend.tensor(rng.standard_normal(s), requires_grad=True, dtype=dtype) for s in SHAPES]


def gradients(step: int, dtype=np.float32) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def assert_same(a: Optimizer, b: Optimizer) -> None:
    for p, q in zip(a.params, b.params):
        assert bits(p.data) == bits(q.data)
    for s, t in zip(a.state, b.state):
        assert s.keys() == t.keys()
        for key in s:
            assert bits(s[key]) == bits(t[key])


class Counted(FlatParameters):
    """FlatParameters that remember whether each update ran over the buffer."""

    def update(self, *args) -> bool:
        done = super().update(*args)
        self.done.append(done)
        return done


def flat_pair(name: str, dtype=np.float32) -> tuple[Optimizer, Optimizer, Counted]:
    each = OPTIMIZERS[name](parameters(dtype))
    flat_params = parameters(dtype)
    flat = Counted(flat_params)
    flat.done = []
    at_once = OPTIMIZERS[name](flat_params)
    assert flat.attach(at_once)
    return each, at_once, flat


# ----- the buffer --------------------------------------------------------------------------
def test_parameters_keep_their_values_and_become_views_of_one_buffer() -> None:
    params = parameters()
    before = [p.data.copy() for p in params]
    flat = FlatParameters(params)
    assert flat.data.size == sum(int(np.prod(s)) for s in SHAPES)
    for p, values, view in zip(params, before, flat.views):
        assert p.data is view and p.data.base is flat.data
        assert bits(p.data) == bits(values)
    params[1].data[0] = 7.0
    assert flat.data[12] == 7.0  # the second parameter starts after the 4 x 3 one


def test_fits_needs_distinct_parameters_of_one_float_dtype() -> None:
    a, b = parameters()[:2]
    assert FlatParameters.fits([a, b])
    assert not FlatParameters.fits([])
    assert not FlatParameters.fits([a, a])
    assert not FlatParameters.fits([a, descend.tensor([1.0], requires_grad=True)])  # float64
    with pytest.raises(
        InputError,
        match=r"'params' parameter of FlatParameters must be at least one tensor, each listed once, of one floating dtype\. Got \[tensor",
    ):
        FlatParameters([a, a])


def test_attach_refuses_other_parameters_and_rules_that_are_not_elementwise() -> None:
    params = parameters()
    flat = FlatParameters(params)
    assert not flat.attach(SGD(params[:2]))

    class Scaled(SGD):  # a rule that looks at the whole parameter
        _update = staticmethod(lambda p, g, s, inplace=False, **h: (p - g / np.abs(g).max(), s))

    optimizer = Scaled(params)
    assert not flat.attach(optimizer) and optimizer.flat is None


# ----- the update ---------------------------------------------------------------------------
@pytest.mark.parametrize("arrives", ["in the buffer", "elsewhere"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_flat_update_equals_the_update_of_each_parameter(name, dtype, arrives) -> None:
    each, at_once, flat = flat_pair(name, dtype)
    for step in range(4):
        for p, q, g, view in zip(each.params, at_once.params, gradients(step, dtype), flat.grads):
            p.grad = g.copy()
            if arrives == "in the buffer":  # as the captured step writes them
                np.copyto(view, g)
                q.grad = view
            else:  # as eager backward makes them: the flat step copies them in
                q.grad = g.copy()
        each.step()
        at_once.step()
        assert_same(each, at_once)
        assert all(q.grad is g for q, g in zip(at_once.params, flat.grads))
    assert each.step_count == at_once.step_count == 4
    assert flat.done == [True] * 4
    for value in at_once.state[0].values():  # the state lives in the flat buffers
        assert isinstance(value, int) or value.base is not None


def test_steps_taken_one_parameter_at_a_time_work_on_the_same_memory() -> None:
    each, at_once, flat = flat_pair("adam")
    for step in range(6):
        for p, q, g in zip(each.params, at_once.params, gradients(step)):
            p.grad, q.grad = g.copy(), g.copy()
        if step % 2:  # a parameter moved out of the buffer: each one is updated in turn
            at_once.flat = None
        each.step()
        at_once.step()
        at_once.flat = flat
        assert_same(each, at_once)
    assert flat.done == [True, True, True]  # steps 0, 2 and 4


def test_a_reset_or_loaded_state_is_taken_into_the_buffer() -> None:
    each, at_once, flat = flat_pair("momentum")
    for step in range(5):
        if step == 2:
            each.reset_state()
            at_once.reset_state()
        if step == 4:
            saved = each.state_dict()
            each.load_state_dict(saved)
            at_once.load_state_dict(saved)
        for p, q, g in zip(each.params, at_once.params, gradients(step)):
            p.grad, q.grad = g.copy(), g.copy()
        each.step()
        at_once.step()
        assert_same(each, at_once)
        assert flat.done[-1]
        velocity = [state["velocity"] for state in at_once.state]
        assert velocity[0].base is not None and all(v.base is velocity[0].base for v in velocity)


def test_a_missing_gradient_falls_back_to_each_parameter() -> None:
    each, at_once, flat = flat_pair("adam")
    for step in range(3):
        for i, (p, q, g) in enumerate(zip(each.params, at_once.params, gradients(step))):
            grad = None if step == 1 and i == 2 else g
            p.grad = None if grad is None else grad.copy()
            q.grad = None if grad is None else grad.copy()
        each.step()
        at_once.step()
        assert_same(each, at_once)
    assert flat.done == [True, False, False]
    # parameter 2 missed a step: its count differs, so the state cannot be one buffer
    assert at_once.state[2]["step"] == 2 and at_once.state[0]["step"] == 3
    assert flat.update(at_once._update, at_once.state, at_once.hyperparameters()) is False


def test_a_parameter_whose_array_was_replaced_is_updated_on_its_own() -> None:
    each, at_once, flat = flat_pair("sgd")
    at_once.params[0].data = at_once.params[0].data.copy()
    for p, q, g in zip(each.params, at_once.params, gradients(0)):
        p.grad, q.grad = g.copy(), g.copy()
    each.step()
    at_once.step()
    assert_same(each, at_once)
    assert flat.done == [False] and at_once.params[1].data is flat.views[1]
