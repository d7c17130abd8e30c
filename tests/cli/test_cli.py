"""End-to-end tests of the command line: train, save and predict in subprocesses, on CSV and
Parquet files, give the predictions of the same estimator trained in memory, bit for bit.
Each command also has its own file: tests/cli/test_<command>.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import descend
from tests.cli.commands import in_memory, predictions, run

pytest.importorskip("pyarrow")
pytest.importorskip("matplotlib")


# ----- train -> save -> predict, in subprocesses ---------------------------------------------
CASES = {
    "regression": ("inr", ["--json"], descend.Regressor, {"model": "linear"}),
    "binary": ("risk", ["--epochs", "200"], descend.Classifier, {"model": "logistic"}),
    "multiclass": (
        "band",
        ["--quiet", "--validation", "0.25", "--epochs", "300"],
        descend.Classifier,
        {},
    ),
}


@pytest.mark.parametrize("task", list(CASES))
@pytest.mark.filterwarnings("ignore::descend.train.ConvergenceWarning")
def test_train_save_predict_gives_the_in_memory_predictions_bit_for_bit(tables, tmp_path, task):
    target, flags, kind, expected_params = CASES[task]
    data = tables[task]
    model = str(tmp_path / "model.descend")
    trained = run("train", data, "--target", target, "--save", model, *flags)
    assert trained.returncode == 0, trained.stderr
    predicted = run("predict", model, data)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stderr == ""

    df = descend.data.read_table(data)
    loaded = descend.load(model)
    assert type(loaded) is kind
    params = loaded.get_params()
    for name, value in expected_params.items():
        assert params[name] == value
    validation = 0.25 if "--validation" in flags else None
    again = kind(**{**params, "validation": validation})
    again.fit(df.drop(columns=[target]), df[target])
    written = predictions(predicted.stdout)
    assert len(written) == len(df) + 1
    assert written == in_memory(again, df)  # trained afresh in this process: the same bits
    assert written == in_memory(loaded, df)

    if task == "regression":  # --json: one object and nothing else
        result = json.loads(trained.stdout)
        assert result["task"] == "regression" and result["model"] == "linear"
        assert result["stop_reason"] == "converged" and result["files"] == {"model": model}
        assert result["epochs"] == again.history_.epochs
        assert result["final_loss"] == again.history_.final_loss  # of the weights returned
        truth = df["inr"].to_numpy()
        mse = np.mean((truth - again.predict(df)) ** 2)
        assert result["metrics"]["training"]["mse"] == pytest.approx(mse, rel=1e-12)
    elif task == "binary":  # a person's output: the task said out loud, epoch lines, a chart
        out = trained.stdout
        assert "Target 'risk' has 2 classes ('high', 'normal'): binary classification" in out
        assert "Epoch   0: loss = 0.6931" in out  # zero weights: log 2
        assert "Stopped: " in out and "Loss" in out and "accuracy" in out
        assert list(again.classes_) == ["high", "normal"]
    else:  # --quiet: the stop reason and the scores, no epoch lines
        out = trained.stdout
        assert "Epoch" not in out and out.startswith("Stopped: ")
        assert "training" in out and "validation" in out and "f1_macro" in out
