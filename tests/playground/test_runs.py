"""Tests for descend.playground.runs: a Train request trains what ``descend train`` trains
with the same settings, one run at a time, recording each epoch and the descent path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descend import Regressor
from descend.datasets import patients_path
from descend.errors import InputError
from descend.playground import runs
from descend.playground.settings import Settings

TABLE = pd.read_csv(patients_path()).head(80)
LINEAR = Settings(("age", "weight", "creatinine"), "linear", "sgd", 0.1, None, 40, 0.0)


def trained(*settings: Settings) -> tuple[runs.Trainer, list[runs.TrainingRun]]:
    """The runs of ``settings``, trained in turn; the trainer's worker waited for."""
    trainer = runs.Trainer(TABLE, "inr", "regression")
    submitted = [trainer.submit(s) for s in settings]
    trainer.worker.shutdown(wait=True)
    return trainer, submitted


def test_a_run_trains_the_estimator_descend_train_would_and_records_each_epoch():
    plan = runs.estimator_params(LINEAR, "regression")
    assert plan["cls"] is Regressor
    assert plan["params"] == {"model": "linear", "optimizer": "sgd", "lr": 0.1, "epochs": 40,
                              "batch_size": None, "alpha": 0.0, "random_state": 0}  # fmt: skip
    _, (run,) = trained(LINEAR)
    same = Regressor(**plan["params"]).fit(TABLE[list(LINEAR.features)], TABLE["inr"])
    assert run.state == "done" and run.error == ""
    assert run.result["final_loss"] == same.history_.final_loss  # bit for bit
    assert [e["loss"] for e in run.epochs] == same.history_.loss
    assert run.summary()["epochs"] == same.history_.epochs == len(run.result["loss"])


def test_the_descent_path_is_the_first_features_weight_and_the_bias_after_each_epoch():
    _, (run,) = trained(LINEAR)
    start, end = run.surfaces[0], run.surfaces[-1]
    assert start["start"] == [0.0, 0.0] and end["feature"] == "age"
    weight, bias = run.weights
    assert run.epochs[-1]["point"] == [float(weight[0]), bias]
    losses = np.asarray(end["trace"]["customdata"], dtype=float)
    assert losses.shape == (41, 41) and np.isfinite(losses).all()


def test_runs_take_turns_and_a_failure_is_said_not_raised():
    mlp = Settings(("age", "weight"), "mlp", "adam", 0.01, 16, 3, 0.0)
    trainer, (first, second) = trained(mlp, LINEAR)
    assert (first.state, second.state) == ("done", "done")
    assert first.surfaces == [] and first.weights is None  # no slice of an MLP
    with pytest.raises(InputError, match="needs a linear or logistic model"):
        trainer.explain(first)
    assert "Step 1 - Forward pass" in trainer.explain(second)
    broken = runs.Trainer(TABLE.assign(inr="high"), "inr", "regression")
    failed = broken.submit(LINEAR)
    broken.worker.shutdown(wait=True)
    assert failed.state == "failed" and "holds text, not numbers" in failed.error


def test_a_full_queue_refuses_and_closing_fails_the_runs_not_finished(monkeypatch):
    monkeypatch.setattr(runs, "MAX_QUEUED", 0)
    trainer = runs.Trainer(TABLE, "inr", "regression")
    with pytest.raises(OverflowError, match="0 runs are waiting"):
        trainer.submit(LINEAR)
    waiting = runs.TrainingRun("r9", LINEAR)
    trainer.runs["r9"] = waiting
    assert trainer.busy()
    trainer.close()
    assert (waiting.state, waiting.error) == ("failed", "The playground stopped.")
    assert not trainer.busy()
