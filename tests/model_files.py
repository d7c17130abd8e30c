"""Real model files, rewritten as an adversary would, and an independent reading of them.

``base_files`` trains the models every crafted file starts from (a regressor,
binary and multiclass classifiers with text labels, an MLP, bare modules).
``write`` puts a document and arrays back into a zip exactly as np.savez
does, with the SHA-256 digest recomputed, so that only the schema stands
between the file and the model. ``structural_cases`` lists every mutation of
every JSON key and every array; ``byte_cases`` damages the bytes.

``replay`` runs one crafted file through descend.load and sorts the outcome;
``model_reference.reference`` is its oracle for "accepted a file whose parts disagree".
"""

from __future__ import annotations

import atexit
import copy
import io
import json
import math
import os
import pathlib
import shutil
import tempfile
import traceback
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import descend
from descend import nn
from descend.engine.tensor import no_grad
from descend.errors import InputError
from descend.io import _digest
from tests.model_reference import Inconsistent, OtherColumns, reference

Path = tuple[Any, ...]


def scratch_folder() -> pathlib.Path:
    """A folder for thousands of small files: in memory (/dev/shm) where the machine has it,
    since opening a file there costs 1/50 of a disk's; removed when the process ends."""
    shm = "/dev/shm"
    folder = tempfile.mkdtemp(
        prefix="descend-crafted-", dir=shm if os.access(shm, os.W_OK) else None
    )
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return pathlib.Path(folder)


# ----- the real files --------------------------------------------------------------------------
def training_table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "inr": rng.normal(2, 0.5, n),
            "sex": rng.choice(["f", "m"], n),
        }
    )


def base_models() -> dict[str, Any]:
    """The models the crafted files start from, trained for a few epochs."""
    X = training_table()
    band = np.where(X.age > 55, "old", np.where(X.age < 45, "young", "mid"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "regressor": descend.Regressor(epochs=30, impute="mean", validation=0.25).fit(
                X, 0.1 * X.age + X.inr + (X.sex == "m")
            ),
            "binary": descend.Classifier(epochs=30).fit(X, np.where(X.inr > 2, "high", "low")),
            "multiclass": descend.Classifier(epochs=30).fit(X, band),
            "mlp": descend.Classifier(model="mlp", hidden=(5,), epochs=5).fit(X, band),
            "module": nn.Sequential(
                nn.Linear(3, 4, seed=1),
                nn.Tanh(),
                nn.Dropout(0.2, seed=3),
                nn.Linear(4, 3, seed=2),
                nn.LeakyReLU(0.1),
                nn.Softmax(),
            ),
            "mlp_module": nn.MLP([3, 6, 2], activation="gelu", dropout=0.1, seed=2),
        }


def inputs(model: Any) -> Any:
    """The rows every prediction is made on: a table for estimators, an array for modules."""
    X = training_table(20, seed=1)
    return X if not isinstance(model, nn.Module) else X[["age", "inr"]].assign(one=1.0).to_numpy()


def outputs(model: Any, X: Any) -> dict[str, Any]:
    """What a loaded model predicts on X."""
    if isinstance(model, nn.Module):
        model.eval()
        with no_grad():
            return {"forward": model(X).data}
    out = {"predict": np.asarray(model.predict(X))}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X)
    return out


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same predictions, bit for bit (NaN where NaN)."""
    return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)


def _equal(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    floats = a.dtype.kind == "f" and b.dtype.kind == "f"
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=floats))


def close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "fc" or y.dtype.kind in "fc":
            if not np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


# ----- reading and writing archives around the checks ---------------------------------------
@dataclass
class ModelFile:
    """A model file's parts: the document, the arrays, and raw member bytes that replace
    the members np.savez would write (a truncated array, a pickled one...)."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    members: dict[str, bytes | None] = field(default_factory=dict)
    text: str | None = None  # the JSON text, when it is not json.dumps(meta)
    digest: bool = True
    compression: int = zipfile.ZIP_STORED

    def copy(self) -> ModelFile:
        arrays = {k: v.copy() for k, v in self.arrays.items()}
        return ModelFile(copy.deepcopy(self.meta), arrays, dict(self.members))


