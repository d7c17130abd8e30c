"""Preprocessing statistics over row blocks equal Preprocessor.fit on all the rows at once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend.data import Preprocessor
from descend.data.running import PreprocessorStats, TargetStats
from descend.errors import InputError
from descend.models import choose

pd = pytest.importorskip("pandas")


def frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.normal(5, 3, n),
            "code": rng.integers(0, 4, n).astype(float),
            "town": rng.choice(["x", "y", "z"], n),
            "k": np.full(n, 2.0),
        }
    )
    if n > 10:
        df.loc[[3, n - 5], "a"] = np.nan
        df.loc[[7], "town"] = None
    return df


def in_blocks(df, pre, sizes, groups=3):
    """Statistics of blocks of ``sizes`` rows, gathered in ``groups`` and merged."""
    parts = [PreprocessorStats(pre, list(df.columns)) for _ in range(groups)]
    start = 0
    for i, size in enumerate(sizes):
        parts[i % groups].update(df.iloc[start : start + size])
        start += size
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    return merged.fitted()


def same(a, b):
    assert a.kinds_ == b.kinds_ and a.categories_ == b.categories_
    assert a.feature_names_out_ == b.feature_names_out_
    for name in a.means_:
        assert a.means_[name] == pytest.approx(b.means_[name], rel=1e-13, abs=1e-13)
        assert a.scales_[name] == pytest.approx(b.scales_[name], rel=1e-13)
    assert a.fill_values_.keys() == b.fill_values_.keys()
    for name, value in a.fill_values_.items():
        expected = b.fill_values_[name]
        assert value == (expected if isinstance(expected, str) else pytest.approx(expected))


@pytest.mark.parametrize("impute", ["mean", "most_frequent"])
def test_blocks_merged_in_any_grouping_give_what_fit_gives(impute):
    df = frame()
    expected = Preprocessor(impute=impute, categorical=["code"]).fit(df, check=False)
    got = in_blocks(df, Preprocessor(impute=impute, categorical=["code"]), [100] * 6)
    same(got, expected)
    np.testing.assert_allclose(got.transform(df), expected.transform(df), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 120), min_size=1, max_size=8), st.integers(1, 4))
def test_any_block_sizes_give_the_same_statistics(sizes, groups):
    df = frame(sum(sizes), seed=len(sizes))
    expected = Preprocessor(impute="most_frequent").fit(df, check=False)
    same(in_blocks(df, Preprocessor(impute="most_frequent"), sizes, groups), expected)


def test_a_missing_value_without_impute_names_its_row_in_the_whole_table():
    df = frame()
    stats = PreprocessorStats(Preprocessor(), ["a", "k"])
    stats.update(df.iloc[:3])
    with pytest.raises(InputError, match="missing value in row 3"):
        stats.update(df.iloc[3:6])


def test_the_median_needs_every_value_at_once():
    with pytest.raises(InputError, match="impute='median'"):
        PreprocessorStats(Preprocessor(impute="median"), ["a"])


def test_a_column_of_numbers_then_text_is_refused():
    stats = PreprocessorStats(Preprocessor(), ["v"])
    stats.update(pd.DataFrame({"v": [1.0, 2.0]}))
    with pytest.raises(InputError, match="numeric values in the block from row 0"):
        stats.update(pd.DataFrame({"v": ["a", "b"]}, index=[2, 3]))


@pytest.mark.parametrize(
    "y",
    [[0, 1] * 30, [0, 1, 2, 3] * 15, list(range(60)), ["cat", "dog", "cow"] * 20, [1.5, 2.5] * 30],
)
def test_the_target_sample_chooses_the_task_the_whole_column_would(y):
    values = TargetStats("y")
    for start in range(0, 60, 25):
        values.update(pd.Series(y[start : start + 25], name="y"))
    expected, got = choose(pd.Series(y, name="y")), choose(values.sample())
    assert (got.task, got.kind, got.n_outputs) == (expected.task, expected.kind, expected.n_outputs)
    if expected.labels is not None:
        assert got.labels.classes_ == expected.labels.classes_


@pytest.mark.parametrize("impute", ["mean", "most_frequent"])
def test_numbers_near_the_float64_limit_give_the_statistics_fit_gives_without_overflow(impute):
    """A larger number in a later block (and in another group) rescales the sums kept."""
    a = [1.0, -3.0, np.nan, 2.5, 1.79e308, -1.79e308, 1e308, 7.0, np.nan, -1.5e308, 0.0, 1e300]
    df = pd.DataFrame({"a": a, "b": np.arange(12.0)})
    expected = Preprocessor(impute=impute).fit(df, check=False)
    with np.errstate(all="raise"):  # not one overflow, not even a warning
        got = in_blocks(df, Preprocessor(impute=impute), [3, 1, 4, 4], groups=2)
    same(got, expected)
    assert 1e307 < got.scales_["a"] < 1.79e308  # finite, and not the overflowed inf of before
    small = Preprocessor(impute=impute).fit(df.assign(a=df.a / 2.0**1000), check=False)
    assert got.scales_["a"] == pytest.approx(small.scales_["a"] * 2.0**1000, rel=1e-14)


def test_the_largest_float_on_its_own_standardises_to_one():
    got = in_blocks(pd.DataFrame({"a": [1.7976931348623157e308, -1.7976931348623157e308]}),
                    Preprocessor(), [1, 1], groups=2)  # fmt: skip
    assert (got.means_["a"], got.scales_["a"]) == (0.0, 1.7976931348623157e308)


def test_ordinary_numbers_give_the_same_bits_as_before_the_scaling():
    """Scaling by a power of two is exact: Chan's update on the numbers as they are."""
    values = np.random.default_rng(3).normal(5, 3, 300)
    got = in_blocks(pd.DataFrame({"a": values}), Preprocessor(), [100, 50, 150], groups=1)
    count, mean, m2 = 0, 0.0, 0.0
    for block in (values[:100], values[100:150], values[150:]):
        n, block_mean = len(block), block.mean()
        total, delta = count + n, block_mean - mean
        mean += delta * n / total
        m2 += ((block - block_mean) ** 2).sum() + delta * delta * count * n / total
        count = total
    assert (got.means_["a"], got.scales_["a"]) == (mean, math.sqrt(m2 / count))
