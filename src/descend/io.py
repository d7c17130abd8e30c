"""The model file: weights, architecture, preprocessing and history; no pickle anywhere.

A model file is a NumPy ``.npz`` archive (a zip) holding one array per
parameter and one UTF-8 JSON document, ``meta``, stored as bytes. It is read
with ``allow_pickle=False``, so loading can never execute code. The JSON
carries a format name and version, the architecture, the shapes and dtypes
of the weights and a SHA-256 digest of everything; a truncated, corrupted or
edited file is refused with a clear error.

The bytes of a model file depend only on the data, the settings and the seed:
the zip entries carry a fixed date, and the history leaves out its wall-clock
``time`` per epoch (``descend train --history`` writes it).

>>> import os, tempfile, descend
>>> from descend import nn
>>> path = os.path.join(tempfile.mkdtemp(), "model.descend")
>>> save(nn.Linear(3, 1, seed=0), path)
>>> load(path).weight.shape
(3, 1)
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import zipfile
from typing import Any

from numpy.lib import format as npy

from ._version import __version__
from .data.archive import describe, read_npz
from .data.tables import _show
from .engine.backend import xp
from .errors import InputError
from .files import atomic_write
from .learn.nn import Module, from_config
from .schema import (
    ARRAY_DTYPES,
    FORMAT,
    FORMAT_VERSIONS,
    SchemaError,
    check_finite,
    check_model,
    document,
)

FORMAT_VERSION = FORMAT_VERSIONS[-1]
"""The version descend.save writes."""
_META = "meta"
_PARAM = "param:"
_FIX = "Save the model again with descend.save: a model file is read only as it wrote it."
WALL_CLOCK = ("time",)
"""History entries measured by the clock, left out of the model file."""


def _digest(meta: dict[str, Any], arrays: dict[str, Any]) -> str:
    """SHA-256 over the metadata (without its digest) and every array's name, dtype, shape, bytes."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "sha256"}
    h.update(json.dumps(body, sort_keys=True, allow_nan=True).encode())
    for name in sorted(arrays):
        array = xp.ascontiguousarray(arrays[name])
        h.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def _headers(arrays: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    return {name: (tuple(a.shape), a.dtype.str) for name, a in arrays.items()}


def save_parts(module: Module, path: str | os.PathLike[str], extra: dict[str, Any]) -> None:
    """Write ``module``'s weights and architecture plus the JSON-able ``extra`` to ``path``.

    The document is checked by the same schema that load reads it with, before
    anything is written: what save writes, load reads.
    """
    arrays = {name: xp.asarray(p.data) for name, p in module.named_parameters()}
    meta = document(module, extra)
    try:
        check_model({**meta, "sha256": "0" * 64}, _headers(arrays))  # before json meets it
    except SchemaError as error:
        raise InputError(
            f"descend.save cannot write this model: {error} It writes descend's estimators and "
            "models made of its built-in layers, which descend.load can rebuild."
        ) from None
    try:
        check_finite(arrays)
    except SchemaError as error:
        raise InputError(
            f"descend.save cannot write this model: {error} Train it again (with a smaller lr, "
            "if it diverged) or give it finite weights."
        ) from None
    meta["sha256"] = _digest(meta, arrays)
    text = json.dumps(meta, allow_nan=True)
    payload: dict[str, Any] = {_META: xp.frombuffer(text.encode("utf-8"), dtype=xp.uint8)}
    payload.update({_PARAM + name: a for name, a in arrays.items()})
    with atomic_write(path, "wb") as f:
        _write_npz(f, payload)


def _write_npz(f: Any, arrays: dict[str, Any]) -> None:
    """What ``numpy.savez`` writes, with a fixed date on every entry (savez stamps the time
    of writing), so that the same arrays always give the same bytes."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zipped:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zipped.open(entry, "w", force_zip64=True) as member:
                npy.write_array(member, xp.asarray(array), allow_pickle=False)


def _accepts(name: str) -> bool:
    return name == _META or name.startswith(_PARAM)


def _dtypes(name: str) -> tuple[str, ...]:
    return ("|u1",) if name == _META else ARRAY_DTYPES


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) < len(pairs):
        counts = collections.Counter(k for k, _ in pairs)
        raise InputError(f"repeats the key {_show(next(k for k, n in counts.items() if n > 1))}")
    return document


def _read_archive(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metadata and weight arrays of a model file, checked against the file's own digest
    and then against the schema, reading nothing larger than the file."""
    arrays = read_npz(path, _accepts, _dtypes, required=_META)
    if arrays[_META].ndim != 1:
        raise InputError(f"holds its metadata as an array of {arrays[_META].ndim} dimensions")
    text = arrays.pop(_META).tobytes().decode("utf-8")
    meta = json.loads(text, object_pairs_hook=_no_duplicates)
    arrays = {name[len(_PARAM) :]: a for name, a in arrays.items()}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        format_name = meta.get("format") if isinstance(meta, dict) else None
        raise _Whole(f"'{path}' is not a descend model file (format {_show(format_name)}).")
    version = meta.get("format_version")
    if type(version) is int and version > FORMAT_VERSION:
        raise _Whole(
            f"'{path}' has model format version {_show(version)}; this descend ({__version__}) reads "
            f"versions {', '.join(map(str, FORMAT_VERSIONS))}. Upgrade descend."
        )
    if meta.get("sha256") != _digest(meta, arrays):
        raise _Whole(
            f"'{path}' failed its integrity check (SHA-256 mismatch): the file was changed or "
            "damaged after it was saved. Save the model again."
        )
    check_model(meta, _headers(arrays))
    check_finite(arrays)
    return meta, arrays


class _Whole(InputError):
    """A message about a model file that is whole already: it names the file and the fix."""


def load_parts(path: str | os.PathLike[str]) -> tuple[Module, dict[str, Any]]:
    """Read a model file: the rebuilt module with its weights, and the metadata.

    Everything is checked before anything is built: the zip's directory, each
    array's npy header, the digest, and the document against the schema
    (``descend.schema``), with the shapes taken from the arrays in the archive.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(
            f"No such model file: '{path}'. Check the path, or save one with descend.save."
        )
    if not zipfile.is_zipfile(path):  # before NumPy, which would offer to unpickle other files
        raise InputError(
            f"'{path}' is not a descend model file (not an npz archive); it may be truncated, "
            "or another kind of file. Give the file that descend.save wrote."
        )
    try:  # the file is untrusted input: whatever goes wrong reading it, it is not a readable model
        meta, arrays = _read_archive(path)
    except (_Whole, MemoryError):  # out of memory: the caller names the step, not the file
        raise
    except SchemaError as error:
        raise InputError(f"'{path}' is not a valid descend model file: {error} {_FIX}") from None
    except InputError as error:
        raise InputError(
            f"'{path}' {error}; it is not a model file descend wrote. {_FIX}"
        ) from None
    except Exception as error:
        raise InputError(
            f"'{path}' is not a readable descend model file ({describe(error)}); "
            "it may be truncated or corrupted. Save the model again."
        ) from None
    module = from_config(meta["architecture"])
    for name, p in module.named_parameters():
        p.data = arrays[name].astype(p.data.dtype, copy=True)
    module.eval()
    return module, meta


def save(model: Any, path: str | os.PathLike[str]) -> None:
    """Save a Module or a fitted descend estimator to one file: ``descend.save(model, 'm.descend')``."""
    if isinstance(model, Module):
        save_parts(model, path, {"kind": "module"})
        return
    export = getattr(model, "_export", None)
    if export is None:
        raise InputError(
            f"descend.save takes a descend Module or estimator; got {type(model).__name__}."
        )
    module, extra = export()
    history = extra.get("history")
    if isinstance(history, dict):  # seconds per epoch differ from run to run: not saved
        extra = {**extra, "history": {k: v for k, v in history.items() if k not in WALL_CLOCK}}
    save_parts(module, path, {"kind": "estimator", **extra})


def load(path: str | os.PathLike[str]) -> Any:
    """Load what ``descend.save`` wrote: a Module, or an estimator ready to predict."""
    module, meta = load_parts(path)
    if meta.get("kind") == "estimator":
        from .estimators import from_export

        return from_export(module, meta, checked=True)
    return module
