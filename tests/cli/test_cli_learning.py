"""The learning commands of the command line: sweep, explain, and what train says about a run
(the diagnosis, --lr auto, --recover)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import descend
from descend import nn
from descend.cli.main import main
from descend.datasets import load_patients, patients_path

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

DATA = patients_path()  # age, weight, creatinine, inr
SRC = os.path.dirname(os.path.dirname(descend.__file__))


def standardised():
    X, y, _ = load_patients()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.fixture
def binary_csv(tmp_path):
    df = pd.read_csv(DATA)
    df["risk"] = np.where(df.pop("inr") > 2.5, "high", "normal")
    path = tmp_path / "risk.csv"
    df.to_csv(path, index=False)
    return str(path)


# ----- sweep --------------------------------------------------------------------------------
def test_sweep_subprocess_prints_the_table_recommends_and_draws(tmp_path):
    picture = tmp_path / "sweep.png"
    done = subprocess.run(
        [sys.executable, "-m", "descend", "sweep", DATA, "--target", "inr",
         "--lrs", "0.01,0.1,0.3,1", "--epochs", "100", "--plot", str(picture)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "once for each of 4 learning rates" in out
    assert "     0.3      0.02228                   4  converged   <- recommended" in out
    # the loss of the weights returned: Divergence put the first ones back (issue 10)
    assert "       1        5.299     (stopped at 21)  diverged" in out
    assert "Recommended: --lr 0.3. It is the largest learning rate" in out
    assert f"Wrote the loss curves: {picture}" in out
    assert picture.read_bytes()[:4] == b"\x89PNG" and picture.stat().st_size > 20_000
    assert done.stderr == ""


def test_sweep_json_matches_the_python_sweep(capsys):
    assert main(["sweep", DATA, "--target", "inr", "--lrs", "0.001,0.1,0.6,3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    X, y = standardised()  # what the command's Regressor feeds the model
    expected = descend.sweep(nn.Linear(3, 1, init="zeros"), X, y, lrs=[0.001, 0.1, 0.6, 3.0])
    assert result["recommended_lr"] == expected.recommended_lr == 0.1
    assert [r["verdict"] for r in result["runs"]] == [
        "still_improving",
        "converged",
        "converged",  # 1.4/L: it zig-zags, but into the tolerance (issue 10: converged is the gap)
        "diverged",
    ]
    assert "Larger rates zig-zagged (0.6) or diverged (3)." in result["reason"]
    for got, want in zip(result["runs"], expected.rows()):
        assert got["final_loss"] == pytest.approx(want["final_loss"], rel=1e-9)
        assert got["epochs_to_converge"] == want["epochs_to_converge"]
    assert result["max_epochs"] == 100 and result["reason"] == expected.reason


def test_sweep_refuses_lr_and_bad_lrs(capsys, tmp_path):
    assert main(["sweep", DATA, "--target", "inr", "--lr", "0.1"]) == 2
    assert "a sweep tries several: give them with --lrs" in capsys.readouterr().err
    assert main(["sweep", DATA, "--target", "inr", "--lrs", "0.1,zero"]) == 2
    assert "--lrs: must be learning rates > 0 separated by commas" in capsys.readouterr().err
    picture = tmp_path / "curves.jpg"
    assert main(["sweep", DATA, "--target", "inr", "--plot", str(picture)]) == 2
    assert "--plot writes a PNG picture" in capsys.readouterr().err
    assert not picture.exists()


def test_sweep_of_a_classifier(binary_csv, capsys):
    assert main(["sweep", binary_csv, "--target", "risk", "--lrs", "0.1,1,100", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("      lr   final loss")
    assert "Recommended: --lr " in out


# ----- explain ------------------------------------------------------------------------------
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


# ----- train: the diagnosis, --lr auto, --recover -------------------------------------------
def test_train_prints_the_diagnosis_after_the_stop_line_and_saves_it(capsys, tmp_path):
    model = str(tmp_path / "m.descend")
    flags = ["train", DATA, "--target", "inr", "--lr", "0.8", "--epochs", "40"]  # 1.9/L
    assert main([*flags, "--save", model]) == 0
    out = capsys.readouterr().out
    assert out.index("Stopped: max_epochs.") < out.index("Diagnosis: oscillating.")
    assert "Suggestion: Lower the learning rate to --lr 0.4 (it was 0.8)" in out
    assert descend.load(model).history_.diagnosis["verdict"] == "oscillating"
    assert main([*flags, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stopped: max_epochs.") and "\nDiagnosis: oscillating." in out
    # 1.2/L zig-zags too, but into the tolerance: the stop line and the verdict agree
    assert main(["train", DATA, "--target", "inr", "--lr", "0.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stopped: converged.") and "\nDiagnosis: converged." in out
    assert "zig-zagged across the minimum" in out


def test_train_lr_auto_says_what_it_picked(capsys):
    assert main(["train", DATA, "--target", "inr", "--lr", "auto", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lr"] == 0.41  # 1/L, rounded down (issue 10: from the curvature, no sweep)
    assert result["diagnosis"]["verdict"] == "converged"
    assert result["diagnosis"]["gap"]["method"] == "least squares"
    assert main(["train", DATA, "--target", "inr", "--lr", "auto", "--log-every", "0"]) == 0
    out = capsys.readouterr().out
    assert "--lr auto: picked --lr 0.41 and momentum=0.093 from the curvature. lr = 1/L" in out


def test_train_recover_cuts_the_learning_rate_and_carries_on(capsys):
    assert main(["train", DATA, "--target", "inr", "--lr", "3", "--recover"]) == 0
    out = capsys.readouterr().out
    assert (
        "diverged; the weights from epoch 0 were restored and the learning rate cut from 3 to 0.3"
        in out
    )
    assert "Stopped: converged." in out
    assert "Suggestion: Start at --lr 0.3 next time: it took one recovery to get there." in out
    assert main(["train", DATA, "--target", "inr", "--lr", "3"]) == 0  # without: it stops
    out = capsys.readouterr().out
    assert "Stopped: diverged." in out and "Diagnosis: diverged." in out


# ----- suggestions as flags, followed (issue 10) ----------------------------------------------
def _flags_of(suggested):
    """The command line's flags for a diagnosis' suggested settings."""
    from descend.cli.output import FLAGS

    words = []
    for name, value in suggested.items():
        words += [FLAGS[name], str(value)]
    return words


def test_a_separable_table_is_told_to_use_alpha_and_the_flag_gives_the_loss_a_minimum(
    capsys, tmp_path
):
    sklearn = pytest.importorskip("sklearn.datasets")
    X, y = sklearn.load_breast_cancer(return_X_y=True)
    path = tmp_path / "cancer.csv"
    pd.DataFrame(X, columns=[f"x{j}" for j in range(30)]).assign(y=y).to_csv(path, index=False)
    assert main(["train", str(path), "--target", "y", "--epochs", "300", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["diagnosis"]
    assert first["verdict"] == "separable" and set(first["suggested"]) == {"alpha"}
    assert first["suggested"]["alpha"] == 1.0  # scikit-learn's units: C = 1 / alpha = 1
    assert main(["train", str(path), "--target", "y", "--epochs", "300", "--quiet"]) == 0
    assert f"--alpha {first['suggested']['alpha']:g}" in capsys.readouterr().out  # as a flag
    # issue 10: printed as it runs (not --quiet), the advice was in fit's per-row units (0.0022)
    assert main(["train", str(path), "--target", "y", "--epochs", "300"]) == 0
    out = capsys.readouterr().out
    assert "--alpha 1 (" in out and "--alpha 0." not in out
    again = ["train", str(path), "--target", "y", "--epochs", "300", "--json"]
    assert main(again + _flags_of(first["suggested"])) == 0
    second = json.loads(capsys.readouterr().out)["diagnosis"]
    assert second["verdict"] == "converged" and second["gap"]["optimum"] > 0.01
    assert main(["train", str(path), "--target", "y", "--epochs", "300", "--alpha", "1"]) == 0
    out = capsys.readouterr().out  # the loss with its penalty, the scores without: said so
    assert "(all rows, with L2)" in out and "the diagnosis adds the L2 penalty" in out


def test_the_alpha_flag_is_described_in_scikit_learns_units(capsys):
    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "scikit-learn's units" in out and "LogisticRegression(C=1/F)" in out


def test_early_stopping_keeps_the_best_validation_weights_and_needs_validation(capsys):
    flags = ["train", DATA, "--target", "inr", "--model", "mlp", "--epochs", "300", "--lr", "0.03"]
    assert main([*flags, "--early-stopping"]) == 2
    assert "--early-stopping watches the validation loss: add --validation 0.2" in (
        capsys.readouterr().err
    )
    assert main([*flags, "--validation", "0.3", "--early-stopping", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stop_reason"] == "early_stopping" and result["epochs"] < 300
