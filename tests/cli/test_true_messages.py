"""Messages that used to name the wrong problem, and running out of memory: one line each."""

from __future__ import annotations

import json

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


@pytest.mark.parametrize("stream", [False, True])
def test_a_target_near_1e308_is_refused_in_one_line_before_training(tmp_path, capsys, stream):
    """Not eleven NumPy overflow warnings, exit 0 and a model whose loss is inf: one line
    naming the value, the limit and the fix, and nothing written. Streamed with more distinct
    values than the target sample keeps, the huge one in the last block."""
    rows = [f"{i},{i % 7},{i * 0.5}" for i in range(1500)] + ["1,1,1.7e308"]
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    args = ["train", str(path), "--target", "y", "--save", str(tmp_path / "m.descend")]
    error = one_error_line(capsys, args + ["--stream", "--block-size", "100"] * stream)
    assert error == (
        "Target 'y' holds 1.7e+308; a regression target's values must be smaller than 1e150 in "
        "size, or their squared errors overflow float64 (the loss would be inf). Divide the "
        "column by 1e308 (and multiply the predictions by it)."
    )
    assert not (tmp_path / "m.descend").exists()


def test_following_the_advice_for_a_huge_target_trains_to_a_finite_loss(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = (3 * x + rng.normal(0, 0.1, 200)) * 1e307
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    assert "Divide the column by 1e307" in one_error_line(
        capsys, ["train", str(path), "--target", "y"]
    )
    path.write_text(
        "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), (y / 1e307).tolist()))
    )
    assert main(["train", str(path), "--target", "y", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out)["metrics"]["training"]["r2"] > 0.99
