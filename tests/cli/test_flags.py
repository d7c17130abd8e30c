"""Tests for descend.cli.flags: flag values checked as they are read, and the command that
repeats a run's flags."""

from __future__ import annotations

import argparse
import shlex
import shutil

import pytest

from descend.cli import flags
from descend.cli.main import main


def test_the_sweeps_next_command_repeats_its_training_flags(tables, tmp_path, capsys):
    data = tmp_path / "my data.csv"
    shutil.copy(tables["regression"], data)
    flags = ["--features", "age,weight", "--model", "mlp", "--hidden", "8,4", "--epochs", "5"]
    flags += ["--batch-size", "full", "--validation", "0.2", "--no-standardize", "--seed", "3"]
    assert main(["sweep", str(data), "--target", "inr", *flags, "--lrs", "0.01,0.1"]) == 0
    next_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert next_line.startswith(f"Next: descend train '{data}' --target inr --features age,weight")
    assert next_line.endswith(
        "--model mlp --hidden 8,4 --epochs 5 --batch-size full --validation 0.2 --seed 3 "
        "--no-standardize --lr 0.1"
    ) or next_line.endswith("--no-standardize --lr 0.01")
    words = shlex.split(next_line.removeprefix("Next: "))
    assert main([*words[1:4], *words[4:]]) == 0  # the suggestion runs as it is


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (flags.LR, "auto", "auto"),
        (flags.LR, "0.5", 0.5),
        (flags.LRS, "0.1, 1,3e-3", [0.1, 1.0, 0.003]),
        (flags.EPOCHS, "7", 7),
        (flags.COUNT, "0", 0),
        (flags.BATCH_SIZE, "full", "full"),
        (flags.BATCH_SIZE, "32", 32),
        (flags.FRACTION, "0.2", 0.2),
        (flags.NAMES, "age, weight", ["age", "weight"]),
        (flags.HIDDEN, "64,32", (64, 32)),
        (flags.NON_NEGATIVE, "0", 0.0),
    ],
)
def test_flag_values_are_read_as_the_library_takes_them(kind, text, value):
    assert kind(text) == value


@pytest.mark.parametrize(
    ("kind", "text", "rule"),
    [
        (flags.LR, "-1", "a number > 0, or 'auto'"),
        (flags.LR, "inf", "a number > 0, or 'auto'"),
        (flags.LRS, "0.1,zero", "learning rates > 0 separated by commas"),
        (flags.EPOCHS, "0", "a whole number >= 1"),
        (flags.EPOCHS, "2.5", "a whole number >= 1"),
        (flags.BATCH_SIZE, "none", "a whole number >= 1, or 'full'"),
        (flags.FRACTION, "1", "a fraction between 0 and 1"),
        (flags.NAMES, "age,,sex", "column names separated by commas"),
        (flags.HIDDEN, "8,0", "layer sizes >= 1 separated by commas"),
        (flags.NON_NEGATIVE, "-0.1", "a number >= 0"),
    ],
)
def test_a_bad_flag_value_names_the_rule_and_the_text_given(kind, text, rule):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        kind(text)
    assert str(caught.value).startswith(f"must be {rule}") and str(caught.value).endswith(
        f"; got {text!r}"
    )


def test_the_train_command_repeats_the_flags_given_and_the_rate_chosen():
    parser = argparse.ArgumentParser()
    flags.add_training_flags(parser)
    args = parser.parse_args(
        ["my data.csv", "--target", "y", "--hidden", "8,4", "--no-standardize", "--lr", "0.5",
         "--seed", "0", "--validation", "0.2"]
    )  # fmt: skip
    assert flags.train_command(args, 0.1) == (
        "descend train 'my data.csv' --target y --hidden 8,4 --validation 0.2 --no-standardize "
        "--lr 0.1"
    )  # the seed is the default: left out; the rate is the one chosen
