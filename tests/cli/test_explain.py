"""Tests for descend.cli.explain: ``descend explain`` shows one step of gradient descent with
every number, on the lesson's patients or on a table."""

from __future__ import annotations

import descend
from descend.cli.main import main
from tests.cli.commands import DATA


def test_explain_without_data_is_the_lessons_patients(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert out == str(descend.explain()) + "\n"
    for step in ("Step 1 - Forward pass", "Step 2 - Loss", "Step 3 - Backward pass", "Step 4"):
        assert step in out


def test_explain_a_table_as_classification(binary_csv, capsys):
    assert main(["explain", binary_csv, "--target", "risk", "--lr", "0.5", "--rows", "4"]) == 0
    out = capsys.readouterr().out
    assert f"logistic regression on 4 rows of {binary_csv}" in out
    assert "The target y is 1 where the column 'risk' is 'normal' and 0 where it is 'high'." in out
    assert "Binary cross-entropy" in out and "learning rate 0.5." in out


def test_explain_errors(capsys):
    assert main(["explain", "--target", "inr"]) == 2
    assert "give the table too" in capsys.readouterr().err
    assert main(["explain", DATA]) == 2
    assert "explain DATA needs --target COL" in capsys.readouterr().err
    assert main(["explain", DATA, "--target", "inr", "--task", "classification"]) == 2
    assert "for two classes; y has 114" in capsys.readouterr().err
    assert main(["explain", "--rows", "0"]) == 2
    assert "--rows: must be a whole number >= 1" in capsys.readouterr().err
