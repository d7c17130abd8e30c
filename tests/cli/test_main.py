"""Tests for descend.cli.main: the parser and the one error handler: every bad input is one
line on stderr and exit status 2, and nothing is written."""

from __future__ import annotations

import doctest
import os
import zipfile
from pathlib import Path

import pytest

import descend
import descend.cli.main as cli
import descend.cli.train
from descend.cli.main import main

pytest.importorskip("matplotlib")  # --plot, in the table of bad inputs


def test_no_command_prints_help_and_version_works(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"descend {descend.__version__}"


def test_docstrings():
    assert doctest.testmod(cli).failed == 0


# ----- bad input: one line, exit status 2, nothing written ------------------------------------
@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tables):
    """Files for the bad-input table."""
    folder = tmp_path_factory.mktemp("in")

    def write(name: str, text: str | bytes) -> str:
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return str(path)

    files = {
        "empty": write("empty.csv", ""),
        "header": write("header.csv", "a,b,y\n"),
        "not_utf8": write("not_utf8.csv", b"\x00\x01\xff\xfe"),
        "text": write("text.csv", "a,b,y\n1,2,3\n4,x,6\n7,8,9\n10,11,12\n"),
        "nan": write("nan.csv", "a,b,y\n1,2,3\n4,,6\n7,8,9\n"),
        "inf": write("inf.csv", "a,b,y\n1,2,3\n4,inf,6\n7,8,9\n"),
        "single": write("single.csv", "a,y\n1,yes\n2,yes\n"),
        "no_sex": write("no_sex.csv", "age,weight,creatinine\n50,80,1.0\n"),
        "new_label": write("new.csv", "age,weight,creatinine,sex,risk\n50,80,1.0,f,maybe\n"),
    }
    model = str(folder / "risk.descend")
    args = ["train", tables["binary"], "--target", "risk", "--epochs", "5", "--save", model]
    assert main([*args, "--quiet"]) == 0
    files["model"] = model
    files["truncated"] = write("truncated.descend", Path(model).read_bytes()[:3000])
    tampered = folder / "tampered.descend"
    with zipfile.ZipFile(model) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[:-8] + bytes(8) if name.startswith("param:") else data)
    files["tampered"] = str(tampered)
    files["not_a_model"] = files["text"]
    module = folder / "module.descend"
    descend.save(descend.nn.Linear(3, 1), module)
    files["module"] = str(module)
    files.update(tables)
    return files


@pytest.fixture
def bad(inputs, tmp_path, capsys):
    """The bad-input files, and an empty folder ``out`` for outputs."""
    capsys.readouterr()
    return {**inputs, "out": str(tmp_path)}


TRAIN_OUTPUTS = [
    "--save",
    "{out}/m.descend",
    "--plot",
    "{out}/loss.png",
    "--history",
    "{out}/h.json",
]


