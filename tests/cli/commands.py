"""What the tests of the command line share: the command run in a subprocess with this
checkout's descend, the lesson's patients as tables, and predictions written out as the
command writes them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import descend
from descend.datasets import load_patients, patients_path

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

SRC = os.path.dirname(os.path.dirname(descend.__file__))
ENV = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "100"}


def run(*args: str, cwd: object = None) -> subprocess.CompletedProcess[str]:
    """``python -m descend ARGS`` in a subprocess, with this checkout's descend."""
    return subprocess.run(
        [sys.executable, "-m", "descend", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        check=False,
    )


def patients(n: int = 60) -> pd.DataFrame:
    """The first n patients, with a text column and two targets made from INR."""
    df = descend.data.read_table(descend.datasets.patients_path()).head(n).copy()
    df["sex"] = np.where(np.arange(n) % 3 == 0, "f", "m")
    df["risk"] = np.where(df["inr"] > 2.3, "high", "normal")
    df["band"] = pd.cut(df["inr"], [0, 2.0, 2.6, 9], labels=["low", "mid", "high"]).astype(str)
    return df


def predictions(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def in_memory(estimator: object, df: pd.DataFrame) -> list[list[str]]:
    """What predict should write for ``estimator``, formatted independently of the CLI."""
    if hasattr(estimator, "predict_proba"):
        classes = list(estimator.classes_)
        header = ["prediction", *(f"proba_{c}" for c in classes)]
        proba = estimator.predict_proba(df)
        labels = estimator.predict(df)
        return [header] + [[str(a), *map(repr, p)] for a, p in zip(labels, proba.tolist())]
    return [["prediction"]] + [[repr(v)] for v in estimator.predict(df).tolist()]


DATA = patients_path()  # age, weight, creatinine, inr


def standardised():
    X, y, _ = load_patients()
    return (X - X.mean(axis=0)) / X.std(axis=0), y
