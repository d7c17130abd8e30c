"""The real command line under Ctrl-C and SIGKILL (subprocesses, tests/cli/signals.py): never a
traceback, never a lost model once an epoch has finished, exit 130 before that; a killed run
leaves its targets old, complete or absent, and the next run removes its temporary files;
the same seed gives the same model file, byte for byte.

The earliest moment is the first import after the hook that ``descend/__init__.py`` installs
as its first statement. Before it runs only CPython's own start-up (its ``site`` module; for
``python -m``, runpy; the import system finding the package): no code of descend runs yet, so
a Ctrl-C there is Python's (a traceback, or "Fatal Python error: init_import_site"): the first
20 ms or so of the half second a command takes to start."""

from __future__ import annotations

import signal

import numpy as np
import pytest

import descend
from descend.cli.main import NOTHING_CUT, STOPPED_EARLY

from .signals import (
    TARGETS,
    complete,
    epoch_lines,
    kill_loop,
    run_until,
    temporary_files,
    train_args,
    training_table,
)

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

STARTING = "descend: interrupted while starting; nothing was written."
NOTHING = "descend: interrupted; nothing was written."
KEPT = STOPPED_EARLY  # training stopped, or a step (the scores) skipped
DONE = NOTHING_CUT  # the Ctrl-C came once the work was done: while the files were written
SKIPPED = "(The scores were skipped: interrupted.)"

