"""Inputs for the gradient tables of tests/engine/test_ops.py (primitives) and
tests/engine/test_functional.py (composites): random float64 arrays away from the points
where an op has no derivative, and the cases that pair them with a function."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from descend import Tensor

RNG = np.random.default_rng(20240601)


def rand(*shape: int) -> np.ndarray:
    """Uniform in [-2, 2]."""
    return RNG.uniform(-2.0, 2.0, size=shape)


def positive(*shape: int) -> np.ndarray:
    """Uniform in [0.5, 2]: safe for log, sqrt and the base of a power."""
    return RNG.uniform(0.5, 2.0, size=shape)


def nonzero(*shape: int) -> np.ndarray:
    """|x| in [0.2, 2] with a random sign: away from the kink of abs and relu."""
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def grid(*shape: int, offset: float = 0.0) -> np.ndarray:
    """Distinct values on a grid of step 0.5 (plus ``offset``), shuffled: no ties."""
    n = math.prod(shape)
    return (RNG.permutation(n) * 0.5 - n * 0.25 + offset).reshape(shape)


@dataclass(frozen=True)
class Case:
    label: str
    fn: Callable[..., Tensor]
    inputs: tuple[np.ndarray, ...]


def case(label: str, fn: Callable[..., Tensor], *inputs: np.ndarray) -> Case:
    return Case(label, fn, tuple(np.asarray(x, dtype=np.float64) for x in inputs))
