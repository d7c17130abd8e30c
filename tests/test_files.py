"""Tests for descend.files: atomic writes that leave nothing half-written."""

import os
import stat
import threading
import time

import pytest

from descend import files
from descend.errors import InputError
from descend.files import Outputs, atomic_write, write_text


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


# ----- temporary files, fsync, and Outputs as one transaction ------------------------------


def dead_pid():
    """The id of a process that has ended (a child reaped)."""
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    return child


def test_atomic_write_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))  # what the descriptor names
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_text(tmp_path / "out.txt", "done")
    assert len(synced) == 2 and synced[1] == str(tmp_path)
    assert synced[0].startswith(str(tmp_path / files.PREFIX))  # the file, before its rename


def left(host, pid, started="1", token="0badc0de"):
    """The name of a temporary file that process ``pid`` of ``host``, started then, made."""
    return f"{files.PREFIX}{host}-{pid}-{started}-{token}{files.SUFFIX}"


def test_a_temporary_file_left_by_a_dead_process_is_removed_by_the_next_write(tmp_path):
    parent = os.getppid()
    dead = left(files._HOST, dead_pid())
    alive = left(files._HOST, parent, files._process_started(parent))
    other = left("otherhost", dead_pid())
    older = f"{files.PREFIX}{files._HOST}-{dead_pid()}-0badc0de{files.SUFFIX}"  # no start time
    for name in (dead, alive, other, older, "notes.tmp"):
        (tmp_path / name).write_text("half")
    write_text(tmp_path / "out.txt", "done")
    assert sorted(os.listdir(tmp_path)) == sorted([alive, other, "notes.tmp", "out.txt"])


def test_a_process_id_used_again_by_another_process_does_not_keep_a_stale_file(tmp_path):
    parent = os.getppid()
    started = files._process_started(parent)
    if not started:
        pytest.skip("no /proc to read a process's start time from")
    reused = left(files._HOST, parent, str(int(started) + 1))  # the id's earlier owner
    (tmp_path / reused).write_text("half")
    write_text(tmp_path / "out.txt", "done")
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_file_whose_process_cannot_be_checked_is_removed_once_it_is_a_day_old(
    tmp_path, monkeypatch
):
    parent = os.getppid()
    mine = left(files._HOST, parent, files._process_started(parent) or "0")
    other = left("otherhost", 1)
    for name in (mine, other):
        (tmp_path / name).write_text("half")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + files.STALE_AFTER - 60)
    write_text(tmp_path / "a.txt", "done")
    assert sorted(os.listdir(tmp_path)) == sorted([mine, other, "a.txt"])
    monkeypatch.setattr(time, "time", lambda: now + files.STALE_AFTER + 60)
    files._CLEANED.clear()  # a later descend process
    write_text(tmp_path / "b.txt", "done")
    expected = [mine, "a.txt", "b.txt"] if files._process_started(parent) else ["a.txt", "b.txt"]
    assert sorted(os.listdir(tmp_path)) == sorted(expected)  # a live process's file stays


def test_the_temporary_name_names_this_host_process_and_its_start(tmp_path):
    name = os.path.basename(files.temporary_name(str(tmp_path)))
    host, pid, started, token = name[len(files.PREFIX) : -len(files.SUFFIX)].split("-")
    assert (host, int(pid)) == (files._HOST, os.getpid())
    assert started == (files._process_started(os.getpid()) or "0") and len(token) == 8


def test_staging_creates_nothing_until_the_content_is_written(tmp_path):
    with Outputs() as outputs:
        staged = outputs.stage(str(tmp_path / "a.txt"), "--a")
        assert os.listdir(tmp_path) == []
        write_text(staged, "A")
        assert os.listdir(tmp_path) == [os.path.basename(staged)]
    assert os.listdir(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "A"


def test_an_error_inside_the_block_publishes_nothing_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), Outputs() as outputs:
        write_text(outputs.stage(str(tmp_path / "a.txt"), "--a"), "new")
        outputs.stage(str(tmp_path / "b.txt"), "--b")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old"


def test_an_output_that_became_a_folder_publishes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(InputError, match="--b '.*b.txt': it became a folder"), Outputs() as out:
        write_text(out.stage(str(tmp_path / "a.txt"), "--a"), "new")
        write_text(out.stage(str(tmp_path / "b.txt"), "--b"), "new")
        os.mkdir(tmp_path / "b.txt")
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


def test_a_failed_rename_puts_back_the_files_already_renamed(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("old a")
    real_replace = os.replace

    def replace(source, target):
        if str(target).endswith("c.txt"):
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    failed = pytest.raises(InputError, match="Cannot write --c .*Permission denied; nothing was")
    with failed, Outputs() as outputs:
        for name in ("a", "b", "c"):
            write_text(outputs.stage(str(tmp_path / f"{name}.txt"), f"--{name}"), "new")
        monkeypatch.setattr(os, "replace", replace)
    assert os.listdir(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old a"
