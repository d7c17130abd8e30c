"""Tests for descend.cli.output: what a person sees: the progress bar, aligned tables,
numbers, and the library's words (``lr=0.1``) shown as flags (``--lr 0.1``)."""

from __future__ import annotations

import io

import numpy as np

import descend
import descend.cli.output


def test_a_progress_bar_is_drawn_on_a_terminal():
    from rich.console import Console

    screen = io.StringIO()
    bar = descend.cli.output.ProgressBar(
        Console(file=screen, force_terminal=True, width=80), delay=0.0
    )
    X = np.linspace(0, 1, 20).reshape(-1, 1)
    descend.fit(descend.nn.Linear(1, 1), X, 2 * X[:, 0], epochs=5, tol=None, callbacks=[bar])
    assert "epoch" in screen.getvalue() and "5/5" in screen.getvalue()
    assert bar.bar is None  # taken off the screen at the end