TRAIN_MOMENTS = [
    ("import", "enum", 0.0),  # the first module descend/__init__.py imports after its hook
    ("import", "numpy.version", 0.0),  # the package's first import of its own modules
    ("import", "numpy", 0.0),
    ("import", "descend.learn.nn", 0.0),
    ("import", "descend.cli.main", 0.0),  # the command line imported, not yet parsing
    ("import", "pandas.compat.numpy", 0.0),  # reading the table: pandas being imported
    ("import", "pandas.io.api", 0.0),  # reading the table: parsing it
    ("out", "Read ", 0.0),  # choosing the model
    ("out", "Training an", 0.0),  # preprocessing, epoch 0
    ("out", "Epoch   0", 0.0),
    ("out", "Epoch   3", 0.0),
    ("out", "Epoch  12", 0.02),
    ("out", "Epoch  28", 0.0),
    ("out", "Epoch  29", 0.0),  # after the last epoch: final loss, diagnosis
    ("out", "Stopped:", 0.0),  # the scores
    ("import", "PIL", 0.0),  # drawing the loss curve, while the model waits to be published
    ("import", "matplotlib.pyplot", 0.0),
    ("out", "Wrote the model", 0.0),  # published; printing
]
SWEEP_MOMENTS = [
    ("out", "Training a", 0.0),  # before any rate finished
    ("out", "  --lr 0.001:", 0.0),
    ("out", "  --lr 0.01:", 0.0),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    return training_table(tmp_path_factory.mktemp("data") / "data.csv")


def check_one_line(run, moment):
    """No traceback; a run that stopped on Ctrl-C says so on one line, exit status 130."""
    assert run.seen, f"{moment}: the awaited line never came: {run.out[-300:]}{run.err}"
    assert "Traceback" not in run.err and "Exception ignored" not in run.err, run.err
    if run.returncode == 0:  # the run ended before the signal came
        assert run.lines == [], run.err
        return
    line = STARTING if moment[0] == "import" and run.returncode == -signal.SIGINT else None
    assert run.returncode == 130 or line, (run.returncode, run.err)
    assert len(run.lines) == 1 and run.lines[0] in (STARTING, NOTHING, KEPT, DONE), run.err


@pytest.mark.parametrize("moment", TRAIN_MOMENTS, ids=lambda m: f"{m[0]}:{m[1].strip()}")
def test_ctrl_c_during_train_never_loses_a_model_and_never_shows_a_traceback(
    data, tmp_path, moment
):
    run = run_until(train_args(data), moment[:2], signal.SIGINT, tmp_path, moment[2])
    check_one_line(run, moment)
    assert temporary_files(tmp_path) == []
    finished = epoch_lines(run.out)
    if not finished:  # nothing learned: nothing written
        assert sorted(p.name for p in tmp_path.iterdir()) == []
        assert run.lines in ([STARTING], [NOTHING]), run.err
        return
    written = sorted(p.name for p in tmp_path.iterdir())
    assert all(complete(tmp_path, name) for name in TARGETS), (run.returncode, run.err, written)
    model = descend.load(tmp_path / "m.descend")
    assert model.history_.epochs == finished  # the epochs it printed, all kept
    if run.returncode and "Stopped: interrupted." in run.out:
        assert model.history_.stop_reason == "interrupted"
    cut = model.history_.stop_reason == "interrupted" or SKIPPED in run.out
    assert run.returncode == 0 or run.lines == [KEPT if cut else DONE], (run.err, run.out[-300:])


@pytest.mark.parametrize("moment", SWEEP_MOMENTS, ids=lambda m: m[1].strip())
def test_ctrl_c_during_sweep_stops_at_once_and_reports_the_rates_finished(data, tmp_path, moment):
    args = ["sweep", str(data), "--target", "y", "--model", "mlp", "--epochs", "4"]
    args += ["--lrs", "0.0001,0.001,0.01,0.1,1", "--plot", "s.png"]
    run = run_until(args, moment[:2], signal.SIGINT, tmp_path, moment[2])
    check_one_line(run, moment)
    assert temporary_files(tmp_path) == []
    finished = [line for line in run.out.splitlines() if line.startswith("  --lr ")]
    if not finished:
        assert list(tmp_path.iterdir()) == [] and run.lines == [NOTHING]
        return
    table = [line for line in run.out.splitlines() if line[:8].strip().replace(".", "").isdigit()]
    assert len(table) == len(finished)  # one row per run that finished, no more
    assert complete(tmp_path, "s.png")
    if run.returncode:
        assert f"interrupted after {len(finished)} of 5 learning rates" in run.out


def test_sigkill_leaves_old_or_complete_targets_and_the_next_run_cleans_up(tmp_path):
    tally = kill_loop(tmp_path, kills=8, epochs=10)  # `make kill-loop`: 200 kills, 30 epochs
    assert tally.broken == []
    assert tally.kills == 8 and tally.in_writing >= 1
    assert tally.states.get("absent", 0) >= 1  # a run in a fresh folder, killed early
    assert temporary_files(tmp_path / "out") == [] and temporary_files(tmp_path / "fresh") == []


REPRODUCED = {
    "linear, full batch": ("y", ["--epochs", "20"]),
    "mlp, minibatches, validation": ("y", ["--model", "mlp", "--epochs", "3", "--validation", "0.2"]),
    "streamed": ("y", ["--stream", "--block-size", "100", "--epochs", "5"]),
    "logistic, full batch": ("two", ["--epochs", "20"]),
    "logistic, minibatches, validation": (
        "two", ["--epochs", "5", "--batch-size", "16", "--validation", "0.2"],
    ),
    "softmax, full batch, validation": ("three", ["--epochs", "20", "--validation", "0.3"]),
    "softmax mlp, minibatches, validation, early stopping": (
        "three", ["--model", "mlp", "--epochs", "5", "--validation", "0.3", "--early-stopping"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("target, flags", REPRODUCED.values(), ids=REPRODUCED.keys())
def test_two_runs_with_the_same_seed_write_the_same_model_file_byte_for_byte(
    data, tmp_path, target, flags
):
    """Each run in a process of its own (its own hash seed, its own wall clock)."""
    table = pd.read_csv(data)
    table["two"] = np.where(table.y > table.y.median(), "high", "low")
    table["three"] = pd.qcut(table.y, 3, labels=["low", "mid", "high"]).astype(str)
    table.drop(columns=[c for c in ("y", "two", "three") if c != target]).to_csv(
        tmp_path / "t.csv", index=False
    )
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        args = ["train", str(tmp_path / "t.csv"), "--target", target, "--seed", "3", *flags]
        run = run_until([*args, "--save", "m.descend"], ("out", "never"), 0, tmp_path / folder)
        assert run.returncode == 0, run.err
    first, second = ((tmp_path / f / "m.descend").read_bytes() for f in ("a", "b"))
    assert first == second
