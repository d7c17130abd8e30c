"""Tests for descend.cli.predict: ``descend predict`` writes a saved model's predictions
(and class probabilities) as CSV, to a file or to standard output."""

from __future__ import annotations

import os
from pathlib import Path

import descend
from descend.cli.main import main
from tests.cli.commands import patients, pd, predictions, run


def test_predict_writes_to_a_file_and_evaluate_prints_a_confusion_matrix(tables, tmp_path, capsys):
    data, model = tables["binary"], str(tmp_path / "m.descend")
    assert main(["train", data, "--target", "risk", "--epochs", "50", "--save", model]) == 0
    out = str(tmp_path / "p.csv")
    assert main(["predict", model, data, "--out", out]) == 0
    capsys.readouterr()
    assert main(["predict", model, data]) == 0
    assert Path(out).read_text() == capsys.readouterr().out
    assert main(["evaluate", model, data, "--target", "risk"]) == 0
    lines = capsys.readouterr().out.splitlines()
    df = pd.read_parquet(data)
    predicted = descend.load(model).predict(df)
    counts = pd.crosstab(df["risk"], predicted).to_numpy()  # rows: true, columns: predicted
    header = lines.index("  true \\ predicted   high   normal")
    table = [line.split() for line in lines[header + 1 : header + 3]]
    assert table == [["high", *map(str, counts[0])], ["normal", *map(str, counts[1])]]


def test_predict_out_dev_stdout_prints_the_csv_and_leaves_no_temporary_file(tables, tmp_path):
    model = str(tmp_path / "m.descend")
    assert main(["train", tables["regression"], "--target", "inr", "--quiet", "--save", model]) == 0
    predicted = run("predict", model, tables["regression"], "--out", "/dev/stdout", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert predictions(predicted.stdout)[0] == ["prediction"]
    assert len(predictions(predicted.stdout)) == len(patients()) + 1
    assert predicted.stderr.startswith("Wrote 60 predictions to /dev/stdout.")
    assert not [name for name in os.listdir("/dev") if name.startswith(".descend-")]
    assert os.listdir(tmp_path) == ["m.descend"]
