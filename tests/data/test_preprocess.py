"""Tests for descend.data.preprocess: the Preprocessor (standardisation, one-hot encoding,
imputation, saving) and the table checks."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import descend
from descend.data import (
    DataWarning,
    Preprocessor,
    check_table,
    read_table,
)
from descend.data.preprocess import mean_std
from descend.errors import InputError


def _std(xs: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation, the long way."""
    mean = sum(xs) / len(xs)
    return mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))


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


ORDINARY = st.floats(-1e6, 1e6).filter(lambda v: v == 0 or abs(v) > 1e-100)


@given(arrays(np.float64, st.integers(1, 30), elements=ORDINARY))
def test_scaled_statistics_are_numpys_own_bits_for_ordinary_numbers(values):
    assert mean_std(values) == (float(values.mean()), float(values.std()))


def test_scaled_statistics_neither_overflow_nor_underflow():
    assert mean_std(np.array([1.5e308, -1.5e308])) == (0.0, 1.5e308)
    assert mean_std(np.array([0.0, 4e-250])) == (2e-250, 2e-250)  # NumPy's std: 0.0


def test_numbers_near_the_float64_limit_are_standardised_without_overflow():
    df = pd.DataFrame({"a": [1.5e308, 1.5e308, -1e308, 1e308], "b": [1.0, 2.0, 3.0, 4.0]})
    pre = Preprocessor().fit(df)
    assert pre.means_["a"] == pytest.approx(0.75e308, rel=1e-15)
    assert pre.scales_["a"] == pytest.approx(1.0625**0.5 * 1e308, rel=1e-15)
    small = np.array([1.5, 1.5, -1.0, 1.0])  # the same column, 1e308 times smaller
    np.testing.assert_allclose(pre.transform(df)[:, 0], (small - 0.75) / 1.0625**0.5, rtol=1e-14)


def test_a_value_too_far_from_the_training_rows_is_refused_with_a_true_message():
    pre = Preprocessor().fit(pd.DataFrame({"a": [1.0, 1.0 + 2e-16 * 8]}))
    with pytest.raises(InputError, match=r"Column 'a' holds 1.79e\+308 in row 0, more than 1e308"):
        pre.transform(pd.DataFrame({"a": [1.79e308]}))


def test_original_units_undo_the_standardisation():
    X, y, names = descend.datasets.load_patients()
    model = descend.Regressor(epochs=3000, tol=None).fit(pd.DataFrame(X, columns=names), y)
    coef, intercept = model.preprocessor_.original_units(
        model.module_.weight.data, model.module_.bias.data
    )
    exact = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    np.testing.assert_allclose([*coef[:, 0], intercept[0]], exact, rtol=1e-9)
