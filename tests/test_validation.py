"""The one declarative parameter check: every constrained parameter of every public
constructor and function refuses a value outside its constraints, in one message format."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest

import descend
import descend.estimators  # noqa: F401  (registers the estimators' constraints)
from descend import _validation, nn
from descend._validation import REGISTRY, Interval, Options, Pair, check, message
from descend.errors import InputError


def _playground() -> None:
    """The playground's ``serve`` registers its constraints when its module is imported,
    which needs starlette (the playground extras): without them, it has nothing to check."""
    with contextlib.suppress(ImportError):
        import descend.playground.app  # noqa: F401


_playground()

X = np.linspace(0, 1, 12).reshape(-1, 1)
Y = 2 * X[:, 0] + 1


def _param() -> list:
    return [descend.tensor([1.0], requires_grad=True)]


CALLS = {  # how to call each owner with valid arguments, plus the ones under test
    "SGD": lambda cls, **kw: cls(_param(), **kw),
    "Adam": lambda cls, **kw: cls(_param(), **kw),
    "AdamW": lambda cls, **kw: cls(_param(), **kw),
    "RMSprop": lambda cls, **kw: cls(_param(), **kw),
    "Adagrad": lambda cls, **kw: cls(_param(), **kw),
    "StepDecay": lambda cls, **kw: cls(**{"step_size": 2, **kw}),
    "Exponential": lambda cls, **kw: cls(**{"gamma": 0.5, **kw}),
    "Cosine": lambda cls, **kw: cls(**{"t_max": 3, **kw}),
    "Linear": lambda cls, **kw: cls(**{"in_features": 2, "out_features": 1, **kw}),
    "MLP": lambda cls, **kw: cls(**{"sizes": [2, 3, 1], **kw}),
    "fit": lambda f, **kw: f(nn.Linear(1, 1), X, Y, **{"epochs": 2, "verbose": False, **kw}),
    "sweep": lambda f, **kw: f(nn.Linear(1, 1), X, Y, **{"lrs": [0.1], "epochs": 2, **kw}),
    "diagnose": lambda f, **kw: f(**{"history": descend.History(loss=[1.0, 0.5]), **kw}),
    "explain": lambda f, **kw: f(**kw),
    "train_validation_split": lambda f, **kw: f(**{"n_rows": 10, "fraction": 0.2, **kw}),
    "batch_indices": lambda f, **kw: list(f(**{"n_rows": 10, "batch_size": 3, **kw})),
    "row_blocks": lambda f, **kw: list(f(**{"n_rows": 10, "block_size": 3, **kw})),
    "Regressor": lambda cls, **kw: cls(**kw).fit(X, Y),
    "Classifier": lambda cls, **kw: cls(**kw).fit(X, (Y > 2).astype(int)),
}
LOSSES = ("mse", "mae", "huber", "binary_cross_entropy", "bce_with_logits", "cross_entropy")
for _name in LOSSES:
    CALLS[_name] = lambda f, **kw: f(descend.tensor([[0.5], [0.2]]), np.array([1.0, 0.0]), **kw)
CALLS["cross_entropy"] = lambda f, **kw: f(descend.tensor([[0.5, 0.1]]), np.array([1]), **kw)

PUBLIC = {  # entry points that must declare their constraints
    "fit", "sweep", "diagnose", "explain", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "StepDecay", "Exponential", "Cosine", "InverseScaling", "ReduceOnPlateau", "Convergence",
    "EarlyStopping", "Divergence", "Linear", "MLP", "Dropout", "Preprocessor", "Regressor",
    "Classifier", "train_validation_split", "batch_indices", "row_blocks", *LOSSES,
    "curvature", "choose_rate", "gradcheck", "text_chart", "optimisation_gap", "evaluate_loss",
    "report", "FlatParameters", "Checkpoint",
}  # fmt: skip

CASES = [
    (owner, name, parameter, allowed)
    for owner, name, constraints in REGISTRY
    for parameter, allowed in constraints.items()
]


def test_every_public_entry_point_declares_its_constraints():
    assert {name for _, name, _ in REGISTRY} >= PUBLIC


def _refused_by_all(allowed):
    for candidate in [c.invalid() for c in allowed] + ["bogus", -1.5, 3j, object()]:
        if not any(c.satisfied(candidate) for c in allowed):
            return candidate
    raise AssertionError(f"no value breaks all of {allowed}")


@pytest.mark.parametrize(
    ("owner", "name", "parameter", "allowed"),
    CASES,
    ids=[f"{name}-{parameter}" for _, name, parameter, _ in CASES],
)
def test_an_invalid_value_is_refused_with_the_one_message(owner, name, parameter, allowed):
    value = _refused_by_all(allowed)
    call = CALLS.get(name, lambda f, **kw: f(**kw))
    with pytest.raises(InputError) as caught:
        call(owner, **{parameter: value})
    shown = name.split(".")[-1]
    assert str(caught.value) == message(shown, parameter, allowed, value)
    assert re.fullmatch(rf"The '{parameter}' parameter of {shown} must be .+\. Got .+ instead\.",
                        str(caught.value))  # fmt: skip


def test_the_message_names_every_allowed_form():
    allowed = [Interval(float, 0, None, "neither"), Options("auto"), _validation.NONE]
    assert message("fit", "lr", allowed, -1) == (
        "The 'lr' parameter of fit must be a float in (0, inf), 'auto' or None. Got -1 instead."
    )
    assert Pair(Interval(float, 0, 1, "left")).describe() == "a pair of floats, each in [0, 1)"
    with pytest.raises(InputError, match=r"an int in \[1, inf\)\. Got True instead"):
        check("f", {"n": [Interval(int, 1, None, "left")]}, {"n": True})  # a bool is no int
    check("f", {"n": [Interval(int, 1, None, "left")]}, {"n": np.int64(3)})


def test_the_playground_server_is_checked_too():
    pytest.importorskip("starlette")
    assert "serve" in {name for _, name, _ in REGISTRY}


def test_a_rule_between_parameters_is_checked_after_each_alone():
    from descend._validation import Requires

    rules = [Requires("nesterov", True, "momentum", lambda m: m > 0, "momentum > 0", "Fix it.")]
    constraints = {"momentum": [Interval(float, 0, 1, "left")]}
    check("SGD", constraints, {"nesterov": True, "momentum": 0.5}, rules)
    check("SGD", constraints, {"nesterov": False, "momentum": 0}, rules)
    with pytest.raises(InputError, match=r"^The 'momentum' parameter of SGD must be a float"):
        check("SGD", constraints, {"nesterov": True, "momentum": -1}, rules)
    with pytest.raises(InputError) as caught:
        check("SGD", constraints, {"nesterov": True, "momentum": 0}, rules)
    assert str(caught.value) == (
        "The 'nesterov' parameter of SGD needs momentum > 0; got momentum=0. Fix it."
    )
