"""Tests for descend.cli.train: ``descend train`` reads the table, chooses the model (and says
which), trains, prints what it did and writes only what it was asked to."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

import descend
from descend.cli.main import main
from descend.cli.train import choose_model
from tests.cli.commands import DATA, patients, pd


def test_train_writes_plot_history_and_model_and_says_so(tables, tmp_path, capsys):
    files = {name: str(tmp_path / name) for name in ("m.descend", "loss.png", "h.csv")}
    status = main(
        [
            "train",
            tables["binary"],
            "--target",
            "risk",
            "--epochs",
            "30",
            "--save",
            files["m.descend"],
            "--plot",
            files["loss.png"],
            "--history",
            files["h.csv"],
            "--log-every",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert sorted(os.listdir(tmp_path)) == ["h.csv", "loss.png", "m.descend"]
    history = pd.read_csv(files["h.csv"])
    assert list(history["epoch"]) == list(range(30))
    assert Path(files["loss.png"]).read_bytes()[:4] == b"\x89PNG"
    assert "Epoch" not in out and "Loss\n" not in out  # --log-every 0; --plot replaces the chart
    for path in files.values():
        assert f": {path}" in out


def test_history_as_json(tables, tmp_path, capsys):
    path = str(tmp_path / "h.json")
    assert main(["train", tables["regression"], "--target", "inr", "--history", path]) == 0
    history = descend.History.from_json(Path(path).read_text())
    assert history.stop_reason == "converged" and history.epochs > 10


def test_the_task_is_inferred_and_said_out_loud():
    df = patients()
    inr = df["inr"]
    choice = choose_model(inr, "inr", None, None)
    distinct = len(set(inr))
    assert choice.sentence == (
        f"Target 'inr' is numeric with {distinct} distinct values: regression (linear model)."
    )
    assert choose_model(df["band"], "band", None, None).sentence == (
        "Target 'band' has 3 classes ('high', 'low', 'mid'): multiclass classification "
        "(softmax model)."
    )
    grades = pd.Series([1, 2, 3, 1, 2, 3, 1, 2], name="grade")
    choice = choose_model(grades, "grade", None, None)
    assert choice.task == "classification" and choice.kind == "softmax"
    assert choice.sentence.endswith("Add --task regression to predict it as a number instead.")
    choice = choose_model(grades, "grade", "mlp", "regression")
    assert (choice.task, choice.kind) == ("regression", "mlp")
    assert choice.sentence == (
        "Target 'grade' is numeric with 3 distinct values: regression "
        "(mlp model, as --model and --task asked)."
    )
    binary = choose_model(df["risk"], "risk", "mlp", None)
    assert (binary.task, binary.kind, binary.losses) == (
        "classification",
        "mlp",
        ("bce_with_logits",),
    )


def test_task_regression_is_honoured_for_a_constant_target(tmp_path, capsys):
    constant = pd.Series([5.0, 5.0, 5.0], name="y")
    choice = choose_model(constant, "y", None, "regression")
    assert (choice.task, choice.kind) == ("regression", "linear")
    assert choice.sentence.startswith("Target 'y' is numeric with 1 distinct value (a constant")
    data = tmp_path / "onerow.csv"
    data.write_text("x,y\n1,5\n2,5\n3,5\n")
    assert main(["train", str(data), "--target", "y", "--task", "regression"]) == 0
    assert "Read onerow.csv: 3 rows; 1 feature: x." in capsys.readouterr().out.replace(
        str(tmp_path) + "/", ""
    )
    with pytest.raises(descend.errors.InputError, match="missing value"):
        choose_model(pd.Series([5.0, None, 5.0]), "y", None, "regression")


def test_a_classifier_is_refused_for_numbers_that_are_not_whole():
    floats = pd.Series(np.random.default_rng(0).uniform(0, 10, size=300), name="y")
    for model in ("softmax", "logistic"):
        with pytest.raises(descend.errors.InputError, match="regression model: --model linear"):
            choose_model(floats, "y", model, None)
    two = pd.Series([5.599, 6.020] * 10, name="y")
    assert choose_model(two, "y", None, None).task == "regression"
    with pytest.raises(descend.errors.InputError, match="not class labels"):
        choose_model(two, "y", None, "classification")


def test_lr_auto_is_passed_to_the_sweep(tables, capsys):
    args = ["train", tables["regression"], "--target", "inr", "--lr", "auto", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lr"] > 0 and result["stop_reason"] in ("converged", "max_epochs")


def test_an_mlp_trains_from_the_command_line(tables, capsys):
    args = ["train", tables["multiclass"], "--target", "band", "--model", "mlp", "--hidden", "8,4"]
    args += ["--activation", "tanh", "--epochs", "3", "--batch-size", "16", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "mlp" and result["batch_size"] == 16 and result["epochs"] == 3
    assert result["optimizer"] == "adam" and result["stop_reason"] == "max_epochs"


def test_a_data_warning_is_one_line_on_stderr_and_in_the_json(tmp_path, capsys):
    path = tmp_path / "constant.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": 1.0, "y": [2.0, 4.1, 5.9, 8.0]}).to_csv(path)
    assert main(["train", str(path), "--target", "y", "--features", "a,c", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("descend: warning: Constant column(s) 'c'") and err.count("\n") == 1
    assert json.loads(out)["warnings"] == [err[len("descend: warning: ") : -1]]


def test_train_saves_into_a_fifo_without_replacing_it(tables, tmp_path):
    fifo = tmp_path / "model.pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert (
        main(["train", tables["regression"], "--target", "inr", "--quiet", "--save", str(fifo)])
        == 0
    )
    reader.join(timeout=10)
    assert received and received[0].startswith(b"PK")  # the model file, through the pipe
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["model.pipe"]


def test_train_splits_once_and_reads_a_text_target_once_for_its_model(tables, monkeypatch, capsys):
    """The split is fit's, handed on as rows (the command line says its size and reads the
    rows back); the target's choice is the command line's, handed on to the estimator."""
    import descend.data.targets as targets
    import descend.estimators.base as base

    splits, reads = [], []
    split = base.train_validation_split
    monkeypatch.setattr(base, "train_validation_split", lambda *a: splits.append(a) or split(*a))
    labels = targets._labels
    monkeypatch.setattr(targets, "_labels", lambda *a: reads.append(a) or labels(*a))
    status = main(["train", tables["multiclass"], "--target", "band", "--validation", "0.25",
                   "--epochs", "3", "--json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert status == 0 and splits == [(60, 0.25, 0)]
    assert (result["training_rows"], result["validation_rows"]) == (45, 15)
    assert len(reads) == 5  # the choice (task, labels), the codes, the two rows' scores


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
