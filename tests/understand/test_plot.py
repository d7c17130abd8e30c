"""The pictures of issue 5: drawn from the run's numbers, written as PNG files."""

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from descend import nn, plot
from descend.understand.sweep import descent_paths, sweep

pytest.importorskip("matplotlib")

X1 = np.array([[1.0], [-1.0]])
Y1 = np.array([1.0, -1.0])


@pytest.fixture
def drawn(monkeypatch):
    """The lines of every figure saved, as (x data, y data) per line of its first axes."""
    figures = []
    save = plot.save_figure

    def keep(figure, path):
        lines = figure.axes[0].get_lines()
        figures.append(
            [(np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)) for ln in lines]
        )
        return save(figure, path)

    monkeypatch.setattr(plot, "save_figure", keep)
    return figures


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_descent_path_draws_the_recorded_paths(tmp_path, drawn):
    path = plot.descent_path(tmp_path / "path.png", epochs=25)
    assert path == str(tmp_path / "path.png")
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    paths = descent_paths(epochs=25)
    lines = drawn[0]
    for (xs, ys), trail in zip(lines[:3], paths.paths):  # one line per learning rate
        np.testing.assert_allclose(xs, trail[:, 0])
        np.testing.assert_allclose(ys, trail[:, 1])
    np.testing.assert_allclose([lines[3][0][0], lines[3][1][0]], paths.optimum)


def test_descent_path_depends_on_the_data(tmp_path):
    x = np.array([0.0, 1.0, 2.0, 3.0])
    a = plot.descent_path(tmp_path / "a.png", x, 2 * x + 1, lrs=[0.01, 0.1, 0.2], epochs=10)
    b = plot.descent_path(tmp_path / "b.png", x, -x + 3, lrs=[0.01, 0.1, 0.2], epochs=10)
    assert digest(a) != digest(b)


def test_sweep_curves_draw_each_runs_losses(tmp_path, drawn):
    result = sweep(nn.Linear(1, 1, bias=False, init="zeros"), X1, Y1, lrs=[0.01, 0.3, 0.8, 3.0])
    path = plot.sweep_curves(result, tmp_path / "sweep.png")
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    lines = drawn[0]
    assert len(lines) == 5  # a curve per run, and an x where the diverged run (lr=3) leaves
    top = max(max(h.loss) for h in result.histories[:3])  # the runs that did not diverge
    for (xs, ys), history in zip(lines, result.histories):
        expected = np.array(history.loss)
        expected[~(expected <= top)] = np.nan  # losses above the others' are cut
        np.testing.assert_array_equal(xs, np.arange(history.epochs))
        np.testing.assert_allclose(ys, expected)
    diverged = np.array(result.histories[3].loss)
    assert lines[4][0].tolist() == [int(np.argmax(~(diverged <= top)))] and lines[4][1] == [top]
    other = sweep(nn.Linear(1, 1, bias=False, init="zeros"), X1, Y1, lrs=[0.05, 0.5])
    assert digest(plot.sweep_curves(other, tmp_path / "other.png")) != digest(path)


def test_text_chart_draws_zeros_and_non_finite_values():
    chart = plot.text_chart([1000.0, 1.0, 0.0])  # raised 'math domain error' (issue 10)
    lines = chart.splitlines()
    assert lines[0] == "Loss (log scale)"
    assert lines[1].endswith("│×") and lines[-3].endswith("│ ×_")  # 1000 on top, 1 and 0 below
    assert lines[-3].startswith("   1 │")
    assert lines[-1].strip() == "_: 0 or below, off the log scale"
    diverged = plot.text_chart([2.0, 1.0, math.inf, math.nan], height=4).splitlines()
    assert diverged[1] == "2 │× !!" and diverged[4] == "1 │ ×"
    assert diverged[-1].strip() == "!: not a finite number"
    assert plot.text_chart([0.0, 0.0]).splitlines()[-1].endswith("└──→ Epoch")  # flat at 0
    assert "(no finite values to draw)" in plot.text_chart([math.nan])
