"""The diagnosis' advice on the command line: in its flags everywhere (--json too), and every
flag it names exists (--tol)."""

from __future__ import annotations

import json
import re

import pytest

from descend.cli.main import main
from descend.cli.output import diagnosis_in_flags, in_flags
from descend.datasets import patients_path

pytest.importorskip("pandas")

DATA = patients_path()  # age, weight, creatinine, inr
SLOW = ["train", DATA, "--target", "inr", "--model", "linear", "--optimizer", "sgd"]


def test_the_json_diagnosis_speaks_in_flags(capsys):
    # the audit: --json gave "lr=0.5", "alpha=1", "EarlyStopping(...)" while its suggested
    # settings were the estimator's
    assert main([*SLOW, "--lr", "0.001", "--epochs", "30", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    d = result["diagnosis"]
    words = d["suggestion"] + d["explanation"]
    assert "--lr " in words or "--epochs " in words, d["suggestion"]
    assert not re.search(r"\b(lr|epochs|alpha|tol|batch_size|optimizer)=", words), words
    assert d["suggested"] and all(isinstance(k, str) for k in d["suggested"])


def test_tol_none_trains_every_epoch_and_a_bad_tol_is_refused_in_flags(capsys):
    assert main([*SLOW, "--lr", "0.05", "--epochs", "400", "--tol", "none", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["epochs"] == 400 and result["stop_reason"] == "max_epochs"
    assert main([*SLOW, "--lr", "0.05", "--epochs", "400", "--tol", "1e-3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] < 400  # stopped by its tolerance
    assert main([*SLOW, "--lr", "0.05", "--tol", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descend: error: --tol") and "-1" in err and "Traceback" not in err
    assert main([*SLOW, "--tol", "soon"]) == 2
    assert "--tol: must be a number (such as 1e-5), or 'none'" in capsys.readouterr().err


def test_the_advice_words_become_flags():
    assert (
        in_flags("Train for epochs=300 with tol=None.") == "Train for --epochs 300 with --tol none."
    )
    d = {"suggestion": "use optimizer='nesterov' at lr=0.5", "explanation": "", "suggested": {}}
    assert diagnosis_in_flags(d)["suggestion"] == "use --optimizer nesterov at --lr 0.5"
    assert diagnosis_in_flags(None) is None
