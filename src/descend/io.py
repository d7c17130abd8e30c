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

import hashlib
import json
import os
import zipfile
from typing import Any

import numpy as np

from ._version import __version__
from .engine.backend import xp
from .errors import InputError
from .files import atomic_write
from .learn.nn import Module, from_config

FORMAT = "descend-model"
FORMAT_VERSION = 1
_META = "meta"
_PARAM = "param:"
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


def save_parts(module: Module, path: str | os.PathLike[str], extra: dict[str, Any]) -> None:
    """Write ``module``'s weights and architecture plus the JSON-able ``extra`` to ``path``."""
    arrays = {name: xp.asarray(p.data) for name, p in module.named_parameters()}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "descend_version": __version__,
        "architecture": module.to_config(),
        "parameters": {
            name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()
        },
        **extra,
    }
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
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _read_archive(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metadata and weight arrays of a model file, checked against the file's own digest."""
    with xp.load(path, allow_pickle=False) as archive:
        names = set(archive.files)
        if _META not in names:
            raise InputError(f"'{path}' is not a descend model file (it has no metadata).")
        meta = json.loads(archive[_META].tobytes().decode("utf-8"))
        arrays = {n[len(_PARAM) :]: archive[n] for n in names if n.startswith(_PARAM)}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        format_name = meta.get("format") if isinstance(meta, dict) else None
        raise InputError(f"'{path}' is not a descend model file (format {format_name!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(
            f"'{path}' has model format version {version!r}; this descend ({__version__}) reads "
            f"versions up to {FORMAT_VERSION}. Upgrade descend."
        )
    if meta.get("sha256") != _digest(meta, arrays):
        raise InputError(
            f"'{path}' failed its integrity check (SHA-256 mismatch): the file was changed or "
            "damaged after it was saved. Save the model again."
        )
    return meta, arrays


def load_parts(path: str | os.PathLike[str]) -> tuple[Module, dict[str, Any]]:
    """Read a model file: the rebuilt module with its weights, and the metadata."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(
            f"No such model file: '{path}'. Check the path, or save one with descend.save or `descend train --save`."
        )
    if not zipfile.is_zipfile(path):  # before NumPy, which would offer to unpickle other files
        raise InputError(
            f"'{path}' is not a descend model file (not an npz archive); it may be truncated, "
            "or another kind of file. Give the file that descend.save or --save wrote."
        )
    try:  # the file is untrusted input: whatever goes wrong reading it, it is not a readable model
        meta, arrays = _read_archive(path)
    except InputError:
        raise
    except Exception as error:
        raise InputError(
            f"'{path}' is not a readable descend model file ({type(error).__name__}: {error}); "
            "it may be truncated or corrupted. Save the model again."
        ) from None
    module = from_config(meta["architecture"])
    expected = meta.get("parameters", {})
    named = dict(module.named_parameters())
    if set(named) != set(arrays) or set(expected) != set(arrays):
        raise InputError(
            f"'{path}' does not hold the weights its architecture needs (expected "
            f"{sorted(named)}, found {sorted(arrays)})."
        )
    for name, p in named.items():
        array = arrays[name]
        if list(array.shape) != list(p.shape) or list(array.shape) != expected[name]["shape"]:
            raise InputError(
                f"'{path}': weight '{name}' has shape {array.shape} but the architecture needs "
                f"{p.shape}."
            )
        if array.dtype.kind != "f":
            raise InputError(f"'{path}': weight '{name}' has dtype {array.dtype}, not a float.")
        p.data = array.astype(p.data.dtype, copy=True)
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

        return from_export(module, meta)
    return module
