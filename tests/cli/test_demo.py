"""Tests for descend.cli.demo: ``descend demo`` trains on the lesson's patients, close to the
weights they were made from, and writes its files."""

from __future__ import annotations

import os

import numpy as np
import pytest

import descend
from tests.cli.commands import run


def test_demo_trains_close_to_the_truth_and_writes_its_files(tmp_path):
    result = run("demo", "--out", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    X, y, names = descend.datasets.load_patients()
    assert f"Epoch   0: loss = {np.mean(y**2):.4f}" in out  # zero weights: the mean of y²
    assert "Stopped: converged." in out
    exact = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    for name, value in zip([*names, "bias"], exact):
        learned, least_squares, true = map(float, rows[name])
        assert learned == pytest.approx(value, rel=1e-3)
        assert least_squares == pytest.approx(value, rel=1e-3)
    assert float(rows["creatinine"][2]) == descend.datasets.PATIENTS_TRUE_WEIGHTS["creatinine"]
    folder = tmp_path / "demo"
    assert sorted(os.listdir(folder)) == [
        "loss.png",
        "model.descend",
        "patients.csv",
        "report.html",
    ]
    assert (folder / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = descend.load(folder / "model.descend")
    assert model.history_.stop_reason == "converged"
    assert f"Wrote the model: {os.path.join('demo', 'model.descend')}" in out
