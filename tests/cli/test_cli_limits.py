"""The command line at the limits a user can reach: a crafted model file, too many classes,
a table wider than it is long, no memory left. One line on stderr, exit 2, no traceback."""

from __future__ import annotations

import numpy as np
import pytest

import descend
import descend.data.archive
from descend.cli.main import main
from descend.cli.output import check_report_size
from descend.errors import InputError
from tests import model_files as mf

pd = pytest.importorskip("pandas")


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("descend: error: ")
    return err


def test_a_crafted_model_file_is_refused_by_predict_in_one_line(tmp_path, capsys):
    X = mf.training_table()
    band = np.where(X.age > 55, "old", np.where(X.age < 45, "young", "mid"))
    descend.save(descend.Classifier(epochs=5).fit(X, band), tmp_path / "real.descend")
    crafted = mf.read(tmp_path / "real.descend")
    crafted.meta["labels"]["classes"] = ["a", "b", "c", "d", "e"]  # 5 labels, 3 outputs
    mf.write(tmp_path / "crafted.descend", crafted)
    X.to_csv(tmp_path / "data.csv", index=False)
    status = main(["predict", str(tmp_path / "crafted.descend"), str(tmp_path / "data.csv")])
    assert status == 2
    assert "'architecture.config.out_features' must be 5" in error_line(capsys)


def test_ten_thousand_classes_are_refused_before_training_naming_the_classes_and_memory(
    tmp_path, capsys
):
    rng = np.random.default_rng(0)
    labels = np.repeat([f"c{k}" for k in range(10_000)], 2)
    df = pd.DataFrame({"a": rng.normal(size=len(labels)), "y": labels})
    df.to_csv(tmp_path / "classes.csv", index=False)
    assert main(["train", str(tmp_path / "classes.csv"), "--target", "y"]) == 2
    line = error_line(capsys)
    assert "10,000 classes" in line and "20,000 rows" in line and "6.4 GB" in line
    assert line.endswith("Group the classes into fewer (2 rows a class here).")


def test_a_report_of_a_few_hundred_classes_is_not_refused():
    check_report_size(20_000, 300)  # 0.2 GB
    with pytest.raises(InputError, match="3,000 classes"):
        check_report_size(20_000, 3_000)


def test_a_wide_table_is_named_by_its_first_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(5, 300)), columns=[f"x{j}" for j in range(300)])
    df["y"] = df["x0"] + df["x1"]
    df.to_csv(tmp_path / "wide.csv", index=False)
    assert main(["train", str(tmp_path / "wide.csv"), "--target", "y", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    assert "300 features: x0, x1, x2" in out and "x19 and 280 more." in out
    assert "x200" not in out


def test_running_out_of_memory_is_one_line_naming_the_step_and_the_size(
    tmp_path, capsys, monkeypatch
):
    """NumPy's MemoryError (a real one: 2 EiB cannot be allocated) while pandas parses the
    rows: the step is reading the table, not training, and not a malformed file."""
    (tmp_path / "data.csv").write_text("x,y\n1,2\n2,3\n")
    read_csv = pd.read_csv

    def exhausted(path, **kwargs):
        if kwargs.get("nrows") == 1:  # the header, which fits
            return read_csv(path, **kwargs)
        return np.empty((2**30, 2**28))

    monkeypatch.setattr(pd, "read_csv", exhausted)
    assert main(["train", str(tmp_path / "data.csv"), "--target", "y"]) == 2
    assert error_line(capsys) == (
        "descend: error: Out of memory while reading the table: an array of 2 EiB (1073741824 x "
        "268435456 float64) did not fit. Try a smaller table, or fewer columns."
    )


def test_out_of_memory_while_saving_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 3.0, 5.0, 4.0]}).to_csv(
        tmp_path / "data.csv", index=False
    )

    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(descend.io, "_write_npz", exhausted)  # called by descend.io
    monkeypatch.chdir(tmp_path)
    assert main(["train", "data.csv", "--target", "y", "--save", "m.descend"]) == 2
    assert error_line(capsys) == (
        "descend: error: Out of memory while reading or writing the model file. Try a smaller "
        "model (--hidden)."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_out_of_memory_while_loading_a_model_is_not_called_a_corrupt_file(
    tmp_path, capsys, monkeypatch
):
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    descend.save(descend.Regressor(epochs=3).fit(X, [2.0, 3.0, 5.0, 4.0]), tmp_path / "m.descend")
    X.to_csv(tmp_path / "data.csv", index=False)

    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(descend.data.archive, "_array", exhausted)  # the reader descend.io calls
    assert main(["predict", str(tmp_path / "m.descend"), str(tmp_path / "data.csv")]) == 2
    assert error_line(capsys).startswith(
        "descend: error: Out of memory while reading or writing the model file."
    )
