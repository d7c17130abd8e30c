"""Reading an npz archive that no one vouches for: a model file, a checkpoint.

``read_npz`` reads what ``numpy.savez`` writes, and nothing else, without
pickle and without allocating more than the file holds, in the spirit of
safetensors' header checks: the zip's directory first (only the members the
caller names, each once, stored uncompressed as savez stores them, none
declared larger than the file), then each member's npy header (a dtype from
the caller's allowlist, C order, a size that adds up to the member's bytes)
before its data is read. A deflate bomb, a header claiming 8 GB, a pickled
array or a member of another name is refused with an ArchiveError (an
InputError) whose message says what the archive holds.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib import format as npy

from ..errors import InputError
from .tables import _show

MAX_HEADER = 10_000
"""Bytes of an npy header (NumPy's own limit for loading safely); savez writes about 128."""


def describe(error: BaseException, limit: int = 200) -> str:
    """An exception raised while reading an archive, as words on one line of at most
    ``limit`` characters (zipfile's errors quote whole headers of the damaged file)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ArchiveError(InputError):
    """The archive is not one that np.savez wrote of the arrays asked for: the message says
    what it holds ('holds a member 'x' that ...'), for the caller to name the file."""


def read_npz(
    path: str | os.PathLike[str],
    accepts: Callable[[str], bool],
    dtypes: Callable[[str], tuple[str, ...]],
    required: str = "meta",
) -> dict[str, np.ndarray]:
    """The arrays of the npz archive at ``path``, by name (the member without '.npy'): only
    names ``accepts`` takes, each of one of ``dtypes(name)`` (npy ``descr`` strings), and
    ``required`` among them. Raises ArchiveError; zipfile's own errors for a damaged zip."""
    size = os.path.getsize(path)
    with zipfile.ZipFile(path) as archive:
        members = _members(archive, size, accepts)
        if required not in members:
            raise ArchiveError(f"has no {required!r} member")
        return {name: _array(archive, info, dtypes(name)) for name, info in members.items()}


def _members(
    archive: zipfile.ZipFile, size: int, accepts: Callable[[str], bool]
) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, checked as the zip's directory declares them."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or not accepts(name):
            raise ArchiveError(f"holds a member {_show(info.filename)} that it should not")
        if name in members:
            raise ArchiveError(f"holds the member {_show(info.filename)} twice")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ArchiveError(
                f"stores {_show(info.filename)} compressed or encrypted; np.savez does not"
            )
        if info.file_size > size:
            raise ArchiveError(f"declares {_show(info.filename)} larger than the file itself")
        members[name] = info
    return members


def _header(f: io.BufferedIOBase, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """The shape, dtype and header length of an npy member, read from its header alone."""
    start = f.read(10)
    if len(start) < 10 or start[:6] != b"\x93NUMPY" or start[6] not in (1, 2, 3):
        raise ArchiveError(f"holds {_show(name)}, which is not an npy array")
    long = start[6] > 1
    start += f.read(2) if long else b""
    length = int.from_bytes(start[8:], "little")
    if length > MAX_HEADER:
        raise ArchiveError(f"holds {_show(name)} with an npy header of {length} bytes")
    header = io.BytesIO(start + f.read(length))
    version = npy.read_magic(header)
    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, fortran, dtype = read(header, max_header_size=MAX_HEADER)
    if fortran or any(n < 0 for n in shape):
        raise ArchiveError(f"holds {_show(name)} in Fortran order or with a negative size")
    return shape, dtype, len(start) + length


def _array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, allowed: tuple[str, ...]) -> Any:
    """One member as an array: its header checked (dtype allowlist, sizes that add up to the
    member's) before its data, at most the member's size, is read."""
    with archive.open(info) as f:
        shape, dtype, offset = _header(f, info.filename)  # type: ignore[arg-type]
        if dtype.str not in allowed:
            raise ArchiveError(
                f"holds {_show(info.filename)} of dtype {dtype.str!r}, not one of {', '.join(allowed)}"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise ArchiveError(
                f"holds {_show(info.filename)} whose header ({_show(list(shape))} x {dtype.str}) does not "
                f"match its {info.file_size} bytes: truncated or padded"
            )
        array = np.empty(shape, dtype=dtype)
        if nbytes and f.readinto(array.reshape(-1).view(np.uint8)) != nbytes:  # type: ignore[attr-defined]
            raise ArchiveError(f"holds {_show(info.filename)}, cut short")
    return array
