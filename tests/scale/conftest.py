"""The same table in two Parquet files of several row groups (a folder) and in one CSV file
beside it, written once per test module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from tests.scale.frames import table  # pandas and pyarrow, or the module is skipped

    folder = tmp_path_factory.mktemp("big")
    df = table()
    df.iloc[:1800].to_parquet(folder / "part-0.parquet", row_group_size=500)
    df.iloc[1800:].to_parquet(folder / "part-1.parquet", row_group_size=500)
    df.to_csv(folder.parent / "big.csv", index=False)
    return df, folder
