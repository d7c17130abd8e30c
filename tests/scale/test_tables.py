"""Tests for descend.scale.tables: the estimators fitted on tables beyond memory: the
preprocessing and the target's statistics from a first pass, then the rows in blocks."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.data import Preprocessor
from descend.scale.sources import Selection, TableFiles
from descend.scale.tables import DaskTable, FileTable, in_blocks, open_table
from tests.scale.frames import table


def test_the_estimators_stream_with_preprocessing_from_a_first_pass(files, tmp_path):
    df = table(2000).assign(kind=lambda d: np.where(d.a > 0.5, "high", "low"))
    path = tmp_path / "t.parquet"
    df.to_parquet(path, row_group_size=300)
    cols = ["a", "b", "c", "kind"]
    expected = descend.Regressor(epochs=50, tol=None).fit(df[cols], df["y"])
    streamed = descend.Regressor(epochs=50, tol=None).fit(
        TableFiles(str(path), columns=[*cols, "y"]), "y"
    )
    assert streamed.preprocessor_.to_dict()["columns"][3]["categories"] == ["high", "low"]
    np.testing.assert_allclose(streamed.predict(df[cols]), expected.predict(df[cols]), rtol=1e-10)
    model_file = tmp_path / "m.descend"
    descend.save(streamed, model_file)
    np.testing.assert_array_equal(
        descend.load(model_file).predict(df[cols]), streamed.predict(df[cols])
    )


def test_a_first_pass_over_the_training_rows_gives_the_preprocessing_of_those_rows(files):
    df, folder = files
    table = open_table(str(folder), "y", validation=0.2, seed=3, block_size=400)
    assert isinstance(table, FileTable) and table.features == ["a", "b", "c"]
    pre, target = table.statistics(Preprocessor())
    kept = Selection(0.2, 3, False).mask(0, 3000)
    training = df[kept]
    expected = Preprocessor().fit(training, ["a", "b", "c"], check=False)
    for name in ("a", "b", "c"):
        assert pre.means_[name] == pytest.approx(expected.means_[name], rel=1e-12)
        assert pre.scales_[name] == pytest.approx(expected.scales_[name], rel=1e-12)
    assert target.rows == kept.sum() == table.train.n_rows
    assert table.train.n_rows + table.held.n_rows == 3000


def test_dask_data_and_table_files_are_read_in_blocks_and_arrays_are_not(files):
    dd = pytest.importorskip("dask.dataframe")
    df, folder = files
    frame = dd.from_pandas(df, npartitions=3)
    assert in_blocks(str(folder)) and in_blocks([str(folder)]) and in_blocks(frame)
    assert not in_blocks(df) and not in_blocks(df.to_numpy())
    table = open_table(frame, "y", validation=None, seed=0)
    assert isinstance(table, DaskTable) and table.features == ["a", "b", "c"]
    pre, target = table.statistics(Preprocessor())
    whole = Preprocessor().fit(df, ["a", "b", "c"], check=False)
    assert pre.means_["b"] == pytest.approx(whole.means_["b"], rel=1e-12)
    assert target.rows == 3000
