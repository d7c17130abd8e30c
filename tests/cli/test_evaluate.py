"""Tests for descend.cli.evaluate: ``descend evaluate`` prints a saved model's scores on a
table, the numbers scikit-learn computes, in the command's words."""

from __future__ import annotations

import json

import pytest

import descend
from descend.cli.main import main
from tests.cli.commands import run


def test_evaluate_json_matches_scikit_learn(tables, tmp_path):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    data = tables["multiclass"]
    model = str(tmp_path / "band.descend")
    assert main(["train", data, "--target", "band", "--save", model, "--quiet"]) == 0
    result = run("evaluate", model, data, "--target", "band", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    estimator = descend.load(model)
    df = descend.data.read_table(data)
    truth = df["band"].to_numpy()
    predicted = estimator.predict(df)
    labels = ["high", "low", "mid"]
    assert scores["labels"] == labels and scores["rows"] == len(df)
    assert scores["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(truth, predicted))
    assert scores["log_loss"] == pytest.approx(
        sklearn_metrics.log_loss(truth, estimator.predict_proba(df), labels=labels), rel=1e-12
    )
    assert scores["f1_macro"] == pytest.approx(
        sklearn_metrics.f1_score(truth, predicted, average="macro"), rel=1e-12
    )
    expected = sklearn_metrics.confusion_matrix(truth, predicted, labels=labels)
    assert scores["confusion_matrix"] == expected.tolist()


def test_evaluating_a_regressor_on_text_speaks_the_commands_language(tables, tmp_path, capsys):
    model = str(tmp_path / "reg.descend")
    assert main(["train", tables["regression"], "--target", "inr", "--quiet", "--save", model]) == 0
    capsys.readouterr()
    assert main(["evaluate", model, tables["binary"], "--target", "risk"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descend: error: Target 'risk' should hold numbers but row 0 holds")
    assert "this model is a regressor: it predicts numbers" in err and "Preprocessor" not in err
