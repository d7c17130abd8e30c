"""``descend report``, ``train --report`` and the demo's report, end to end (in-process)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import descend
from descend.cli.main import main
from descend.datasets import patients_path

pytest.importorskip("plotly")


def figure(page: str, div: str) -> dict:
    """The data of the figure drawn into ``div``, read back from the page."""
    found = re.search(r'Plotly\.newPlot\("' + div + r'", (\[.*?\]), \{', page)
    assert found, div
    return json.loads(found.group(1).replace("<\\/", "</"))


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    shutil.copy(patients_path(), tmp_path / "patients.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_demo_ends_by_naming_its_report(folder, capsys) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1] == "Open the report in a browser: descend-demo/report.html"
    model = descend.load("descend-demo/model.descend")
    page = Path("descend-demo/report.html").read_text(encoding="utf-8")
    assert figure(page, "loss-curve")[0]["y"] == model.history_.loss
    assert "the patients" in page and 'id="lr-slider"' in page


def test_train_writes_the_report_of_its_run(folder, capsys) -> None:
    assert main(["train", "patients.csv", "--target", "inr", "--lr", "0.3", "--report", "run.html",
                 "--save", "m.descend", "--quiet"]) == 0  # fmt: skip
    assert "Wrote the report: run.html" in capsys.readouterr().out
    model = descend.load("m.descend")
    page = Path("run.html").read_text(encoding="utf-8")
    assert figure(page, "loss-curve")[0]["y"] == model.history_.loss
    assert "Step 4 - Weight update" in page and "with learning rate 0.3" in page

    assert main(["report", "m.descend", "-o", "again.html"]) == 0
    alone = Path("again.html").read_text(encoding="utf-8")
    assert figure(alone, "loss-curve")[0]["y"] == model.history_.loss
    assert "descent-path" not in alone and "give X and y (or --data and --target)" in alone
    assert main(["report", "m.descend", "-o", "data.html", "--data", "patients.csv",
                 "--target", "inr", "--feature", "weight"]) == 0  # fmt: skip
    assert "MSE of 'weight' alone" in Path("data.html").read_text(encoding="utf-8")


def test_sweep_writes_the_recommended_run_with_the_sweep(folder, capsys) -> None:
    lrs = [0.01, 0.1, 0.3, 1.0]
    assert main(["sweep", "patients.csv", "--target", "inr", "--lrs", "0.01,0.1,0.3,1",
                 "--epochs", "60", "--report", "sweep.html", "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert printed["files"] == {"report": "sweep.html"}
    df = descend.data.read_table("patients.csv")
    X, y = df[["age", "weight", "creatinine"]], df["inr"]
    swept = descend.Regressor().sweep(X, y, lrs=lrs, epochs=60)  # the same sweep, in Python
    assert printed["recommended_lr"] == swept.recommended_lr == 0.3
    page = Path("sweep.html").read_text(encoding="utf-8")
    recommended = swept.histories[lrs.index(0.3)]
    assert figure(page, "loss-curve")[0]["y"] == recommended.loss  # the sweep's run, to the bit
    assert figure(page, "sweep")[0]["y"] == swept.final_losses
    marks = re.search(r'Plotly\.newPlot\("sweep", .*?, (\{.*?"shapes": \[.*?\]\})', page)
    assert marks, "the sweep's figure marks no rates"
    at = [float(x) for x in re.findall(r'"x0": ([0-9.e+-]+)', marks.group(1))]
    assert at == pytest.approx([1 / swept.L, 2 / swept.L], rel=1e-9)
    assert "with learning rate 0.3" in page and "Recommended: lr=0.3." in page


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["train", "patients.csv", "--target", "inr", "--report", "run.png"],
            "--report writes an HTML page",
        ),
        (["report", "m.descend", "-o", "r.pdf"], "-o writes an HTML page"),
        (
            ["sweep", "patients.csv", "--target", "inr", "--report", "s.png"],
            "--report writes an HTML page",
        ),
        (
            ["report", "m.descend", "-o", "r.html", "--data", "patients.csv"],
            "--data and --target go together",
        ),
        (["report", "m.descend", "-o", "r.html", "--feature", "age"], "give --data too"),
        (["report", "patients.csv", "-o", "r.html"], "not a descend model file"),
        (
            [
                "report",
                "m.descend",
                "-o",
                "m.descend.html",
                "--data",
                "patients.csv",
                "--target",
                "inr",
                "--feature",
                "height",
            ],
            "'feature' parameter of report",
        ),
        (["playground", "patients.csv", "--target", "inr", "--port", "70000"], "'port' parameter"),
    ],
)
def test_bad_report_flags_are_one_line_and_write_nothing(folder, capsys, args, words) -> None:
    df = descend.data.read_table("patients.csv")
    descend.save(descend.Regressor(epochs=5).fit(df[["age"]], df["inr"]), "m.descend")
    before = sorted(os.listdir(folder))
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("descend: error:") and words in error and error.count("\n") == 1
    assert sorted(os.listdir(folder)) == before