BAD_INPUT = [
    # (arguments, a piece of the one-line message)
    (["train", "{out}/../missing.csv", "--target", "y"], "No such file: "),
    (["train", "{empty}", "--target", "y"], "is empty; a table needs a header line and data."),
    (["train", "{header}", "--target", "y"], "has no data rows"),
    (["train", "{not_utf8}", "--target", "y"], "it is not UTF-8 text"),
    (
        ["train", "{text}", "--target", "z"],
        "Unknown target column 'z'. Available columns: 'a', 'b', 'y'.",
    ),
    (
        ["train", "{text}", "--target", "y", "--features", "a,c"],
        "Unknown feature column 'c'. Available columns: 'a', 'b', 'y'.",
    ),
    (["train", "{text}", "--target", "y"], "Column 'b' should hold numbers but row 1 holds 'x'"),
    (
        ["train", "{nan}", "--target", "y"],
        "Column 'b' has a missing value in row 1 (1 missing in all); fill them in, drop those rows, or set impute to 'mean', 'median' or 'most_frequent' (command line: --impute mean|median|most_frequent).",
    ),
    (["train", "{inf}", "--target", "y"], "Column 'b' has an infinite value (inf) in row 1"),
    (["train", "{single}", "--target", "y"], "Target 'y' has one class only ('yes')"),
    (
        ["train", "{regression}", "--target", "inr", "--lr", "-1"],
        "argument --lr: must be a number > 0, or 'auto'; got '-1'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--lr", "fast"],
        "argument --lr: must be a number > 0, or 'auto'; got 'fast'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--hidden", "0,a"],
        "argument --hidden: must be layer sizes >= 1 separated by commas",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--validation", "1.5"],
        "argument --validation: must be a fraction between 0 and 1",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--batch-size", "0"],
        "argument --batch-size: must be a whole number >= 1, or 'full'; got '0'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--epochs", "0"],
        "argument --epochs: must be a whole number >= 1; got '0'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--model", "tree"],
        "argument --model: invalid choice: 'tree'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--features", "age,,sex"],
        "argument --features: must be column names separated by commas",
    ),
    (["train", "{regression}"], "the following arguments are required: --target"),
    (
        ["train", "{regression}", "--target", "inr", "--hidden", "8"],
        "--hidden shapes an MLP but the model is linear; add --model mlp",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--loss", "cross_entropy"],
        "--loss cross_entropy does not fit this linear regression model; use mse or mae or huber",
    ),
    (
        ["train", "{binary}", "--target", "risk", "--loss", "mse"],
        "--loss mse does not fit this logistic classification model; use bce_with_logits",
    ),
    (
        ["train", "{binary}", "--target", "risk", "--model", "linear"],
        "Target 'risk' holds text, not numbers",
    ),
    (
        ["train", "{multiclass}", "--target", "band", "--model", "logistic"],
        "Only binary classification is supported by --model logistic (it separates two classes), but target 'band' has 3",
    ),
    (
        [
            "train",
            "{regression}",
            "--target",
            "inr",
            "--model",
            "linear",
            "--task",
            "classification",
        ],
        "--model linear is a regression model, but --task classification says otherwise",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--categorical", "colour"],
        "Unknown categorical feature 'colour'",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--plot", "{out}/loss.jpg"],
        "--plot writes a PNG picture",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--save", "{out}/no/m.descend"],
        "Cannot write --save",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--save", "{regression}"],
        "would overwrite an input file",
    ),
    (
        [
            "train",
            "{regression}",
            "--target",
            "inr",
            "--save",
            "{out}/a.csv",
            "--history",
            "{out}/a.csv",
        ],
        "is already another output",
    ),
    (["predict", "{out}/../missing.descend", "{regression}"], "No such model file: "),
    (["predict", "{truncated}", "{binary}"], "is not a descend model file (not an npz archive)"),
    (["predict", "{not_a_model}", "{binary}"], "is not a descend model file (not an npz archive)"),
    (["predict", "{tampered}", "{binary}"], "failed its integrity check (SHA-256 mismatch)"),
    (["predict", "{module}", "{binary}"], "holds a bare network without preprocessing or labels"),
    (["predict", "{model}", "{no_sex}"], "lacks the column(s) 'sex' that"),
    (
        ["predict", "{model}", "{binary}", "--out", "{out}/p.parquet"],
        "--out writes the predictions as CSV; give a file name ending in .csv, not ",
    ),
    (
        ["train", "{regression}", "--target", "inr", "--history", "{out}/c.parquet"],
        "--history writes the per-epoch history; give a file name ending in .json or .csv",
    ),
    (
        ["predict", "{model}", "{new_label}", "--out", "{new_label}"],
        "would overwrite an input file",
    ),
    (["evaluate", "{model}", "{binary}", "--target", "inr"], "Unknown target column 'inr'"),
    (["evaluate", "{model}", "{no_sex}", "--target", "risk"], "lacks the column(s) 'sex' that"),
    (
        ["evaluate", "{model}", "{new_label}", "--target", "risk"],
        "Unknown label 'maybe' in row 0 of target 'risk'",
    ),
]


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(bad, capsys, args, message):
    args = [a.format(**bad) for a in args]
    inputs = sorted(os.listdir(os.path.dirname(bad["model"])))
    if args[0] == "train":  # before the case's own flags, which win
        args[1:1] = [a.format(**bad) for a in TRAIN_OUTPUTS]
    if args[0] == "predict" and "--out" not in args:
        args += ["--out", os.path.join(bad["out"], "p.csv")]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.startswith("descend: error: ") and err.endswith("\n")
    assert err.count("\n") == 1, err
    assert message in err, err
    assert "Wrote" not in out
    assert os.listdir(bad["out"]) == []  # no output, no temporary file
    assert sorted(os.listdir(os.path.dirname(bad["model"]))) == inputs


def test_a_failure_after_training_leaves_no_file_at_all(bad, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise descend.errors.InputError("The picture could not be drawn.")

    monkeypatch.setattr(descend.cli.train.plot, "loss_curve", broken)
    args = ["train", bad["regression"], "--target", "inr"]
    args += [a.format(**bad) for a in TRAIN_OUTPUTS]  # the model is written before the plot
    assert main(args) == 2
    assert capsys.readouterr().err == "descend: error: The picture could not be drawn.\n"
    assert os.listdir(bad["out"]) == []
