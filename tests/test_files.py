"""Tests for descend.files: atomic writes that leave nothing half-written."""

import os
import stat
import threading

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


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    write_text(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_dev_null_stays_a_device():
    before = os.stat("/dev/null")
    if not stat.S_ISCHR(before.st_mode):
        pytest.skip("/dev/null is not a character device here")
    write_text("/dev/null", "gone")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert not [name for name in os.listdir("/dev") if name.startswith(".descend-")]


def test_a_symbolic_link_keeps_pointing_at_the_file_it_names(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    write_text(tmp_path / "link.txt", "new")
    assert os.path.islink(tmp_path / "link.txt")
    assert (tmp_path / "real.txt").read_text() == "new"
