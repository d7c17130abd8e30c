"""Learning-rate schedules: each value against its formula, worked by hand."""

from __future__ import annotations

import json
import math
import re

import pytest
from numpy.testing import assert_allclose

from descend.errors import InputError
from descend.learn.schedules import (
    SCHEDULES,
    Constant,
    Cosine,
    Exponential,
    InverseScaling,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
    make_schedule,
)


def rates(schedule: Schedule, epochs, base_lr: float) -> list[float]:
    return [schedule(epoch, base_lr) for epoch in epochs]


def test_constant():
    assert rates(Constant(), [0, 1, 50], 0.3) == [0.3, 0.3, 0.3]


def test_step_decay_halves_every_three_epochs():
    expected = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1]
    assert rates(StepDecay(step_size=3, gamma=0.5), range(10), 0.8) == expected


def test_exponential():
    assert_allclose(
        rates(Exponential(gamma=0.9), [0, 1, 2, 10], 0.1),
        [0.1, 0.09, 0.081, 0.1 * 0.3486784401],
        rtol=1e-12,
    )


def test_cosine_anneals_from_the_base_rate_to_eta_min():
    # 0.1 + 1.0 * (1 + cos(pi * epoch / 4)) / 2, with cos(pi/4) = sqrt(2)/2
    half = math.sqrt(2) / 4
    expected = [1.1, 0.6 + half, 0.6, 0.6 - half, 0.1]
    assert_allclose(rates(Cosine(t_max=4, eta_min=0.1), range(5), 1.1), expected, rtol=1e-12)


def test_cosine_past_t_max_rises_again_as_pytorch_closed_form():
    assert_allclose(rates(Cosine(t_max=4), [6, 8], 1.0), [0.5, 1.0], atol=1e-15)


def test_inverse_scaling_is_scikit_learns_invscaling_with_t_epoch_plus_one():
    # eta0 / t ** power_t: t = 1, 4, 9 with power 0.5; t = 16 with the default 0.25
    assert_allclose(rates(InverseScaling(power_t=0.5), [0, 3, 8], 1.2), [1.2, 0.6, 0.4])
    assert InverseScaling()(15, 0.5) == 0.25


def test_closed_form_schedules_return_python_floats():
    for schedule in [Constant(), StepDecay(2), Exponential(0.5), Cosine(3), InverseScaling()]:
        assert type(schedule(1, 1)) is float


# ----- ReduceOnPlateau ------------------------------------------------------------------------
LOSSES = [5.0, 4.0, 4.1, 4.0, 3.9999, 4.2, 4.3, 4.4, 3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 2.0, 2.5, 2.6]


def plateau():
    return ReduceOnPlateau(factor=0.5, patience=1, threshold=0.01, min_lr=0.1, cooldown=2)


def test_reduce_on_plateau_follows_a_scripted_loss():
    # (loss read at the start of the epoch: the one of the epoch before)
    expected = [
        1.0,  # epoch 0: no loss yet
        1.0,  # 5.0: the first loss is the best
        1.0,  # 4.0 < 5.0 * 0.99: better
        1.0,  # 4.1: bad epoch 1, not more than patience 1
        0.5,  # 4.0 is not below 4.0 * 0.99 = 3.96: bad epoch 2 > patience: cut, cooldown 2
        0.5,  # 3.9999: a relative improvement under threshold, but cooldown (2 -> 1)
        0.5,  # 4.2: cooldown (1 -> 0)
        0.5,  # 4.3: bad epoch 1
        0.25,  # 4.4: bad epoch 2: cut, cooldown 2
        0.25,  # 3.0: better; cooldown (2 -> 1)
        0.25,  # 3.1: cooldown (1 -> 0)
        0.25,  # 3.2: bad epoch 1
        0.125,  # 3.3: bad epoch 2: cut, cooldown 2
        0.125,  # 3.4: cooldown
        0.125,  # 3.5: cooldown
        0.125,  # 2.0: better
        0.125,  # 2.5: bad epoch 1
        0.1,  # 2.6: bad epoch 2: cut to max(0.0625, min_lr 0.1)
    ]
    schedule = plateau()
    got = [schedule(0, 1.0, None)]
    got += [schedule(epoch, 1.0, loss) for epoch, loss in enumerate(LOSSES, start=1)]
    assert got == expected
    # at min_lr it stays there
    assert [schedule(epoch, 1.0, 9.0) for epoch in range(18, 24)] == [0.1] * 6


