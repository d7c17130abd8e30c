"""Tests for descend.scale.sources: table files named by a path, folder, glob or list, checked
to be of one kind with the same columns, read in blocks indexed by their row number."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.scale.sources import Selection, TableFiles, expand, is_files
from tests.scale.frames import pd, table


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: "nowhere/*.parquet", "No table files at"),
        (lambda d: [str(d / "a.parquet"), str(d / "t.csv")], "files of one kind"),
        (lambda d: str(d / "bad.csv"), "should hold numbers but row 3"),
    ],
)
def test_file_problems_are_one_line_errors(tmp_path, make, message):
    table(10).to_parquet(tmp_path / "a.parquet")
    table(10).to_csv(tmp_path / "t.csv", index=False)
    bad = table(10).astype({"a": object})
    bad.loc[3, "a"] = "oops"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=message):
        descend.fit(nn.Linear(3, 1), make(tmp_path), "y", epochs=1, verbose=False)


def test_a_folder_of_mixed_kinds_names_the_odd_one_out(tmp_path):
    for name in ("a", "b", "c", "d"):
        table(10).to_parquet(tmp_path / f"{name}.parquet")
    table(10).to_csv(tmp_path / "z.csv", index=False)
    with pytest.raises(InputError) as raised:
        descend.fit(nn.Linear(3, 1), str(tmp_path), "y", epochs=1, verbose=False)
    message = str(raised.value)
    assert "z.csv' with the 4 parquet files beside it" in message and "a.parquet" not in message
    with pytest.raises(InputError, match=r"notes.txt': give files of one kind"):
        (tmp_path / "notes.txt").write_text("x")
        expand([str(tmp_path / "a.parquet"), str(tmp_path / "notes.txt")])


def test_files_must_share_their_columns(tmp_path):
    table(10).to_parquet(tmp_path / "a.parquet")
    table(10).rename(columns={"c": "z"}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="has no column 'c'"):
        descend.fit(nn.Linear(3, 1), str(tmp_path), "y", epochs=1, verbose=False)


def test_blocks_are_indexed_by_their_row_number_in_the_whole_table(files):
    df, folder = files
    source = TableFiles(str(folder), block_rows=200)
    assert source.n_rows == 3000 and source.names == ["a", "b", "c", "y"]
    # row groups of 500 rows at most: 500, 500, 500, 300 in the first file, 500, 500, 200
    assert source.unit_rows == [500, 500, 500, 300, 500, 500, 200]
    frames = list(source.frames(["a", "y"]))
    assert max(len(f) for f in frames) == 200
    whole = pd.concat(frames)
    assert whole.index.tolist() == list(range(3000))
    np.testing.assert_array_equal(whole["a"].to_numpy(), df["a"].to_numpy())
    later = pd.concat(source.frames(["b"], units=[6, 0]))  # any order of row groups
    assert later.index.tolist() == [*range(2800, 3000), *range(500)]
    np.testing.assert_array_equal(later["b"].to_numpy(), df["b"].iloc[later.index].to_numpy())


def test_a_csv_file_is_read_from_its_start_in_blocks_of_numbers(files):
    df, folder = files
    source = TableFiles(str(folder.parent / "big.csv"), block_rows=700)
    assert source.n_rows is None and len(source.units) == 1  # unknown until read
    frames = list(source.frames(["c", "y"]))
    assert [len(f) for f in frames] == [700, 700, 700, 700, 200]
    np.testing.assert_allclose(pd.concat(frames)["c"].to_numpy(), df["c"].to_numpy(), rtol=1e-15)


def test_a_selection_keeps_the_same_rows_whatever_the_blocks():
    held = Selection(0.25, seed=4, validation=True)
    whole = held.mask(0, 1_000_000)
    pieces = np.concatenate([held.mask(s, 1000) for s in range(0, 1_000_000, 1000)])
    np.testing.assert_array_equal(whole, pieces)
    assert 0.248 < whole.mean() < 0.252  # the fraction asked for, within 5 standard deviations
    np.testing.assert_array_equal(Selection(0.25, 4, False).mask(0, 1_000_000), ~whole)
    assert not np.array_equal(Selection(0.25, 5, True).mask(0, 1_000_000), whole)  # the seed


def test_what_names_files_and_what_a_folder_or_a_pattern_expands_to(tmp_path):
    for name in ("b.parquet", "a.parquet", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert expand(tmp_path) == [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    assert expand(str(tmp_path / "*.parquet")) == expand(tmp_path)  # the text file left out
    assert is_files("t.csv") and is_files(tmp_path) and is_files(["a.csv", tmp_path])
    assert not is_files([]) and not is_files(np.ones(3)) and not is_files([1, 2])


def test_the_split_by_row_number_warns_of_nothing_and_holds_out_about_its_fraction():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # splitmix64 wraps around by design, silently
        held = Selection(0.2, 123456789, True).mask(10**12, 100_000)
        kept = Selection(0.2, 123456789, False).mask(10**12, 100_000)
    assert (held ^ kept).all()
    assert abs(held.mean() - 0.2) < 0.01
