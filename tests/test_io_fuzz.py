"""Random mutations of real model files, structural and byte-wise, with hypothesis.

Each example rewrites a model file one to three times (a key deleted, retyped, given
another value, swapped, duplicated; an array reshaped, retyped, edited, truncated; a
member of the archive replaced) with the digest recomputed, or damages its bytes; then
loads it. Nothing may end in a traceback, allocate beyond the bound, or be accepted and
predict otherwise than what its document says (``model_files.reference``).

``make test`` runs DESCEND_FUZZ_EXAMPLES=60 (derandomized); ``make fuzz`` runs 70,000
examples, fails unless they applied DESCEND_FUZZ_MUTATIONS=100,000 mutations or more, runs
every systematic mutation (``model_files.structural_cases``) too, and prints the counts. A
mutation is counted when it changed the file: one that changes nothing (a value put where
it was, a key swapped with itself) is not.
"""

import collections
import functools
import os
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from tests import model_files as mf
from tests.test_io_crafted import EVERY, FAILURES, MESSAGE, bound

pytestmark = pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
EXAMPLES = int(os.environ.get("DESCEND_FUZZ_EXAMPLES", "60"))
MUTATIONS = int(os.environ.get("DESCEND_FUZZ_MUTATIONS", "0"))
"""The mutations the random examples must have applied (0: no such check)."""
COUNTS: collections.Counter[str] = collections.Counter()


@functools.cache
def bases() -> tuple[pathlib.Path, dict[str, tuple]]:
    folder = mf.scratch_folder()
    found = {}
    for name, model in mf.base_models().items():
        path = folder / f"{name}.descend"
        descend.save(model, path)
        X = mf.inputs(model)
        original = mf.outputs(descend.load(path), X)
        found[name] = (mf.read(path), X, original, path.read_bytes())
    return folder, found


TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=6)
"""Text with lone surrogates too (JSON's escapes carry them; UTF-8 cannot)."""
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


LONG = 40_000
"""The most items a lengthened list gets (lengthened twice, a list must not square)."""


