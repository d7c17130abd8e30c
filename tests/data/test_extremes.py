"""Tables at the edges: repeated column names, numbers near 1e308, one row, infinite targets.
Each is refused (or handled) with a message that says what is really wrong."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import descend
from descend.data import Preprocessor, infer_task, read_table
from descend.data.preprocess import mean_std
from descend.errors import InputError
from descend.models import choose


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


def test_one_row_says_so_not_single_class():
    with pytest.raises(InputError, match="^Target 'y' has a single row; a model cannot learn"):
        infer_task(pd.Series([2.0], name="y"))


def test_an_infinite_target_says_so_not_holds_text():
    y = pd.Series([1.0, np.inf, 3.0, 4.5], name="y")
    with pytest.raises(InputError, match=r"^Target 'y' has an infinite value \(inf\) in row 1"):
        choose(y, task="regression", name="y")
    with pytest.raises(InputError, match="holds text, not numbers"):
        choose(pd.Series(["a", "b"], name="y"), task="regression", name="y")


@pytest.mark.parametrize("size", [1e150, 1.7e308])
def test_a_regression_target_too_large_to_square_is_refused_naming_the_fix(size):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = pd.Series([1.0, -size, 3.0, 2.0], name="y")
    power = int(np.floor(np.log10(size)))
    shown = re.escape(f"{-size:.3g}")
    with pytest.raises(InputError, match=rf"^Target 'y' holds {shown};.*by 1e{power} \("):
        descend.Regressor(epochs=2).fit(X, y)
    descend.Regressor(epochs=2).fit(X, y / 10 ** (power - 149))  # below 1e150: it trains
