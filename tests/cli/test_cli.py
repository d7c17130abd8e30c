"""End-to-end tests of the command line: subprocesses on CSV and Parquet files, and
in-process calls of ``main`` for everything a subprocess adds nothing to."""

from __future__ import annotations

import csv
import doctest
import io
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

import descend
import descend.cli.main as cli
import descend.cli.output
import descend.cli.train
from descend.cli.main import main
from descend.cli.train import choose_model

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
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


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A regression CSV, a binary Parquet file and a multiclass CSV (string labels)."""
    folder = tmp_path_factory.mktemp("tables")
    df = patients()
    paths = {
        "regression": str(folder / "inr.csv"),
        "binary": str(folder / "risk.parquet"),
        "multiclass": str(folder / "band.csv"),
    }
    df.drop(columns=["risk", "band"]).to_csv(paths["regression"], index=False)
    df.drop(columns=["inr", "band"]).to_parquet(paths["binary"])
    df.drop(columns=["inr", "risk"]).to_csv(paths["multiclass"], index=False)
    return paths


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


def test_python_m_descend_is_the_descend_command(tmp_path):
    script = shutil.which("descend", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the descend console script is not installed beside this Python")
    for args in (["--help"], ["train", "missing.csv", "--target", "y"]):
        by_module = run(*args, cwd=tmp_path)
        by_script = subprocess.run(
            [script, *args], capture_output=True, text=True, env=ENV, cwd=tmp_path, check=False
        )
        assert by_module.returncode == by_script.returncode
        assert (by_module.stdout, by_module.stderr) == (by_script.stdout, by_script.stderr)
    assert by_module.returncode == 2
    assert by_module.stderr == "descend: error: No such file: 'missing.csv'. Check the path.\n"


# ----- in process ------------------------------------------------------------------------
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


def test_the_sweeps_next_command_repeats_its_training_flags(tables, tmp_path, capsys):
    data = tmp_path / "my data.csv"
    shutil.copy(tables["regression"], data)
    flags = ["--features", "age,weight", "--model", "mlp", "--hidden", "8,4", "--epochs", "5"]
    flags += ["--batch-size", "full", "--validation", "0.2", "--no-standardize", "--seed", "3"]
    assert main(["sweep", str(data), "--target", "inr", *flags, "--lrs", "0.01,0.1"]) == 0
    next_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert next_line.startswith(f"Next: descend train '{data}' --target inr --features age,weight")
    assert next_line.endswith(
        "--model mlp --hidden 8,4 --epochs 5 --batch-size full --validation 0.2 --seed 3 "
        "--no-standardize --lr 0.1"
    ) or next_line.endswith("--no-standardize --lr 0.01")
    words = shlex.split(next_line.removeprefix("Next: "))
    assert main([*words[1:4], *words[4:]]) == 0  # the suggestion runs as it is


def test_sweep_help_does_not_offer_lr(capsys):
    assert main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--lrs" in out and "F|auto" not in out


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


def test_a_progress_bar_is_drawn_on_a_terminal():
    from rich.console import Console

    screen = io.StringIO()
    bar = descend.cli.output.ProgressBar(
        Console(file=screen, force_terminal=True, width=80), delay=0.0
    )
    X = np.linspace(0, 1, 20).reshape(-1, 1)
    descend.fit(descend.nn.Linear(1, 1), X, 2 * X[:, 0], epochs=5, tol=None, callbacks=[bar])
    assert "epoch" in screen.getvalue() and "5/5" in screen.getvalue()
    assert bar.bar is None  # taken off the screen at the end


def test_no_command_prints_help_and_version_works(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"descend {descend.__version__}"


def test_original_units_undo_the_standardisation():
    X, y, names = descend.datasets.load_patients()
    model = descend.Regressor(epochs=3000, tol=None).fit(pd.DataFrame(X, columns=names), y)
    coef, intercept = model.preprocessor_.original_units(
        model.module_.weight.data, model.module_.bias.data
    )
    exact = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    np.testing.assert_allclose([*coef[:, 0], intercept[0]], exact, rtol=1e-9)


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


def test_evaluating_a_regressor_on_text_speaks_the_commands_language(tables, tmp_path, capsys):
    model = str(tmp_path / "reg.descend")
    assert main(["train", tables["regression"], "--target", "inr", "--quiet", "--save", model]) == 0
    capsys.readouterr()
    assert main(["evaluate", model, tables["binary"], "--target", "risk"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descend: error: Target 'risk' should hold numbers but row 0 holds")
    assert "this model is a regressor: it predicts numbers" in err and "Preprocessor" not in err


def test_a_failure_after_training_leaves_no_file_at_all(bad, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise descend.errors.InputError("The picture could not be drawn.")

    monkeypatch.setattr(descend.cli.train.plot, "loss_curve", broken)
    args = ["train", bad["regression"], "--target", "inr"]
    args += [a.format(**bad) for a in TRAIN_OUTPUTS]  # the model is written before the plot
    assert main(args) == 2
    assert capsys.readouterr().err == "descend: error: The picture could not be drawn.\n"
    assert os.listdir(bad["out"]) == []


def test_a_data_warning_is_one_line_on_stderr_and_in_the_json(tmp_path, capsys):
    path = tmp_path / "constant.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": 1.0, "y": [2.0, 4.1, 5.9, 8.0]}).to_csv(path)
    assert main(["train", str(path), "--target", "y", "--features", "a,c", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("descend: warning: Constant column(s) 'c'") and err.count("\n") == 1
    assert json.loads(out)["warnings"] == [err[len("descend: warning: ") : -1]]


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