def _document(draw, f: mf.ModelFile) -> str:
    path = draw(st.sampled_from(list(mf.paths(f.meta))))
    value = mf.get(f.meta, path)
    ops = ["delete", "value", "swap"]  # the operations that apply to this value
    ops += ["nearby"] if type(value) in (int, float) or (type(value) is list and value) else []
    ops += ["duplicate"] if isinstance(path[-1], str) else []
    ops += ["lengthen"] if type(value) is list and value else []
    op = draw(st.sampled_from(ops))
    if op == "lengthen" and type(value) is list and value:  # an MLP of 33,333 sizes...
        times = draw(st.sampled_from((10, 1000, 20_000)))
        mf.put(f.meta, path, (value * min(times, LONG // len(value) + 1))[:LONG])
    elif op == "delete":
        mf.delete(f.meta, path)
    elif op == "value":
        mf.put(f.meta, path, draw(JSON))
    elif op == "nearby" and type(value) in (int, float):
        mf.put(f.meta, path, value + draw(st.sampled_from((-1, 1, 0.5, -(10**-9)))))
    elif op == "nearby" and type(value) is list and value:
        mf.put(f.meta, path, value[: draw(st.integers(0, len(value) - 1))])
    elif op == "swap":
        parent = mf.get(f.meta, path[:-1])
        other = draw(
            st.sampled_from(list(parent) if isinstance(parent, dict) else range(len(parent)))
        )
        parent[path[-1]], parent[other] = parent[other], parent[path[-1]]
    elif op == "duplicate" and isinstance(path[-1], str):
        mf._duplicating(path, draw(JSON))(f)
    return f"{op} {mf.shown(path)}"


def _arrays(draw, f: mf.ModelFile) -> str:
    if not f.arrays:
        return "no arrays"
    name = draw(st.sampled_from(sorted(f.arrays)))
    array = f.arrays[name]
    op = draw(st.sampled_from(("reshape", "retype", "edit", "truncate", "drop")))
    if op == "reshape":
        shape = draw(st.lists(st.integers(0, 8), max_size=3))
        f.arrays[name] = np.resize(array, shape)
        mf._table(f, name)
    elif op == "retype":
        mf._array(name, array.astype(draw(st.sampled_from(mf.ARRAY_DTYPES[:-3]))))(f)
    elif op == "edit" and array.size:
        edited = array.copy()
        edited.flat[draw(st.integers(0, array.size - 1))] = draw(st.floats(-10, 10))
        f.arrays[name] = edited
    elif op == "truncate":
        data = mf.npy(array)
        f.members[f"param:{name}.npy"] = data[: draw(st.integers(0, len(data) - 1))]
    elif op == "drop":
        f.members[f"param:{name}.npy"] = None
    return f"{op} array {name}"


@st.composite
def crafted(draw) -> tuple[str, mf.Case]:
    base = draw(st.sampled_from(EVERY))
    model, _, _, data = bases()[1][base]
    if draw(st.booleans()) and draw(st.booleans()):  # a quarter: damaged bytes
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(("flip", "cut", "insert")))
        if how == "flip":
            damaged = bytearray(data)
            damaged[at] ^= draw(st.integers(1, 255))
            data = bytes(damaged)
        else:
            data = data[:at] + (draw(st.binary(min_size=1, max_size=8)) if how == "insert" else b"")
        COUNTS["mutations"] += 1  # a flip, a cut or an insertion always changes the bytes
        return base, mf.Case(f"{base}: bytes {how} at {at}", data=data)
    f = model.copy()
    done = []
    for _ in range(draw(st.integers(1, 3))):
        before = _state(f)
        done.append((_document if draw(st.integers(0, 3)) else _arrays)(draw, f))
        COUNTS["mutations" if _state(f) != before else "no-ops"] += 1
    return base, mf.Case(f"{base}: " + "; ".join(done), lambda: f)


def _state(f: mf.ModelFile) -> bytes:
    """What a mutation may change of a model file, as bytes (the document as JSON text)."""
    arrays = [(k, a.dtype.str, a.shape, a.tobytes()) for k, a in sorted(f.arrays.items())]
    text = f.text if f.text is not None else mf.json.dumps(f.meta, allow_nan=True)
    return repr((text, arrays, sorted(f.members.items()), f.compression, f.digest)).encode()


@pytest.fixture(scope="module", autouse=True)
def counts():
    yield
    if EXAMPLES > 1000:
        shown = {kind: COUNTS[kind] for kind in ("examples", "mutations", "no-ops", *mf.OUTCOMES)}
        systematic = {kind: COUNTS[f"systematic {kind}"] for kind in mf.OUTCOMES}
        print(f"\nfuzz: random {shown}\nfuzz: systematic {systematic}")
    assert COUNTS["mutations"] >= MUTATIONS, f"{COUNTS['mutations']:,} mutations applied"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=EXAMPLES <= 1000,
    suppress_health_check=list(HealthCheck),
)
@given(crafted())
def test_a_randomly_mutated_model_file_is_refused_or_read_as_written(case):
    base, case = case
    folder, found = bases()
    _, X, original, data = found[base]
    path = folder / "fuzzed.descend"
    outcome = mf.replay(case, path, original, X)
    COUNTS[outcome.kind] += 1
    COUNTS["examples"] += 1
    assert outcome.kind not in FAILURES, f"{case.name}: {outcome.message}"
    assert outcome.peak < bound(path.stat().st_size), case.name
    assert "\n" not in outcome.message or outcome.kind != "refused"
    assert len(outcome.message) < MESSAGE, case.name


@pytest.mark.skipif(EXAMPLES <= 1000, reason="make fuzz: every systematic mutation")
@pytest.mark.parametrize("base", EVERY)
def test_every_systematic_mutation_is_refused_or_read_as_written(base):
    folder, found = bases()
    model, X, original, data = found[base]
    cases = [*mf.structural_cases(base, model), *mf.byte_cases(base, data, 7)]
    results = mf.replay_all(cases, folder, {base: (X, original)})
    for kind, listed in results.items():
        COUNTS[f"systematic {kind}"] += len(listed)
    assert [name for kind in FAILURES for name, _ in results[kind]] == []
    assert max(o.peak for kind in results for _, o in results[kind]) < bound(len(data))
