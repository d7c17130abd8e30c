"""Tests for descend.files: atomic writes that leave nothing half-written."""

import os

import pytest

from descend.files import atomic_write, write_text


def test_a_written_file_gets_the_usual_permissions_not_the_temporary_files(tmp_path):
    mask = os.umask(0o022)
    try:
        write_text(tmp_path / "out.txt", "done")
    finally:
        os.umask(mask)
    assert os.stat(tmp_path / "out.txt").st_mode & 0o777 == 0o644
    assert (tmp_path / "out.txt").read_text() == "done"


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "out.txt") as f:
        f.write("half")
        raise RuntimeError("disk full")
    assert os.listdir(tmp_path) == []
