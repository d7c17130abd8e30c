"""Tests for descend.understand.paths_section: the report's descent paths on one feature of
the user's data, at learning rates that are multiples of 1/L of that slice's loss surface."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from descend.errors import InputError
from descend.understand.paths_section import (
    PATH_FRACTIONS,
    _pick_feature,
    descent_section,
    path_rates,
)

RNG = np.random.default_rng(3)
FEATURES = np.column_stack([RNG.normal(size=80), np.ones(80), RNG.normal(size=80)])
TARGET = 0.2 * FEATURES[:, 0] + 3.0 * FEATURES[:, 2] + RNG.normal(0, 0.1, 80)


def test_the_rates_are_fractions_of_1_over_l_in_two_digits_and_the_runs_own():
    assert PATH_FRACTIONS == (0.1, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1)
    assert path_rates(4.0, 0.3) == [0.025, 0.075, 0.15, 0.23, 0.3, 0.38, 0.45, 0.53]
    assert path_rates(4.0, 0.2) == [0.025, 0.075, 0.15, 0.2, 0.23, 0.3, 0.38, 0.45, 0.53]
    assert len(path_rates(4.0, float("inf"))) == len(PATH_FRACTIONS)


def test_the_feature_is_the_one_named_or_the_one_most_correlated_with_the_target():
    names = ["age", "constant", "dose"]
    assert _pick_feature(FEATURES, TARGET, names, None) == 2  # a constant is never picked
    assert _pick_feature(FEATURES, TARGET, names, "age") == 0
    with pytest.raises(InputError, match=r"^The 'feature' parameter of report must be one of"):
        _pick_feature(FEATURES, TARGET, names, "weight")


def section(lr, features=FEATURES, target=TARGET):
    page = SimpleNamespace(scripts=[], plot=lambda name, figure: f'<div id="{name}"></div>')
    data = SimpleNamespace(
        features=features, target=target, names=["age", "constant", "dose"], task="regression",
        lr=lr, give_data="X and y",
    )  # fmt: skip
    return page, descent_section(page, data, None, epochs=5)


def test_the_section_names_the_curvature_of_the_slice_and_marks_the_runs_rate():
    x = FEATURES[:, 2]
    A = np.column_stack([x, np.ones_like(x)])
    L = float(np.linalg.eigvalsh(2 * A.T @ A / len(x)).max())  # the mse's Hessian in (w, b)
    page, text = section(0.3)
    assert f"curvature L = {L:.4g}" in text and f"1/L = {1 / L:.3g}" in text
    assert "weight × dose + bias" in text and '<div id="descent-path"></div>' in text
    (script,) = page.scripts
    rates = path_rates(L, 0.3)
    assert script.count("lr = ") == len(rates)
    assert "lr = 0.3 = " in script and "(this run's lr)" in script


def test_without_rows_or_with_several_targets_it_says_why_there_is_no_path():
    assert "give X and y" in section(0.1, features=None)[1]
    assert "one target" in section(0.1, target=np.ones((80, 2)))[1]
