"""Writing files so that nothing half-written is ever left behind.

A file is written to a temporary file beside it (same folder, so that renaming is atomic),
flushed to disk with ``fsync``, renamed over its target, and the folder is synced too: after
a crash (SIGKILL, power loss) the target is either absent, its old self or complete. The
temporary file is named ``.descend-<host>-<pid>-<started>-<random>.tmp`` (``started``: when
the process started, in clock ticks after boot, so that a process id used again later is told
apart); one that a killed process left behind is removed by the next descend that writes into
its folder: at once when its process is gone (or the id is another process's now), after a day
when that cannot be told (another host's file). ``Outputs`` publishes the several files of one
command as one transaction.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
>>> with atomic_write(path) as f:
...     _ = f.write("done")
>>> open(path).read()
'done'
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from . import interrupts
from .errors import InputError

PREFIX, SUFFIX = ".descend-", ".tmp"
_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"
_CLEANED: set[str] = set()  # folders already rid of stale temporary files by this process
_STARTED: dict[int, str] = {}  # this process's start token, by process id (a fork has its own)

STALE_AFTER = 24 * 3600.0
"""Seconds after which a temporary file whose process cannot be checked (another host's, or a
start time that cannot be read) is taken for a crash's leftover. Its age is that of its inode's
last change, so that a hard link a transaction has just made to an old file counts as new."""


def in_place(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists and is no regular file (``/dev/stdout``, a FIFO): written directly.

    Such a file cannot be replaced atomically, and replacing it by a regular
    file would destroy it; what is written goes straight into it instead.
    """
    return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)


def temporary_name(folder: str) -> str:
    """A new temporary file name in ``folder`` that names this host and process."""
    pid = os.getpid()
    if pid not in _STARTED:
        _STARTED[pid] = _process_started(pid) or "0"
    name = f"{PREFIX}{_HOST}-{pid}-{_STARTED[pid]}-{secrets.token_hex(4)}{SUFFIX}"
    return os.path.join(folder, name)


def _process_started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks after boot (Linux's /proc); None when the
    process is gone; '' when it is alive but its start cannot be read."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass  # alive, another user's
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # its 22nd field, after the name's ')'
            return stat.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return ""


def clean_up(folder: str) -> list[str]:
    """Remove the temporary files that dead descend processes of this host left in ``folder``
    (once per folder and process); returns their paths."""
    if folder in _CLEANED:
        return []
    _CLEANED.add(folder)
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if _stale(entry):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def _stale(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is a temporary file that no live process is writing."""
    name = entry.name
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return False
    host, pid, *rest = name[len(PREFIX) : -len(SUFFIX)].split("-")
    started = rest[0] if len(rest) == 2 else "0"  # an older descend's name: start unknown
    if host == _HOST and pid.isdigit():
        now = _process_started(int(pid))
        if now is None:
            return True  # its process is gone
        if now and started != "0":
            return now != started  # the id is another process's now: its own is gone
    try:  # whose it is cannot be told: by its age
        return time.time() - entry.stat(follow_symlinks=False).st_ctime > STALE_AFTER
    except OSError:
        return False


def _sync_folder(folder: str) -> None:
    """Flush a folder's entries (a rename) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; when the block succeeds, sync it to disk and
    rename it to ``path`` (the folder synced too); when it fails, remove it.

    A ``path`` that is a device or a FIFO is written directly (see ``in_place``).
    """
    encoding = None if "b" in mode else "utf-8"
    if in_place(path):
        with open(path, mode, encoding=encoding) as f:
            yield f
        return
    target = os.path.realpath(path)  # through a symbolic link to the file it names
    folder = os.path.dirname(target)
    clean_up(folder)
    temporary = temporary_name(folder)
    try:
        with open(temporary, mode.replace("w", "x"), encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        publish(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def publish(temporary: str, path: str | os.PathLike[str]) -> None:
    """Rename a finished temporary file to ``path`` and sync the folder.

    The published file has the usual mode, 0666 less the process's umask (0644 for the
    common umask 022).
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)
    _sync_folder(os.path.dirname(os.path.realpath(path)))


