"""Writing files so that nothing half-written is ever left behind.

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
import tempfile
from collections.abc import Iterator
from typing import IO, Any


def in_place(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists and is no regular file (``/dev/stdout``, a FIFO): written directly.

    Such a file cannot be replaced atomically, and replacing it by a regular
    file would destroy it; what is written goes straight into it instead.
    """
    return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it to ``path`` only when the block succeeds.

    A ``path`` that is a device or a FIFO is written directly (see ``in_place``).
    """
    encoding = None if "b" in mode else "utf-8"
    if in_place(path):
        with open(path, mode, encoding=encoding) as f:
            yield f
        return
    target = os.path.realpath(path)  # through a symbolic link to the file it names
    folder = os.path.dirname(target)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".descend-", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, encoding=encoding) as f:
            yield f
        publish(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def publish(temporary: str, path: str | os.PathLike[str]) -> None:
    """Rename a finished temporary file to ``path``, readable as a newly created file would be.

    A temporary file is private to its owner (mode 0600); the published file gets
    the usual mode, 0666 less the process's umask (0644 for the common umask 022).
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(text)
