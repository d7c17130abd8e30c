"""Tests for descend.cli.output: what a person sees: the progress bar, aligned tables,
numbers, and the library's words (``lr=0.1``) shown as flags (``--lr 0.1``)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

import descend
import descend.cli.output
from descend.cli import output
from descend.errors import InputError


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


@pytest.mark.parametrize(
    ("words", "flags"),
    [
        ("try lr=0.05, or pass recover=True", "try --lr 0.05, or pass --recover"),
        ("The 'epochs' parameter of fit must be an int", "--epochs must be an int"),
        ("use batch_size=None and standardize=False", "use --batch-size full and --no-standardize"),
        ("optimizer='nesterov' at lr=0.41", "--optimizer nesterov at --lr 0.41"),
        ("the model's loss=mse is kept", "the model's --loss mse is kept"),
        ("plr=0.1 and lr = 0.1 stay", "plr=0.1 and lr = 0.1 stay"),  # not a setting
    ],
)
def test_the_librarys_words_are_shown_as_the_flags_that_set_them(words, flags):
    assert descend.cli.output.in_flags(words) == flags


def test_every_parameter_named_has_a_flag_the_command_line_offers():
    from descend.cli.main import build_parser

    offered = set()
    for commands in build_parser()._subparsers._group_actions:
        for parser in commands.choices.values():
            offered |= {o for a in parser._actions for o in a.option_strings}
    assert set(descend.cli.output.FLAGS.values()) <= offered


def test_tables_align_the_first_column_left_and_the_others_right():
    text = output.table(
        [["", "train", "validation"], ["r2", "0.9871", "0.95"], ["mse", "12.5", "3"]]
    )
    assert text.splitlines() == [
        "         train   validation",
        "  r2    0.9871         0.95",
        "  mse     12.5            3",
    ]
    scores = output.score_lines(
        {"train": {"r2": 0.98712, "n": 3}, "validation": {"r2": 0.5, "n": 2}}
    )
    assert scores.splitlines() == ["        train   validation", "  r2   0.9871       0.5000"]


def test_numbers_lists_and_counts_for_people():
    assert output.number(0.000123456) == "0.0001235" and output.number(2.0) == "2.000"
    assert output.shown(["a", "b"]) == "'a', 'b'"
    assert output.shown(list(range(8)), limit=3, quote=False) == "0, 1, 2 and 5 more"
    assert output.plural(1, "row") == "1 row" and output.plural(0, "row") == "0 rows"


def test_a_report_too_large_for_memory_is_refused_before_it_is_made():
    output.check_report_size(1_000_000, 10)  # 240 MB of probabilities: fine
    with pytest.raises(InputError, match=r"^The target has 20,000 classes: scoring 1,000 rows"):
        output.check_report_size(1_000, 20_000)  # 6.9 GB of confusion matrix


def test_results_are_printed_unless_json_and_json_only_with_json(capsys):
    say = output.Say(quiet=True)
    say.human("not shown")
    say.results("lr=0.1 kept")
    say.json({"lr": 0.1})
    assert capsys.readouterr().out == "--lr 0.1 kept\n"
    as_json = output.Say(as_json=True)
    as_json.results("not shown")
    as_json.json({"loss": math.nan, "lr": 0.1})
    assert json.loads(capsys.readouterr().out) == {"loss": None, "lr": 0.1}