class Outputs:
    """The files one command writes, published together or not at all.

    ``stage(path, label)`` checks at once that ``path`` can be written (``label`` names
    the output in errors: a parameter, or a flag) and returns the name of a temporary file
    beside it; nothing is created until the command writes its content there (with
    ``atomic_write`` or a function using it). Leaving the ``with`` block normally renames
    every temporary file to its path; if any rename fails, those done are undone (the old
    files put back) and an error says which output failed. An error inside the block, or a
    staged output never written, removes every temporary file and publishes nothing. A
    device or FIFO (``/dev/stdout``) cannot be replaced: ``stage`` returns it, to be
    written directly. ``inputs`` are never overwritten.
    """

    def __init__(self, inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.inputs = {os.path.realpath(path) for path in inputs}
        self.staged: dict[str, tuple[str, str, str]] = {}  # real path -> (temporary, path, label)
        self.direct: set[str] = set()  # devices and FIFOs, written in place

    def stage(self, path: str, label: str) -> str:
        """The temporary file to write ``path``'s content to (not created yet)."""
        real = os.path.realpath(path)
        if real in self.inputs:
            raise InputError(
                f"{label} {path!r} would overwrite an input file; choose another name."
            )
        if real in self.staged or real in self.direct:
            raise InputError(f"{label} {path!r} is already another output; give each its own file.")
        if os.path.isdir(path):
            raise InputError(f"{label} {path!r} is a folder; give a file name inside it.")
        if in_place(path):
            self.direct.add(real)
            return path
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise InputError(
                f"Cannot write {label} {path!r}: the folder {folder!r} does not exist. Create it "
                "or choose another path."
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(
                f"Cannot write {label} {path!r}: permission denied in {folder!r}. Choose a "
                "folder you can write to."
            )
        clean_up(folder)
        self.staged[real] = (temporary_name(folder), path, label)
        return self.staged[real][0]

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        staged, self.staged = self.staged, {}
        try:
            if kind is None:
                interrupts.keep()  # from the first rename on, a Ctrl-C only asks to stop
                _commit(staged)
        finally:
            for temporary, _, _ in staged.values():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)


def _commit(staged: dict[str, tuple[str, str, str]]) -> None:
    """Rename each temporary file to its path, or none: a failed rename undoes the others."""
    for real, (temporary, path, label) in staged.items():
        if not os.path.isfile(temporary):
            raise RuntimeError(f"descend staged {label} {path!r} but did not write it.")
        if os.path.isdir(real):
            raise InputError(
                f"Cannot write {label} {path!r}: it became a folder while descend ran; "
                "nothing was written."
            )
    done: list[tuple[str, str | None]] = []  # (real path, hard link to its old file or None)
    try:
        for real, (temporary, path, label) in staged.items():
            old = _keep_old(real)
            try:
                os.replace(temporary, real)
            except OSError as failure:
                if old:
                    os.unlink(old)
                raise InputError(
                    f"Cannot write {label} {path!r}: {failure.strerror or failure}; nothing "
                    "was written."
                ) from None
            done.append((real, old))
    except BaseException:
        for real, old in reversed(done):  # put the old files back
            with contextlib.suppress(OSError):
                if old:
                    os.replace(old, real)
                else:
                    os.unlink(real)
        raise
    finally:
        for folder in {os.path.dirname(real) for real in staged}:
            _sync_folder(folder)
    for _, old in done:
        if old:
            with contextlib.suppress(OSError):
                os.unlink(old)


def _keep_old(real: str) -> str | None:
    """A hard link to the file at ``real`` (to put back if the transaction fails), or None
    when there is none (or the file system has no hard links: then it cannot be put back)."""
    if not os.path.isfile(real):
        return None
    link = temporary_name(os.path.dirname(real))
    try:
        os.link(real, link)
    except OSError:
        return None
    return link


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(text)


def check_suffix(path: str | None, label: str, what: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file name whose extension promises another format than ``label``
    writes; a device or FIFO (``/dev/stdout``) has no extension to check."""
    if path and not in_place(path) and not path.lower().endswith(suffixes):
        raise InputError(
            f"{label} writes {what}; give a file name ending in {' or '.join(suffixes)}, "
            f"not {path!r}."
        )