def test_reduce_on_plateau_counts_small_relative_improvements_as_bad():
    # threshold 0.1: a loss must fall below 0.9 * best to count as better
    schedule = ReduceOnPlateau(factor=0.1, patience=0, threshold=0.1)
    assert schedule(1, 1.0, 10.0) == 1.0
    assert schedule(2, 1.0, 8.9) == 1.0  # 8.9 < 9.0: better
    assert schedule(3, 1.0, 8.1) == pytest.approx(0.1)  # 8.1 is not below 8.01


def test_reduce_on_plateau_starts_at_the_first_base_rate_and_follows_a_cut_of_it():
    schedule = ReduceOnPlateau(patience=0, factor=0.5)
    assert schedule(0, 0.2) == 0.2
    assert schedule(1, 0.2, 1.0) == 0.2
    assert schedule(2, 0.2, 1.0) == 0.1  # its own reduction
    assert schedule(3, 0.02, 0.5) == pytest.approx(0.01)  # the base was cut tenfold (recovery)


def test_reduce_on_plateau_counts_an_epoch_once():
    schedule = ReduceOnPlateau(patience=0, factor=0.5)
    schedule(1, 1.0, 1.0)
    assert schedule(2, 1.0, 1.0) == 0.5
    assert schedule(2, 1.0, 1.0) == 0.5  # asked again for epoch 2: nothing new
    assert schedule(3, 1.0, 1.0) == 0.25


def test_reduce_on_plateau_state_dict_round_trip_continues_identically():
    schedule = plateau()
    for epoch, loss in enumerate(LOSSES[:7], start=1):
        schedule(epoch, 1.0, loss)
    saved = json.loads(json.dumps(schedule.state_dict()))
    assert saved == {
        "cuts": 1,
        "best": 4.0,
        "num_bad_epochs": 1,
        "cooldown_counter": 0,
        "last_epoch": 7,
    }
    resumed = plateau()
    resumed.load_state_dict(saved)
    rest = list(enumerate(LOSSES[7:], start=8))
    assert [resumed(e, 1.0, loss) for e, loss in rest] == [
        schedule(e, 1.0, loss) for e, loss in rest
    ]


def test_reduce_on_plateau_state_before_any_loss():
    assert ReduceOnPlateau().state_dict()["best"] == math.inf


def test_load_state_dict_rejects_other_keys():
    with pytest.raises(InputError, match=re.escape("with keys cuts, best, num_bad_epochs")):
        ReduceOnPlateau().load_state_dict({"cuts": 1})
    Cosine(3).load_state_dict({})
    with pytest.raises(
        InputError, match=re.escape("Cosine keeps no state, so its state_dict is {}")
    ):
        Cosine(3).load_state_dict({"lr": 0.1})


# ----- validation ------------------------------------------------------------------------
def _message(owner, name, kind, interval, value):
    return f"The '{name}' parameter of {owner} must be {kind} in {interval}. Got {value!r} instead."


BAD = [
    (StepDecay, {"step_size": 0}, ("StepDecay", "step_size", "an int", "[1, inf)", 0)),
    (StepDecay, {"step_size": 2.5}, ("StepDecay", "step_size", "an int", "[1, inf)", 2.5)),
    (StepDecay, {"step_size": True}, ("StepDecay", "step_size", "an int", "[1, inf)", True)),
    (StepDecay, {"step_size": 3, "gamma": 0}, ("StepDecay", "gamma", "a float", "(0, 1]", 0)),
    (StepDecay, {"step_size": 3, "gamma": 1.5}, ("StepDecay", "gamma", "a float", "(0, 1]", 1.5)),
    (Exponential, {"gamma": -0.5}, ("Exponential", "gamma", "a float", "(0, 1]", -0.5)),
    (Exponential, {"gamma": "0.9"}, ("Exponential", "gamma", "a float", "(0, 1]", "0.9")),
    (Cosine, {"t_max": 0}, ("Cosine", "t_max", "an int", "[1, inf)", 0)),
    (Cosine, {"t_max": 10, "eta_min": -1e-3}, ("Cosine", "eta_min", "a float", "[0, inf)", -1e-3)),
    (
        InverseScaling,
        {"power_t": -0.25},
        ("InverseScaling", "power_t", "a float", "[0, inf)", -0.25),
    ),
    (ReduceOnPlateau, {"factor": 1.0}, ("ReduceOnPlateau", "factor", "a float", "(0, 1)", 1.0)),
    (ReduceOnPlateau, {"factor": 0}, ("ReduceOnPlateau", "factor", "a float", "(0, 1)", 0)),
    (ReduceOnPlateau, {"patience": -1}, ("ReduceOnPlateau", "patience", "an int", "[0, inf)", -1)),
    (ReduceOnPlateau, {"threshold": 1}, ("ReduceOnPlateau", "threshold", "a float", "[0, 1)", 1)),
    (ReduceOnPlateau, {"min_lr": -1.0}, ("ReduceOnPlateau", "min_lr", "a float", "[0, inf)", -1.0)),
    (
        ReduceOnPlateau,
        {"cooldown": 1.5},
        ("ReduceOnPlateau", "cooldown", "an int", "[0, inf)", 1.5),
    ),
]


