"""Tests for descend.data.tables: reading CSV, Parquet, DataFrames and Arrow tables, and
choosing the columns."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from descend.data import (
    read_table,
    select_columns,
)
from descend.errors import InputError


# ----- read_table --------------------------------------------------------------------
def test_read_csv_keeps_values_and_types(tmp_path, patients) -> None:
    path = tmp_path / "patients.csv"
    patients.to_csv(path, index=False)
    df = read_table(str(path))
    assert list(df.columns) == ["age", "weight", "sex", "site", "y"]
    assert df["weight"].tolist() == [70, 80, 90, 60]
    assert df["age"].tolist() == [20.0, 40.0, 60.0, 30.0]
    assert df["sex"].tolist() == ["f", "m", "f", "m"]


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".PARQUET"])
def test_read_parquet(tmp_path, patients, suffix) -> None:
    path = tmp_path / f"patients{suffix}"
    patients.to_parquet(path)
    df = read_table(path)
    assert df["y"].tolist() == [1.5, 2.5, 3.0, 0.5]
    assert df["site"].tolist() == ["a", "b", "c", "a"]


def test_read_table_takes_dataframes_and_arrow_tables(patients) -> None:
    assert read_table(patients) is patients
    from_arrow = read_table(pa.Table.from_pandas(patients))
    assert from_arrow["weight"].tolist() == [70, 80, 90, 60]
    numbered = read_table(pd.DataFrame(np.eye(2)))
    assert list(numbered.columns) == ["0", "1"]


def test_read_table_takes_polars(patients) -> None:
    pl = pytest.importorskip("polars")
    df = read_table(pl.from_pandas(patients))
    assert df["age"].tolist() == [20.0, 40.0, 60.0, 30.0]


def test_read_table_missing_file(tmp_path) -> None:
    path = tmp_path / "nothere.csv"
    with pytest.raises(InputError, match=r"^No such file: '.*nothere\.csv'\. Check the path\.$"):
        read_table(path)


def test_read_table_names_the_path_as_given(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^No such file: '\./x\.csv'\. Check the path\.$"):
        read_table("./x.csv")


def test_read_table_unknown_extension(tmp_path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_text("a\n1\n")
    with pytest.raises(
        InputError, match=r"unsupported file type '\.xlsx'\. Use one of \.csv, \.parquet, \.pq\."
    ):
        read_table(path)


def test_read_table_corrupt_parquet(tmp_path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(
        InputError, match=r"Cannot read '.*broken\.parquet' as Parquet: .*valid Parquet file\.$"
    ) as caught:
        read_table(path)
    assert "not a parquet file. Check" in str(caught.value)  # one period, not two


def test_a_semicolon_separated_csv_is_pointed_out(tmp_path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("x;t\n1;2\n3;4\n")
    with pytest.raises(
        InputError,
        match=r"^Unknown target column 't'\. Available columns: 'x;t'\. The file seems separated "
        r"by ';', not commas: save it as a comma-separated CSV file\.$",
    ):
        select_columns(read_table(path), "t")


def test_read_table_ragged_csv(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match=r"as CSV: .*Expected 2 fields in line 3, saw 3"):
        read_table(path)


def test_read_table_binary_csv(tmp_path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 0x89 at position 0\)"):
        read_table(path)


def test_read_table_empty_tables(tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"'.*empty\.csv' is empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(InputError, match=r"'.*header\.csv' has no data rows"):
        read_table(header)
    with pytest.raises(InputError, match=r"^The table has no columns"):
        read_table(pd.DataFrame(index=[0, 1]))


def test_read_table_rejects_repeated_names_and_other_things() -> None:
    with pytest.raises(InputError, match=r"more than one column named 'a'"):
        read_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(InputError, match=r"got int\.$"):
        read_table(42)


def test_missing_pandas_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(
        InputError, match=r"optional package 'pandas'; install it: pip install 'descend\[cli\]'"
    ):
        read_table("x.csv")


# ----- select_columns --------------------------------------------------------------------
def test_select_columns(patients) -> None:
    assert select_columns(patients, "y") == (["age", "weight", "sex", "site"], "y")
    assert select_columns(patients, "y", ["sex", "age"]) == (["sex", "age"], "y")
    assert select_columns(patients, "y", "age") == (["age"], "y")


def test_select_columns_errors(patients) -> None:
    with pytest.raises(
        InputError,
        match=(
            r"Unknown target column 'Y'\. Available columns: 'age', "
            r"'weight', 'sex', 'site', 'y'\. Did you mean 'y'\?"
        ),
    ):
        select_columns(patients, "Y")
    with pytest.raises(
        InputError,
        match=r"Unknown feature columns 'agee', 'bmi'\. Available columns: .*Did you mean 'age'\?",
    ):
        select_columns(patients, "y", ["agee", "bmi"])
    with pytest.raises(InputError, match=r"target column 'y' is also listed as a feature"):
        select_columns(patients, "y", ["age", "y"])
    with pytest.raises(InputError, match=r"'age' is listed twice"):
        select_columns(patients, "y", ["age", "age"])
    with pytest.raises(InputError, match=r"only the target column 'y'"):
        select_columns(patients[["y"]], "y")


@pytest.mark.parametrize(
    "header, repeated",
    [("age,weight,inr,inr", "'inr'"), ("age,age,inr", "'age'"), ("a,b,a,b,y", "'a', 'b'")],
)
def test_a_csv_with_a_repeated_column_name_is_refused_naming_it(tmp_path, header, repeated):
    path = tmp_path / "t.csv"
    width = len(header.split(","))
    path.write_text(header + "\n" + ",".join(["1"] * width) + "\n")
    with pytest.raises(InputError) as error:
        read_table(path)
    assert str(error.value) == (
        f"'{path}' has more than one column named {repeated}; give every column a different name."
    )


def test_a_parquet_file_with_a_repeated_column_name_is_refused_naming_it(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4], [5, 6]], names=["a", "y", "a"]), path)
    with pytest.raises(InputError, match="more than one column named 'a'; give every"):
        read_table(path)


def test_the_files_own_names_are_kept(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,a.1,y\n1,2,3\n")  # 'a.1' is a name of its own, not pandas' renaming
    assert list(read_table(path).columns) == ["a", "a.1", "y"]
