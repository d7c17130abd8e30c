"""Tests for descend.cli.flags: flag values checked as they are read, and the command that
repeats a run's flags."""

from __future__ import annotations

import shlex
import shutil

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