@pytest.mark.parametrize(("cls", "kwargs", "parts"), BAD)
def test_bad_arguments_are_named_in_the_error(cls, kwargs, parts):
    with pytest.raises(InputError, match=re.escape(_message(*parts))):
        cls(**kwargs)


# ----- by name -------------------------------------------------------------------------------
def test_schedules_by_name():
    assert set(SCHEDULES) == {"constant", "step", "exponential", "cosine", "invscaling", "plateau"}
    assert type(make_schedule("constant")) is Constant
    assert make_schedule("Step", step_size=5, gamma=0.5)(5, 1.0) == 0.5
    assert type(make_schedule("EXPONENTIAL", gamma=0.9)) is Exponential
    assert make_schedule("cosine", t_max=10).t_max == 10
    assert make_schedule("invscaling").power_t == 0.25
    assert make_schedule("plateau", patience=3).patience == 3


def test_make_schedule_returns_a_schedule_unchanged():
    schedule = Cosine(t_max=7)
    assert make_schedule(schedule) is schedule


@pytest.mark.parametrize("name", ["linear", None])
def test_make_schedule_lists_the_names_it_knows(name):
    message = (
        f"Unknown schedule {name!r}. Choose one of 'constant', 'step', 'exponential', "
        "'cosine', 'invscaling', 'plateau', or pass a Schedule."
    )
    with pytest.raises(InputError, match=re.escape(message)):
        make_schedule(name)


def test_repr_shows_the_settings():
    assert repr(ReduceOnPlateau(patience=3)) == (
        "ReduceOnPlateau(factor=0.1, patience=3, threshold=0.0001, min_lr=0.0, cooldown=0)"
    )


# ----- optional: the same rates as PyTorch's schedulers ----------------------------------------
def test_matches_torch_lr_schedulers_when_torch_is_installed():
    torch = pytest.importorskip("torch")
    sched = torch.optim.lr_scheduler

    def torch_rates(make, epochs, losses=None):
        """PyTorch's rate at the start of epochs 0..epochs (its step() ends an epoch)."""
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        scheduler = make(optimizer)
        out = [optimizer.param_groups[0]["lr"]]
        for epoch in range(epochs):
            optimizer.step()
            scheduler.step(*([] if losses is None else [losses[epoch]]))
            out.append(optimizer.param_groups[0]["lr"])
        return out

    step_decay = torch_rates(lambda o: sched.StepLR(o, 3, 0.5), 20)
    assert_allclose(rates(StepDecay(3, 0.5), range(21), 1.0), step_decay)
    exponential = torch_rates(lambda o: sched.ExponentialLR(o, 0.9), 20)
    assert_allclose(rates(Exponential(0.9), range(21), 1.0), exponential)
    cosine = torch_rates(lambda o: sched.CosineAnnealingLR(o, 7, 0.01), 20)
    assert_allclose(rates(Cosine(7, 0.01), range(21), 1.0), cosine, atol=1e-12)
    schedule = plateau()
    ours = [schedule(0, 1.0)] + [schedule(e, 1.0, loss) for e, loss in enumerate(LOSSES, start=1)]
    theirs = torch_rates(
        lambda o: sched.ReduceLROnPlateau(
            o, factor=0.5, patience=1, threshold=0.01, min_lr=0.1, cooldown=2
        ),
        len(LOSSES),
        LOSSES,
    )
    assert ours == theirs


def test_a_schedule_by_name_that_needs_parameters_says_which():
    with pytest.raises(InputError, match=r"The schedule 'step' needs 'step_size'; pass schedule="):
        make_schedule("step")


def test_fit_anneals_a_cosine_by_name_over_its_epochs():
    import numpy as np

    import descend
    from descend import nn

    X = np.linspace(0, 1, 10).reshape(-1, 1)
    h = descend.fit(nn.Linear(1, 1), X, X[:, 0], lr=0.1, epochs=4, schedule="cosine",
                    tol=None, verbose=False)  # fmt: skip
    assert_allclose(h.lr, [Cosine(t_max=4)(e, 0.1) for e in range(4)])
