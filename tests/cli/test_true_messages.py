"""Messages that used to name the wrong problem, and running out of memory: one line each."""

from __future__ import annotations

import numpy as np
import pytest

import descend.learn.blocks
from descend.cli.main import main

pytest.importorskip("pandas")


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"{a},{2 * a + 1},{3 * a - 1}" for a in range(12)]
    path.write_text("age,weight,inr\n" + "\n".join(rows) + "\n")
    return path


def one_error_line(capsys, args, status=2):
    assert main(args) == status
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("descend: error: "), err
    return err[len("descend: error: ") : -1]


@pytest.mark.parametrize("value", ["-inf", "-1e-3", "-5", "-.5", "nan"])
def test_a_negative_or_special_lr_is_checked_not_taken_for_a_flag(table, capsys, value):
    error = one_error_line(capsys, ["train", str(table), "--target", "inr", "--lr", value])
    assert error == (
        f"argument --lr: must be a number > 0, or 'auto'; got '{value}' (see 'descend train "
        "--help')"
    )


def test_negative_rates_of_a_sweep_are_checked(table, capsys):
    error = one_error_line(capsys, ["sweep", str(table), "--target", "inr", "--lrs", "-0.1,1"])
    assert error.startswith("argument --lrs: must be learning rates > 0 separated by commas")


def test_a_repeated_target_column_is_refused_not_trained_on(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("age,weight,inr,inr\n1,2,3,9\n2,3,4,8\n3,5,6,7\n")
    error = one_error_line(capsys, ["train", str(path), "--target", "inr"])
    named = f"'{path}' has more than one column named 'inr'"
    assert error == named + "; give every column a different name."


def test_one_row_and_an_infinite_target_say_what_is_wrong(tmp_path, capsys):
    one = tmp_path / "one.csv"
    one.write_text("a,y\n1,2\n")
    assert "has a single row" in one_error_line(capsys, ["train", str(one), "--target", "y"])
    inf = tmp_path / "inf.csv"
    inf.write_text("a,y\n1,2\n2,inf\n3,4\n")
    error = one_error_line(capsys, ["train", str(inf), "--target", "y"])
    assert error.startswith("Target 'y' has an infinite value (inf) in row 1")


def test_values_near_1e308_train_instead_of_being_called_missing(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("a,b,y\n1.5e308,1,2\n1.5e308,2,3\n-1e308,3,4\n1e308,4,3\n")
    assert main(["train", str(path), "--target", "y", "--quiet"]) == 0
    assert "missing value" not in capsys.readouterr().err


def test_running_out_of_memory_names_the_step_the_size_and_what_to_try(table, capsys, monkeypatch):
    def too_big(*args, **kwargs):
        return np.empty((2**20, 2**20, 2**10))  # 8 PiB: NumPy raises MemoryError at once

    monkeypatch.setattr(descend.learn.blocks, "accumulate", too_big)
    error = one_error_line(capsys, ["train", str(table), "--target", "inr"], status=2)
    assert error == (
        "Out of memory while training: an array of 8 PiB (1048576 x 1048576 x 1024 float64) did "
        "not fit. Try a smaller --batch-size, a smaller model (--hidden), fewer columns "
        "(--features) or fewer classes."
    )
