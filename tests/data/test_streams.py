"""Tests for descend.data.streams: the row blocks of Dask DataFrames and Arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from descend.data import (
    LabelEncoder,
    Preprocessor,
    iter_dask_blocks,
)
from descend.errors import InputError


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
