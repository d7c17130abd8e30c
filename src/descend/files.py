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
from collections.abc import Iterator, Sequence
from typing import IO, Any

from .errors import InputError


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


class Outputs:
    """The files one command or run writes, all or none.

    ``stage(path, label)`` checks that ``path`` can be written and returns a temporary
    file beside it to write to (``label`` names the output in errors: a parameter, or a
    flag); leaving the ``with`` block normally renames every temporary file to its path,
    and an error deletes them all. A device or FIFO (``/dev/stdout``) cannot be replaced:
    ``stage`` returns it to be written directly. ``inputs`` are never overwritten.
    """

    def __init__(self, inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.inputs = {os.path.realpath(path) for path in inputs}
        self.staged: dict[str, str] = {}  # real path -> temporary file
        self.direct: set[str] = set()  # devices and FIFOs, written in place

    def stage(self, path: str, label: str) -> str:
        """A temporary file to write ``path``'s content to."""
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
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".descend-", suffix=".tmp")
        except OSError as error:
            raise InputError(
                f"Cannot write {label} {path!r}: {error.strerror} in {folder!r}. Choose a folder "
                "you can write to."
            ) from None
        os.close(handle)
        self.staged[real] = temporary
        return temporary

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        staged, self.staged = self.staged, {}
        if kind is None:
            for real, temporary in staged.items():
                publish(temporary, real)
            return
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def check_suffix(path: str | None, label: str, what: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file name whose extension promises another format than ``label``
    writes; a device or FIFO (``/dev/stdout``) has no extension to check."""
    if path and not in_place(path) and not path.lower().endswith(suffixes):
        raise InputError(
            f"{label} writes {what}; give a file name ending in {' or '.join(suffixes)}, "
            f"not {path!r}."
        )