def read(path: Any) -> ModelFile:
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes())
        arrays = {n[len("param:") :]: archive[n] for n in archive.files if n != "meta"}
    return ModelFile(meta, arrays)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def write(path: Any, model: ModelFile) -> None:
    """The file, as np.savez writes it, with the digest recomputed (unless ``digest`` is off)."""
    meta = model.meta
    if model.digest and isinstance(meta, dict):
        meta = dict(meta, sha256=_digest(meta, model.arrays))
    text = model.text if model.text is not None else json.dumps(meta, allow_nan=True)
    members: dict[str, bytes | None] = {
        "meta.npy": npy(np.frombuffer(text.encode(), dtype=np.uint8)),
        **{f"param:{k}.npy": npy(v) for k, v in model.arrays.items()},
        **model.members,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if data is not None:  # None: the member is left out
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                info.compress_type = model.compression
                archive.writestr(info, data)


# ----- mutations of the document ---------------------------------------------------------------
def paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every key of every object and the first and last items of every list, depth first."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i in sorted({0, len(doc) - 1} if len(doc) > 3 else range(len(doc))):
            yield (*prefix, i)
            yield from paths(doc[i], (*prefix, i))


def shown(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def get(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def put(doc: Any, path: Path, value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


def delete(doc: Any, path: Path) -> None:
    del get(doc, path[:-1])[path[-1]]


RETYPED = ("x", [], {}, None, True, 2.5, 7)
"""Values of each JSON type, put where another type belongs."""


def _kind(value: Any) -> type:
    return type(value)


def out_of_range(value: Any) -> tuple[Any, ...]:
    """Values of the same type as ``value`` outside any range a model file could use."""
    if type(value) in (int, float):
        return (-1, 0, 1e308, math.nan, math.inf, -math.inf, 2**64, -(2**70), 10**400)
    if type(value) is str:
        return ("", "bogus", "é" * 3)
    if type(value) is list:
        return ([], value + value)
    if type(value) is dict:
        return ({},)
    return ()


class _Twice(dict):
    """A JSON object that json.dumps writes with one key twice, the second time ``twice``."""

    def __init__(self, items: dict[str, Any], key: str, twice: Any) -> None:
        super().__init__(items)
        self.key, self.twice = key, twice

    def items(self) -> Any:
        return [*super().items(), (self.key, self.twice)]


def duplicated(doc: Any, path: Path, value: Any) -> str:
    """The document as JSON text with the key at ``path`` written twice, the second time
    holding ``value``."""
    doc = copy.deepcopy(doc)
    parent = get(doc, path[:-1])
    twice = _Twice(parent, path[-1], value)
    if path[:-1]:
        put(doc, path[:-1], twice)
    else:
        doc = twice
    return json.dumps(doc, allow_nan=True)


@dataclass
class Case:
    """One crafted file: ``make()`` builds it (only when it is replayed); a Case without
    ``make`` is the damaged bytes ``data``."""

    name: str
    make: Callable[[], ModelFile] | None = None
    data: bytes = b""


Change = Callable[[ModelFile], None]


def _edited(model: ModelFile, change: Change) -> Callable[[], ModelFile]:
    def make() -> ModelFile:
        crafted = model.copy()
        change(crafted)
        return crafted

    return make


def _deleting(path: Path) -> Change:
    return lambda f: delete(f.meta, path)


def _putting(path: Path, value: Any) -> Change:
    return lambda f: put(f.meta, path, copy.deepcopy(value))


def _swapping(path: Path, other: Any) -> Change:
    def change(f: ModelFile) -> None:
        parent = get(f.meta, path[:-1])
        parent[path[-1]], parent[other] = parent[other], parent[path[-1]]

    return change


def _duplicating(path: Path, value: Any) -> Change:
    def change(f: ModelFile) -> None:
        meta = dict(f.meta, sha256=_digest(f.meta, f.arrays))
        if path[0] != "sha256":
            f.text, f.digest = duplicated(meta, path, value), False

    return change


def _document_cases(base: str, model: ModelFile) -> Iterator[Case]:
    for path in paths(model.meta):
        value, where = get(model.meta, path), f"{base}: {shown(path)}"
        changes = {"deleted": _deleting(path)}
        for other in [v for v in RETYPED if _kind(v) is not _kind(value)]:
            changes[f"retyped to {other!r}"] = _putting(path, other)
        for other in out_of_range(value):
            changes[f"out of range {shown_value(other)}"] = _putting(path, other)
        siblings = list(get(model.meta, path[:-1]))
        at = siblings.index(path[-1]) if isinstance(path[-1], str) else path[-1]
        if at + 1 < len(siblings):
            other_key = siblings[at + 1] if isinstance(path[-1], str) else at + 1
            changes[f"swapped with {other_key!r}"] = _swapping(path, other_key)
        if isinstance(path[-1], str):
            for twin in (value, "x"):
                changes[f"duplicated ({shown_value(twin)})"] = _duplicating(path, twin)
        for how, change in changes.items():
            yield Case(f"{where}: {how}", _edited(model, change))


def shown_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 30 else text[:27] + "..."


def _table(crafted: ModelFile, name: str) -> None:
    """Make the document's table of weights tell the truth about a changed array."""
    array, table = crafted.arrays[name], crafted.meta.get("parameters")
    if isinstance(table, dict):  # unless an earlier mutation took the table away
        table[name] = {"shape": list(array.shape), "dtype": array.dtype.str}


def _array(name: str, array: np.ndarray) -> Change:
    def change(f: ModelFile) -> None:
        f.arrays[name] = array
        _table(f, name)

    return change


def _member(member: str, raw: bytes | None) -> Change:
    return lambda f: f.members.__setitem__(member, raw)


ARRAY_DTYPES = ("<f4", ">f8", "<i8", "<c16", "|b1", "O", "<U8", "|V8", "<f2")


def _array_cases(base: str, model: ModelFile) -> Iterator[Case]:
    for name, array in model.arrays.items():
        shapes = {"flattened": array.reshape(-1), "one more axis": array[None]}
        shapes["one row fewer"] = array[:-1]
        if array.ndim == 2:
            shapes["transposed"] = array.T
        changes = {
            f"reshaped ({how})": _array(name, np.ascontiguousarray(a)) for how, a in shapes.items()
        }
        for dtype in ARRAY_DTYPES:
            retyped = (
                array.view(dtype) if dtype == "|V8" and array.itemsize == 8 else array.astype(dtype)
            )
            changes[f"retyped to {dtype}"] = _array(name, retyped)
        data, member = npy(array), f"param:{name}.npy"
        for how, raw in {
            "truncated by 8 bytes": data[:-8],
            "padded by 8 bytes": data + b"\0" * 8,
            "header only": data[: len(data) - array.nbytes],
            "header of 10**12 values": _npy_claiming(array, (10**12,)),
            "header of 8 GB": _npy_claiming(array, (100_000, 10_000)),
            "left out": None,
        }.items():
            changes[how] = _member(member, raw)
        for how, change in changes.items():
            yield Case(f"{base}: array {name}: {how}", _edited(model, change))


def _npy_claiming(array: np.ndarray, shape: tuple[int, ...]) -> bytes:
    """An npy header that declares ``shape`` followed by ``array``'s (far fewer) bytes."""
    buffer = io.BytesIO()
    header = {"descr": array.dtype.str, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + array.tobytes()


def _compressed(f: ModelFile) -> None:
    f.compression = zipfile.ZIP_DEFLATED


def _archive_cases(base: str, model: ModelFile) -> Iterator[Case]:
    text = json.dumps(model.meta, allow_nan=True).encode()
    changes = {
        "an extra array": _member("param:extra.npy", npy(np.zeros(3))),
        "a pickled object array": _member("param:extra.npy", npy(np.array([{}], dtype=object))),
        "a pickle member": _member("evil.pkl", b"cos\nsystem\n(S'echo pwned'\ntR."),
        "everything compressed": _compressed,
    }
    for how, raw in {
        "metadata as floats": npy(np.frombuffer(text[: len(text) // 8 * 8], "<f8")),
        "metadata in 2-D": npy(np.frombuffer(text, np.uint8).reshape(1, -1)),
        "metadata pickled": npy(np.array([text], dtype=object)),
        "metadata not JSON": npy(np.frombuffer(b"{nope", np.uint8)),
        "metadata not UTF-8": npy(np.frombuffer(b"\xff\xfe{}", np.uint8)),
        "metadata nested 100000 deep": npy(np.frombuffer(b"[" * 100_000, np.uint8)),
        "metadata a list": npy(np.frombuffer(b"[1, 2]", np.uint8)),
        "no metadata": None,
    }.items():
        changes[how] = _member("meta.npy", raw)
    for how, change in changes.items():
        yield Case(f"{base}: archive with {how}", _edited(model, change))


def structural_cases(base: str, model: ModelFile) -> Iterator[Case]:
    """Every mutation of every key of the document, every array and the archive itself."""
    yield from _document_cases(base, model)
    yield from _array_cases(base, model)
    yield from _archive_cases(base, model)


def byte_cases(base: str, data: bytes, step: int) -> Iterator[Case]:
    """The file's bytes damaged: a flipped byte every ``step``, cuts, insertions."""
    for position in range(0, len(data), step):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        yield Case(f"{base}: byte {position} flipped", data=bytes(damaged))
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1):
        yield Case(f"{base}: cut at byte {cut}", data=data[:cut])
    for at in (0, len(data) // 2, len(data) - 22):
        yield Case(f"{base}: 7 bytes inserted at {at}", data=data[:at] + b"\x00" * 7 + data[at:])


# ----- replaying a crafted file -------------------------------------------------------------------
OUTCOMES = ("refused", "identical", "faithful", "inconsistent", "unfaithful", "traceback")
"""refused: one-line InputError; identical: predicts as the original; faithful: predicts what
the (consistent) document says, as read by ``reference``. The last three are failures."""


@dataclass
class Outcome:
    kind: str
    peak: int = 0
    message: str = ""


def load_measured(path: Any) -> tuple[Any, BaseException | None, int]:
    """descend.load(path): the model (or the exception it raised) and the peak of the memory
    it allocated, as tracemalloc counts it."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    model, error = None, None
    try:
        model = descend.load(path)
    except Exception as raised:
        error = raised
    peak = tracemalloc.get_traced_memory()[1] - before
    if started:
        tracemalloc.stop()
    return model, error, peak


def _failure(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def replay(case: Case, path: Any, original: dict[str, Any], X: Any) -> Outcome:
    """Load one crafted file, predict with it, save and load it again; sort the outcome."""
    crafted = case.make() if case.make is not None else None
    if crafted is None:
        path.write_bytes(case.data)
    else:
        write(path, crafted)
    model, error, peak = load_measured(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if error is not None:
                raise error
            got = outputs(model, X)
            kind = "identical" if same(got, original) else _judge(crafted, got, X)
            again_path = path.with_suffix(".again")
            descend.save(model, again_path)  # what load accepted, save writes back
            again = outputs(descend.load(again_path), X)
        except InputError as refusal:
            if model is not None and kind_of_stage(refusal) == "save":
                return Outcome("traceback", peak, "save refused: " + str(refusal))
            return Outcome("refused", peak, str(refusal))
        except Exception as failure:
            return Outcome("traceback", peak, _failure(failure))
    if not same(again, got):
        return Outcome("unfaithful", peak, "saved and loaded again, it predicts otherwise")
    return Outcome(kind, peak)


def kind_of_stage(error: InputError) -> str:
    return "save" if str(error).startswith("descend.save") else "load or predict"


def _judge(crafted: ModelFile | None, got: dict[str, Any], X: Any) -> str:
    """Accepted and predicting otherwise than the original: faithful to the document?"""
    if crafted is None:
        return "inconsistent"  # damaged bytes past the digest
    try:
        expected = reference(crafted, X)
    except (Inconsistent, OtherColumns):
        return "inconsistent"
    return "faithful" if close(got, expected) else "unfaithful"


def replay_all(cases: list[Case], folder: Any, originals: dict[str, Any]) -> dict[str, list]:
    """Replay cases (named '<base>: ...'); the outcomes by kind, as (case name, Outcome)."""
    results: dict[str, list] = {kind: [] for kind in OUTCOMES}
    path = folder / "crafted.descend"
    for case in cases:
        base = case.name.split(":")[0]
        X, original = originals[base]
        outcome = replay(case, path, original, X)
        results[outcome.kind].append((case.name, outcome))
    return results
