"""Tests for descend.understand.figures: the run's own numbers in plotly figures (the loss
curve, the sweep, the descent paths), and JSON a page can hold."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from descend.learn.history import History
from descend.understand import figures
from descend.understand.sweep import descent_paths


# ----- numbers -------------------------------------------------------------------------
def test_loss_figure_plots_the_runs_numbers_and_marks_its_events() -> None:
    history = History(
        loss=[10.0, 1.0, 0.1, math.inf, 0.01],
        val_loss=[11.0, 1.5, 0.2, 0.3, 0.05],
        events=[{"epoch": 3, "event": "recovered", "loss": math.inf, "lr": 1.0, "new_lr": 0.1}],
    )
    figure = figures.loss_figure(history)
    train, val, event = figure["data"]
    assert train["y"] == [10.0, 1.0, 0.1, None, 0.01]  # infinity: a gap, not a number
    assert val["y"] == history.val_loss
    assert event["x"] == [3] and event["y"] == [10.0]  # off the chart: drawn at the top
    assert "lr cut to 0.1" in event["text"][0]
    assert figure["layout"]["yaxis"]["type"] == "log"  # 10 to 0.01 spans three decades


def test_json_for_a_page_has_no_nan_and_cannot_close_its_script_element():
    assert figures.to_json({"a": [math.nan, "</script>"]}) == '{"a": [null, "<\\/script>"]}'
    assert figures.finite([1.0, math.inf, -math.inf, 2.5]) == [1.0, None, None, 2.5]


def test_the_sweep_figure_plots_each_rate_circles_the_recommended_and_marks_1_and_2_over_l():
    rows = [
        {"lr": 0.01, "final_loss": 2.0, "verdict": "still_improving"},
        {"lr": 0.1, "final_loss": 0.01, "verdict": "converged"},
        {"lr": 1.0, "final_loss": math.inf, "verdict": "diverged"},
    ]
    result = SimpleNamespace(rows=lambda: rows, recommended_lr=0.1, lrs=[0.01, 0.1, 1.0])
    figure = figures.sweep_figure(result, curvature=4.0)
    runs, recommended = figure["data"]
    assert runs["x"] == [0.01, 0.1, 1.0] and runs["y"] == [2.0, 0.01, None]
    assert recommended["x"] == [0.1] and recommended["y"] == [0.01]
    assert [shape["x0"] for shape in figure["layout"]["shapes"]] == [0.25, 0.5]
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["1/L = 0.25", "2/L = 0.5"]
    assert figure["layout"]["yaxis"]["type"] == "log"  # 2 to 0.01: over two decades
    assert "shapes" not in figures.sweep_figure(result)["layout"]  # L unknown: no marks


def test_the_grid_is_a_square_around_the_minimum_and_the_paths_that_stay_near_it():
    W, B = figures.grid_around([[0.0, 0.0], [1.0, 1.0], [1e6, 1e6]], [1.0, 1.0], size=5)
    # the diverging point is left out: the box [0, 1]^2, widened by 0.575 + 0.05 of its size
    assert W == B == pytest.approx([-0.125, 0.1875, 0.5, 0.8125, 1.125], rel=1e-12)


def test_the_paths_figure_shows_one_path_at_a_time_on_the_loss_surface():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 2 * x + 1 + rng.normal(0, 0.1, 50)
    paths = descent_paths(x, y, lrs=[0.1, 0.5], epochs=10)
    figure = figures.paths_figure(paths, 1, "age", ["lr 0.1", "lr 0.5"])
    surface, first, second, minimum = figure["data"]
    assert (first["visible"], second["visible"]) == (False, True)
    assert second["x"] == paths.paths[1][:, 0].tolist()
    assert second["customdata"][3][1] == pytest.approx(
        float(paths.loss(paths.paths[1][3, 0], paths.paths[1][3, 1])), rel=1e-12
    )
    assert minimum["x"] == [paths.optimum[0]] and minimum["y"] == [paths.optimum[1]]
    assert len(surface["z"]) == len(surface["customdata"][0]) == figures.GRID
    assert figure["layout"]["title"]["text"] == "Gradient descent on the MSE of 'age' alone"
