"""Numeric columns taken as 2-D blocks give the bits they gave one column at a time.

The reference is the same table with every number written as text: text columns go
through the column-at-a-time path (parse, then ``mean_std`` of the one column), so the
two fits, transforms and checks must agree bit for bit.
"""

import numpy as np
import pandas as pd
import pytest

from descend.data import Preprocessor, check_table, numeric
from descend.data.numeric import column_stats, mean_std
from descend.errors import InputError


def table(rows: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "big": rng.normal(1e5, 3e4, rows),
            "small": rng.normal(0, 1e-3, rows),
            "count": rng.integers(0, 1000, rows),
            "constant": np.full(rows, 7.25),
            "huge": rng.choice([1.5e308, -1.2e308, 3e307], rows),
            "copy": np.zeros(rows),
            "tiny": rng.normal(0, 1e-300, rows),
            "sex": rng.choice(["f", "m"], rows),
        }
    ).assign(copy=lambda df: df.big)


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """The same numbers as text (repr round-trips a float64): parsed one column at a time."""
    return df.map(lambda v: v if isinstance(v, str) else None if v != v else repr(float(v)))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("rows", [3, 9, 50, 1000])
@pytest.mark.parametrize(
    "settings", [{}, {"impute": "mean"}, {"impute": "median"}, {"standardize": False}]
)
def test_fit_and_transform_of_number_blocks_give_the_bits_of_one_column_at_a_time(rows, settings):
    df = table(rows)
    blocks = Preprocessor(**settings).fit(df, check=False)
    columns = Preprocessor(**settings).fit(as_text(df), check=False)
    assert blocks.to_dict() == columns.to_dict()
    for name in ("means_", "scales_", "fill_values_"):
        got, expected = getattr(blocks, name), getattr(columns, name)
        assert list(got) == list(expected)
        numbers = [n for n in got if n != "sex"]
        assert same_bits([got[n] for n in numbers], [expected[n] for n in numbers])
    assert same_bits(blocks.transform(df), columns.transform(as_text(df)))
    assert same_bits(blocks.transform(df), columns.transform(df))


def test_blocks_of_a_tall_table_are_cut_to_a_bounded_size_with_the_same_bits(monkeypatch):
    df = table(1000)
    whole = Preprocessor().fit(df, check=False)
    monkeypatch.setattr(numeric, "BLOCK_VALUES", 2500)  # two columns of 1,000 rows at a time
    assert numeric.chunks(list("abcde"), 1000) == [["a", "b"], ["c", "d"], ["e"]]
    cut = Preprocessor().fit(df, check=False)
    assert cut.to_dict() == whole.to_dict()
    assert same_bits(cut.transform(df), whole.transform(df))


def test_column_stats_are_mean_std_of_each_column_in_either_order():
    block = table(200).drop(columns="sex").to_numpy(dtype=np.float64)
    for ordered in (np.ascontiguousarray(block), np.asfortranarray(block)):
        mean, std = column_stats(ordered)
        each = [mean_std(block[:, j].copy()) for j in range(block.shape[1])]
        assert same_bits(mean, [m for m, _ in each]) and same_bits(std, [s for _, s in each])
    assert np.isfinite(column_stats(block)[1]).all()  # 1.5e308 and -1.2e308: no overflow


def test_a_column_with_missing_or_infinite_values_keeps_its_own_path_in_a_block():
    df = table(20)
    df.loc[3, "small"] = np.nan
    with pytest.raises(InputError, match="Column 'small' has a missing value in row 3"):
        Preprocessor().fit(df, check=False)
    filled = Preprocessor(impute="mean").fit(df, check=False)
    assert filled.fill_values_["small"] == mean_std(df.small.dropna().to_numpy())[0]
    assert same_bits(
        filled.transform(df),
        Preprocessor(impute="mean").fit(as_text(df), check=False).transform(as_text(df)),
    )
    df.loc[5, "big"] = np.inf
    with pytest.raises(InputError, match=r"Column 'big' has an infinite value \(inf\) in row 5"):
        filled.transform(df)


@pytest.mark.parametrize("standardize", [True, False])
def test_check_table_reads_number_blocks_as_it_read_each_column(standardize):
    df = table(30).assign(const2=1.0, nan=np.nan)
    df.loc[2, "small"] = np.nan
    features = [c for c in df.columns if c != "copy"]
    blocks = check_table(df, features, "copy", standardize=standardize)
    columns = check_table(as_text(df), features, "copy", standardize=standardize)
    assert blocks == columns
    assert any("Constant column(s) 'constant', 'const2' hold" in m for m in blocks)
    assert any("Feature(s) 'big' are identical to the target 'copy'" in m for m in blocks)
    assert any("very different scales" in m for m in blocks) == (not standardize)
