"""Tests for descend.data: tables, preprocessing, labels, splits, batches, Dask blocks."""

from __future__ import annotations

import doctest
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import descend.data as data
from descend.data import (
    DataWarning,
    LabelEncoder,
    Preprocessor,
    batch_indices,
    check_class_labels,
    check_table,
    infer_task,
    iter_dask_blocks,
    read_table,
    row_blocks,
    select_columns,
    to_array,
    train_validation_split,
)
from descend.errors import InputError


@pytest.fixture
def patients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20.0, 40.0, 60.0, 30.0],
            "weight": [70, 80, 90, 60],
            "sex": ["f", "m", "f", "m"],
            "site": ["a", "b", "c", "a"],
            "y": [1.5, 2.5, 3.0, 0.5],
        }
    )


def _std(xs: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation, the long way."""
    mean = sum(xs) / len(xs)
    return mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))


def test_module_docstring_example_runs() -> None:
    assert doctest.testmod(data).failed == 0


def test_import_needs_numpy_only() -> None:
    code = (
        "import sys, descend, descend.data; print('pandas' in "
        "sys.modules, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


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


# ----- infer_task ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "y, task",
    [
        ([0, 1, 1, 0], "binary"),
        (["no", "yes", "yes"], "binary"),
        ([True, False, True], "binary"),
        ([1.0, 3.0, 1.0], "binary"),  # two whole numbers
        ([5.599, 6.020, 5.599], "regression"),  # two values that are not whole: not classes
        (pd.Series(["2.5", "7.5", "2.5"]), "regression"),  # the same, as text
        ([0.1, 0.2, 0.3, 0.4], "regression"),
        (np.arange(40) % 4, "multiclass"),  # 4 integer values, 40 rows
        (np.arange(40.0) % 4, "multiclass"),  # integral floats count as integers
        (np.arange(100) % 21, "regression"),  # 21 values > MAX_CLASSES
        (np.arange(10) % 6, "regression"),  # 6 values > 10 rows / 2
        (["a", "b", "c", "a"], "multiclass"),
        (pd.Series([3, 1, 2], dtype="category"), "multiclass"),
        (pd.Series(["1", "2", "3", "1", "2", "3", "1"]), "multiclass"),  # numbers as text
    ],
)
def test_infer_task(y, task) -> None:
    assert infer_task(y) == task


def test_numbers_that_are_not_whole_are_not_class_labels() -> None:
    check_class_labels([0.0, 1.0, 2.0], "y", "fix.")
    check_class_labels(["a", "b"], "y", "fix.")
    check_class_labels(pd.Series([0.5, 1.5], dtype="category"), "y", "fix.")
    with pytest.raises(
        InputError,
        match=r"^Target 'y' holds continuous numbers, not whole \(such as 5\.599\), which are "
        r"values to predict, not class labels; fix\.$",
    ):
        check_class_labels([6.0, 5.599, 6.02], "y", "fix.")


def test_infer_task_errors() -> None:
    with pytest.raises(
        InputError,
        match=r"^Target 'y' has one class only \('a'\); a classifier needs at least two\.$",
    ):
        infer_task(pd.Series(["a", "a"], name="y"))
    with pytest.raises(
        InputError, match=r"Target 'y' has a missing value in row 1 \(1 missing in all\)"
    ):
        infer_task([1.0, None, 2.0])
    stray = pd.Series(["1.5", "2.5", "oops", "3.5", "4.5"], name="inr")
    with pytest.raises(
        InputError, match=r"Target 'inr' should hold numbers but row 2 holds 'oops'"
    ):
        infer_task(stray)


# ----- Preprocessor ------------------------------------------------------------------------
def test_standardises_numbers_and_one_hot_encodes_text(patients) -> None:
    pre = Preprocessor().fit(patients, ["age", "sex", "weight", "site"])
    assert pre.input_features_ == ["age", "sex", "weight", "site"]
    assert pre.feature_names_out_ == [
        "age",
        "sex=f",
        "sex=m",
        "weight",
        "site=a",
        "site=b",
        "site=c",
    ]
    X = pre.transform(patients)
    assert X.dtype == np.float64 and X.shape == (4, 7)
    for name, column in (("age", 0), ("weight", 3)):
        xs = [float(v) for v in patients[name]]
        mean, std = _std(xs)
        assert pre.means_[name] == pytest.approx(mean, rel=1e-15)
        assert pre.scales_[name] == pytest.approx(std, rel=1e-15)
        np.testing.assert_allclose(X[:, column], [(x - mean) / std for x in xs], rtol=1e-14)
    # ages 20, 40, 60, 30: mean 37.5, std sqrt(218.75)
    assert X[0, 0] == pytest.approx(-17.5 / math.sqrt(218.75), rel=1e-15)
    np.testing.assert_array_equal(X[:, [1, 2]], [[1, 0], [0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(X[:, 4:], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    assert pre.categories_ == {"sex": ["f", "m"], "site": ["a", "b", "c"]}


def test_arrow_tables_fit_and_transform_like_dataframes(patients) -> None:
    features = ["age", "sex"]
    expected = Preprocessor().fit_transform(patients, features)
    table = pa.Table.from_pandas(patients)
    assert Preprocessor().fit_transform(table, features).tobytes() == expected.tobytes()


def test_constant_column_gets_scale_one_and_becomes_zero() -> None:
    df = pd.DataFrame({"c": [0.1, 0.1, 0.1], "x": [1.0, 2.0, 3.0]})
    pre = Preprocessor().fit(df, check=False)
    assert pre.scales_["c"] == 1.0 and pre.means_["c"] == 0.1
    np.testing.assert_array_equal(pre.transform(df)[:, 0], [0.0, 0.0, 0.0])


def test_without_standardisation_numbers_pass_through(patients) -> None:
    pre = Preprocessor(standardize=False).fit(patients, ["age", "weight"], check=False)
    assert pre.means_ == {"age": 0.0, "weight": 0.0}
    assert pre.scales_ == {"age": 1.0, "weight": 1.0}
    np.testing.assert_array_equal(
        pre.transform(patients), patients[["age", "weight"]].to_numpy(float)
    )


def test_unseen_category_is_all_zeros(patients) -> None:
    pre = Preprocessor().fit(patients, ["site"])
    new = pd.DataFrame({"site": ["c", "z"]})
    np.testing.assert_array_equal(pre.transform(new), [[0, 0, 1], [0, 0, 0]])


def test_transform_ignores_extra_columns_and_takes_arrays(patients) -> None:
    pre = Preprocessor().fit(patients, ["age", "weight"])
    expected = pre.transform(patients[["age", "weight"]])
    np.testing.assert_array_equal(pre.transform(patients), expected)
    np.testing.assert_array_equal(pre.transform(patients[["age", "weight"]].to_numpy()), expected)
    assert pre.fit_transform(patients, ["age", "weight"]).tobytes() == expected.tobytes()


def test_to_dict_from_dict_is_bitwise_identical() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "x": rng.normal(3.0, 1e-3, 50) * 1e5,
            "n": rng.integers(0, 100, 50),
            "flag": rng.integers(0, 2, 50).astype(bool),
            "colour": rng.choice(["red", "green", "blue"], 50),
            "ward": rng.choice([3, 7, 11], 50),
        }
    )
    df.loc[[4, 9], "x"] = np.nan
    df.loc[5, "colour"] = None
    pre = Preprocessor(impute="median", categorical=["ward"]).fit(df, check=False)
    saved = json.loads(json.dumps(pre.to_dict()))
    again = Preprocessor.from_dict(saved)
    assert again.transform(df).tobytes() == pre.transform(df).tobytes()
    assert again.feature_names_out_ == pre.feature_names_out_
    assert again.fill_values_ == pre.fill_values_
    assert pre.categories_["flag"] == [False, True]
    assert type(pre.categories_["flag"][0]) is bool
    assert pre.categories_["ward"] == [3, 7, 11] and type(pre.categories_["ward"][0]) is int
    assert "ward=7" in pre.feature_names_out_ and "flag=True" in pre.feature_names_out_


def test_missing_value_without_impute_names_column_and_row(patients) -> None:
    df = patients.assign(age=[20.0, np.nan, 60.0, np.nan])
    with pytest.raises(
        InputError,
        match=(
            r"^Column 'age' has a missing value in row 1 \(2 missing in "
            r"all\); .*set impute to 'mean', 'median' or 'most_frequent'\.$"
        ),
    ):
        Preprocessor().fit(df, ["age"])
    with pytest.raises(
        InputError,
        match=r"Column 'sex' has a missing value in row 2 .*impute='most_frequent' to fill",
    ):
        Preprocessor().fit(patients.assign(sex=["f", "m", None, "f"]), ["sex"])
    # rows keep their labels in a subset: row 3 of the file, not row 1 of the subset
    with pytest.raises(InputError, match=r"missing value in row 3 "):
        Preprocessor().fit(df.iloc[[2, 3]], ["age"], check=False)


@pytest.mark.parametrize(
    "impute, fill", [("mean", 40.0), ("median", 30.0), ("most_frequent", 20.0)]
)
def test_impute(impute, fill) -> None:
    df = pd.DataFrame(
        {"age": [20.0, 20.0, np.nan, 80.0, 30.0, 50.0], "sex": ["m", "f", None, "f", "m", "f"]}
    )
    pre = Preprocessor(impute=impute).fit(df, check=False)
    assert pre.fill_values_ == {"age": fill, "sex": "f"}
    filled = [20.0, 20.0, fill, 80.0, 30.0, 50.0]
    mean, std = _std(filled)
    X = pre.transform(df)
    np.testing.assert_allclose(X[:, 0], [(x - mean) / std for x in filled], rtol=1e-14)
    np.testing.assert_array_equal(X[2, 1:], [1.0, 0.0])


def test_impute_at_transform_when_fit_saw_no_gaps(patients) -> None:
    pre = Preprocessor(impute="mean").fit(patients, ["age", "site"])
    X = pre.transform(pd.DataFrame({"age": [np.nan], "site": [None]}))
    np.testing.assert_array_equal(X, [[0.0, 1.0, 0.0, 0.0]])  # the mean, and the first of ties


def test_stray_text_in_numeric_csv_column(tmp_path) -> None:
    path = tmp_path / "dose.csv"
    path.write_text("age,dose\n20,1.5\n30,2.0\n40,abc\n50,3.5\n60,4.0\n")
    df = read_table(path)
    with pytest.raises(
        InputError,
        match=(
            r"^Column 'dose' should hold numbers but row 2 holds 'abc'; fix "
            r"the value .*declare the column categorical"
        ),
    ):
        Preprocessor().fit(df, ["age", "dose"])


def test_text_in_a_column_that_was_numeric_at_fit(patients) -> None:
    pre = Preprocessor().fit(patients, ["age"])
    bad = pd.DataFrame({"age": ["20", "4O", "x"]})
    with pytest.raises(
        InputError,
        match=(
            r"^Column 'age' should hold numbers but row 1 holds '4O' "
            r"\(and 1 more non-numbers\); replace it"
        ),
    ):
        pre.transform(bad)
    np.testing.assert_array_equal(pre.transform(pd.DataFrame({"age": [" 37.5 "]})), [[0.0]])


def test_text_columns_mostly_words_stay_categorical_and_numeric_text_is_numeric() -> None:
    df = pd.DataFrame({"grade": ["a", "b", "3", "a"], "n": ["1", "2", "3", "4"]})
    pre = Preprocessor(standardize=False).fit(df, check=False)
    assert pre.kinds_ == {"grade": "categorical", "n": "numeric"}
    assert pre.feature_names_out_ == ["grade=3", "grade=a", "grade=b", "n"]
    np.testing.assert_array_equal(pre.transform(df)[:, 3], [1.0, 2.0, 3.0, 4.0])


def test_infinite_values_are_errors(patients) -> None:
    with pytest.raises(InputError, match=r"^Column 'age' has an infinite value \(inf\) in row 2; "):
        Preprocessor(impute="mean").fit(patients.assign(age=[1.0, 2.0, np.inf, 3.0]), ["age"])
    pre = Preprocessor().fit(patients, ["age"])
    with pytest.raises(InputError, match=r"infinite value \(-inf\) in row 0"):
        pre.transform(pd.DataFrame({"age": [-np.inf]}))


def test_missing_columns_at_transform() -> None:
    df = pd.DataFrame(
        {"age": [1.0, 2.0], "weight": [3.0, 5.0], "creatinine": [1.0, 0.5], "dose": [2.0, 1.0]}
    )
    pre = Preprocessor().fit(df, check=False)
    with pytest.raises(
        InputError,
        match=(
            r"^X has 3 of the 4 columns the model was trained on \(age, "
            r"weight, creatinine, dose\); missing: dose\."
        ),
    ):
        pre.transform(df.drop(columns="dose"))
    with pytest.raises(
        InputError,
        match=(
            r"^X has 3 columns but the model was trained on 4 "
            r"\(age, weight, creatinine, dose\)\."
        ),
    ):
        pre.transform(np.zeros((2, 3)))


def test_preprocessor_parameter_errors(patients) -> None:
    with pytest.raises(
        InputError,
        match=(
            r"'impute' parameter of Preprocessor must be one of None, 'mean', "
            r"'median', 'most_frequent'\. Got 'avg' instead\."
        ),
    ):
        Preprocessor(impute="avg")
    with pytest.raises(InputError, match=r"not fitted yet"):
        Preprocessor().transform(patients)
    with pytest.raises(
        InputError, match=r"Column 'sex' holds categories, which need one-hot encoding"
    ):
        Preprocessor(one_hot=False).fit(patients, ["age", "sex"])
    with pytest.raises(InputError, match=r"Unknown categorical feature 'ward'"):
        Preprocessor(categorical=["ward"]).fit(patients, ["age"])
    dates = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    with pytest.raises(InputError, match=r"Column 'when' holds dates or times"):
        Preprocessor().fit(dates)
    with pytest.raises(InputError, match=r"not a saved Preprocessor"):
        Preprocessor.from_dict({"columns": []})
    broken = Preprocessor().fit(patients, ["age"]).to_dict()
    del broken["columns"][0]["mean"]
    with pytest.raises(InputError, match=r"damaged \(bad or missing entry 'mean'\)"):
        Preprocessor.from_dict(broken)


def test_constructor_stores_arguments_unchanged() -> None:
    pre = Preprocessor(standardize=False, one_hot=True, impute="median", categorical="ward")
    assert (pre.standardize, pre.one_hot, pre.impute, pre.categorical) == (
        False,
        True,
        "median",
        "ward",
    )


# ----- check_table ---------------------------------------------------------------------
def test_check_table_clean_table_has_no_warnings(patients) -> None:
    assert check_table(patients, ["age", "weight", "sex", "site"], "y") == []


def test_check_table_finds_each_problem() -> None:
    df = pd.DataFrame(
        {
            "const": [5.0, 5.0, 5.0],
            "a": [1.0, 2.0, 3.0],
            "a_copy": [1, 2, 3],
            "big": [1e5, 3e5, 2e5],
            "leak": [0.0, 1.0, 0.0],
            "y": [0, 1, 0],
        }
    )
    messages = check_table(df, ["const", "a", "a_copy", "big", "leak"], "y", standardize=False)
    assert messages == [
        "Constant column(s) 'const' hold a single value and carry no information; drop them.",
        "Duplicated columns hold identical values: 'a' = 'a_copy'; keep one of each.",
        "Feature(s) 'leak' are identical to the target 'y'; the "
        "model would just copy them. Drop them.",
        "Features are on very different scales without standardisation (std of 'big' is 8.16e+04, "
        "of 'leak' is 0.471, ratio 1.73e+05); gradient descent "
        "will crawl. Turn standardisation on.",
        "There are more features (5) than rows (3); the model can fit the training rows exactly "
        "and will not generalise. Use more rows or fewer features.",
    ]
    assert not any("scales" in m for m in check_table(df, ["a", "big"], "y", standardize=True))


def test_check_table_finds_identifier_columns() -> None:
    df = pd.DataFrame({"patient": [f"P{i:03d}" for i in range(25)], "x": np.arange(25.0) % 5})
    assert check_table(df, ["patient", "x"]) == [
        "Column(s) 'patient' have a different value in every row (identifiers?); one-hot "
        "encoding would add 25 columns each that cannot generalise. Drop them."
    ]


def test_fit_warns_unless_told_not_to() -> None:
    df = pd.DataFrame({"const": [1.0, 1.0, 1.0, 1.0], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(DataWarning, match=r"Constant column\(s\) 'const'"):
        Preprocessor().fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Preprocessor().fit(df, check=False)


# ----- LabelEncoder -----------------------------------------------------------------------
def test_label_encoder_round_trip() -> None:
    enc = LabelEncoder().fit(pd.Series(["setosa", "virginica", "versicolor", "setosa"]))
    assert enc.classes_ == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(enc.transform(["virginica", "setosa"]), [2, 0])
    assert enc.transform(["virginica"]).dtype == np.int64
    assert enc.inverse_transform(np.array([1, 2])).tolist() == ["versicolor", "virginica"]
    again = LabelEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again.classes_ == enc.classes_


def test_label_encoder_keeps_python_types() -> None:
    enc = LabelEncoder().fit(np.array([3, 1, 2, 3]))
    assert enc.classes_ == [1, 2, 3] and all(type(c) is int for c in enc.classes_)
    assert json.dumps(enc.to_dict()) == '{"classes": [1, 2, 3]}'
    assert LabelEncoder().fit([True, False]).classes_ == [False, True]


def test_label_encoder_errors() -> None:
    enc = LabelEncoder().fit(["a", "b", "c"])
    with pytest.raises(
        InputError,
        match=(
            r"^Unknown label 'z' in row 1 of target 'y'; the model "
            r"knows 3 classes: 'a', 'b', 'c'\.$"
        ),
    ):
        enc.transform(["a", "z"])
    with pytest.raises(
        InputError, match=r"must be integers in 0\.\.2 \(there are 3 classes\); got 3\."
    ):
        enc.inverse_transform([0, 3])
    with pytest.raises(InputError, match=r"got an array of float64"):
        enc.inverse_transform([0.0, 1.0])
    with pytest.raises(InputError, match=r"Target 'label' has a missing value in row 2"):
        LabelEncoder().fit(pd.Series(["a", "b", None], name="label"))
    with pytest.raises(InputError, match=r"not fitted yet"):
        LabelEncoder().transform(["a"])
    with pytest.raises(InputError, match=r"not a saved LabelEncoder"):
        LabelEncoder.from_dict({"labels": []})


# ----- splits, batches, blocks ------------------------------------------------------------
def test_train_validation_split() -> None:
    train, val = train_validation_split(10, 0.2, seed=0)
    assert len(train) == 8 and len(val) == 2
    np.testing.assert_array_equal(val, np.sort(np.random.default_rng(0).permutation(10)[:2]))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(10))
    big_train, big_val = train_validation_split(100, 0.3, seed=3)
    assert len(big_val) == 30 and (np.diff(big_val) > 0).all() and (np.diff(big_train) > 0).all()
    again = train_validation_split(10, 0.2, seed=0)
    np.testing.assert_array_equal(again[1], val)
    assert len(train_validation_split(3, 0.01, seed=1)[1]) == 1  # at least one row
    assert len(train_validation_split(3, 0.99, seed=1)[0]) == 1  # at least one row to train on


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, True, "0.2"])
def test_train_validation_split_fraction_errors(fraction) -> None:
    with pytest.raises(
        InputError,
        match=(
            r"'fraction' parameter of train_validation_split must be a "
            r"number in \(0, 1\)\. Got .* instead\."
        ),
    ):
        train_validation_split(10, fraction, seed=0)


def test_train_validation_split_needs_two_rows() -> None:
    with pytest.raises(
        InputError,
        match=(
            r"'n_rows' parameter of train_validation_split must be "
            r"an int in \[2, inf\)\. Got 1 instead\."
        ),
    ):
        train_validation_split(1, 0.5, seed=0)


def test_batch_indices() -> None:
    batches = [b.tolist() for b in batch_indices(7, 3, shuffle=False)]
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    shuffled = list(batch_indices(7, 3, shuffle=True, rng=np.random.default_rng(1)))
    assert [len(b) for b in shuffled] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(shuffled), np.random.default_rng(1).permutation(7))
    assert [b.tolist() for b in batch_indices(3, 10, shuffle=False)] == [[0, 1, 2]]


@pytest.mark.parametrize("size", [0, -1, 2.5, True, None])
def test_batch_size_errors(size) -> None:
    with pytest.raises(
        InputError,
        match=r"^The 'batch_size' parameter of batch_indices must be an int in \[1, inf\)\.",
    ):
        list(batch_indices(5, size, shuffle=False))


def test_row_blocks() -> None:
    assert list(row_blocks(5, 2)) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert list(row_blocks(4, 4)) == [slice(0, 4)]
    with pytest.raises(
        InputError,
        match=r"'block_size' parameter of row_blocks must be an int in \[1, inf\)\. Got 0",
    ):
        list(row_blocks(4, 0))


# ----- to_array --------------------------------------------------------------------------
def test_to_array() -> None:
    X = to_array([[1, 2], [3, 4]])
    assert X.dtype == np.float64 and X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    frame = to_array(pd.DataFrame({"a": [1, 2], "b": ["3", "4.5"]}))
    assert frame.tolist() == [[1.0, 3.0], [2.0, 4.5]]
    y = to_array(np.array([[1], [0]]), "y", ndim=1)
    assert y.shape == (2,) and y.tolist() == [1.0, 0.0]
    assert to_array(pd.Series([1, 2]), "y", ndim=1).tolist() == [1.0, 2.0]


def test_to_array_errors() -> None:
    with pytest.raises(
        InputError,
        match=r"^X must be 2-D; got shape \(3,\)\. For a single feature use X\.reshape\(-1, 1\)\.$",
    ):
        to_array([1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"^X column 1 has a missing value \(NaN\) in row 2; "):
        to_array([[1, 2], [3, 4], [5, np.nan]])
    with pytest.raises(InputError, match=r"^X column 0 has an infinite value \(inf\) in row 1; "):
        to_array(np.array([[1.0], [np.inf]]))
    with pytest.raises(
        InputError,
        match=r"^X column 'b' should hold numbers but row 1 holds 'x'; .*use Preprocessor",
    ):
        to_array(pd.DataFrame({"a": [1, 2], "b": ["3", "x"]}))
    with pytest.raises(InputError, match=r"^X column 'a' has a missing value \(NaN\) in row 12;"):
        to_array(pd.DataFrame({"a": [1.0, np.nan]}, index=[11, 12]))
    with pytest.raises(InputError, match=r"^y has a missing value \(NaN\) in row 0;"):
        to_array([np.nan, 1.0], "y", ndim=1)
    with pytest.raises(InputError, match=r"X is empty"):
        to_array(np.zeros((0, 3)))


# ----- Dask -----------------------------------------------------------------------------
def test_iter_dask_blocks_dataframe(patients) -> None:
    dd = pytest.importorskip("dask.dataframe")
    df = pd.concat([patients] * 3, ignore_index=True)
    ddf = dd.from_pandas(df, npartitions=3)
    features = ["age", "weight", "sex", "site"]
    pre = Preprocessor().fit(df, features)
    blocks = list(iter_dask_blocks(ddf, features, "y", pre))
    assert len(blocks) == 3
    X = np.concatenate([x for x, _ in blocks])
    y = np.concatenate([y for _, y in blocks])
    assert X.tobytes() == pre.transform(df).tobytes()
    np.testing.assert_array_equal(y, df["y"].to_numpy())

    enc = LabelEncoder().fit(df["sex"])
    labels = np.concatenate([y for _, y in iter_dask_blocks(ddf, ["age"], "sex", None, enc)])
    np.testing.assert_array_equal(labels, enc.transform(df["sex"]))


def test_iter_dask_blocks_array() -> None:
    da = pytest.importorskip("dask.array")
    full = np.arange(30.0).reshape(10, 3)
    blocks = list(iter_dask_blocks(da.from_array(full, chunks=(4, 2)), None, 2, None))
    assert [x.shape for x, _ in blocks] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in blocks]), full[:, :2])
    np.testing.assert_array_equal(np.concatenate([y for _, y in blocks]), full[:, 2])
    with pytest.raises(InputError, match=r"column positions in 0\.\.2; got 5"):
        list(iter_dask_blocks(da.from_array(full), [0, 5], None))


def test_iter_dask_blocks_errors(patients) -> None:
    dd = pytest.importorskip("dask.dataframe")
    bad = patients.assign(age=[1.0, 2.0, 3.0, np.nan])
    ddf = dd.from_pandas(bad, npartitions=2)
    pre = Preprocessor().fit(patients, ["age"])
    with pytest.raises(
        InputError, match=r"^Partition 1: Column 'age' has a missing value in row 3 "
    ):
        list(iter_dask_blocks(ddf, ["age"], "y", pre))
    with pytest.raises(InputError, match=r"Unknown target column 'z'"):
        list(iter_dask_blocks(ddf, ["age"], "z", pre))
    with pytest.raises(
        InputError, match=r"needs a Dask DataFrame or a 2-D Dask Array; got DataFrame"
    ):
        list(iter_dask_blocks(patients, ["age"], "y"))


def test_unseen_categories_at_transform_are_warned_about_and_encoded_as_none():
    train = pd.DataFrame({"colour": ["red", "blue", "red"], "x": [1.0, 2.0, 3.0]})
    pre = Preprocessor().fit(train)
    new = pd.DataFrame({"colour": ["Red", "blue", "purple"], "x": [1.0, 2.0, 3.0]})
    with pytest.warns(
        DataWarning,
        match=r"Column 'colour' has 2 value\(s\) not seen in training \('Red', 'purple'\) in 2 row\(s\)",
    ):
        out = pre.transform(new)
    colour = [i for i, n in enumerate(pre.feature_names_out_) if n.startswith("colour=")]
    np.testing.assert_array_equal(out[:, colour].sum(axis=1), [0.0, 1.0, 0.0])


# ----- sample weights: one check, one set of words --------------------------------------
@pytest.mark.parametrize(
    ("weight", "words"),
    [
        (np.ones((6, 2)), r"one number per row of X, shape \(6,\), or one number for all rows"),
        (np.ones((6, 1)), r"got shape \(6, 1\)"),
        (np.ones(5), r"X has 6 rows but sample_weight has 5; give one weight per row"),
        (np.r_[1.0, -2.0, np.ones(4)], r"negative value \(-2\) in row 1"),
        (np.zeros(6), "zero in every row; give it at least one non-zero number"),
        (np.r_[np.nan, np.ones(5)], "NaN"),
    ],
)
def test_fit_and_the_estimators_refuse_bad_weights_in_the_same_words(weight, words, monkeypatch):
    import descend
    from descend import Regressor, nn
    from descend.data import inputs

    X = np.arange(12.0).reshape(6, 2)
    y = X[:, 0]
    with pytest.raises(InputError, match=words) as by_fit:
        descend.fit(nn.Linear(2, 1), X, y, sample_weight=weight, epochs=1, verbose=False)
    monkeypatch.setattr(inputs, "sklearn_validation", lambda: None)  # descend's own check
    with pytest.raises(InputError) as by_estimator:
        Regressor(epochs=1).fit(X, y, sample_weight=weight)
    assert str(by_estimator.value) == str(by_fit.value)


def test_one_weight_for_all_rows_is_that_weight_in_every_row():
    assert data.row_weights(2.5, 3).tolist() == [2.5, 2.5, 2.5]
    assert data.row_weights([1, 0, 3], 3, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("n_rows", [2, 3, 7, 10, 101])
@pytest.mark.parametrize("fraction", [0.01, 0.2, 0.5, 0.99])
def test_validation_size_is_the_size_of_the_split_made_later(n_rows, fraction):
    held = data.train_validation_split(n_rows, fraction, seed=3)[1]
    assert data.validation_size(n_rows, fraction) == len(held)
    assert data.validation_size(n_rows, None) == 0


def test_checking_class_labels_gives_their_encoder():
    encoder = check_class_labels(pd.Series(["b", "a", "b"]), "y", "fix.")
    assert encoder.classes_ == ["a", "b"]
    assert encoder.transform(["b", "a"]).tolist() == [1, 0]
