"""Tests for descend.learn.updates: each optimizer's update as a pure function of the
parameter, the gradient and the state (optax's way), and the same math written in place."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from tests.learn.rules import CASES, G1, G2, GRADS, P0


@pytest.mark.parametrize("case", CASES)
def test_the_pure_function_changes_none_of_its_inputs(case):
    _, update, hyper, _ = CASES[case]
    p, g = P0.copy(), G1.copy()
    _, state = update(p, g, {}, **hyper)
    saved = {key: np.copy(value) for key, value in state.items()}
    update(p, G2, state, **hyper)
    assert_array_equal(p, P0)
    assert_array_equal(g, G1)
    assert state.keys() == saved.keys()
    for key in state:
        assert_array_equal(state[key], saved[key])


@pytest.mark.parametrize("case", CASES)
def test_inplace_gives_the_pure_result_in_the_same_arrays(case):
    # what step() passes: the same math, written into the parameter and the state
    _, update, hyper, _ = CASES[case]
    pure_p, pure_state = P0.copy(), {}
    p, state = P0.copy(), {}
    for g in GRADS:
        pure_p, pure_state = update(pure_p, g, pure_state, **hyper)
        arrays = {key: value for key, value in state.items() if key != "step"}
        new_p, state = update(p, g.copy(), state, **hyper, inplace=True)
        assert new_p is p
        assert all(state[key] is value for key, value in arrays.items())
        assert_array_equal(p, pure_p)
        assert state.keys() == pure_state.keys()
        for key in state:
            assert_array_equal(state[key], pure_state[key])
