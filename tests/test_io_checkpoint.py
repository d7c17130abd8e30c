"""Checkpoints rewritten by an adversary: refused in one line before anything large is read.

A checkpoint is as untrusted as a model file (``resume=`` takes any path), so it is read by
the same reader (``descend.data.archive.read_npz``): the zip's directory and each npy header
are checked before any data is, and nothing larger than the file is allocated.
"""

import io
import json
import zipfile

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.learn.callbacks import Checkpoint
from descend.learn.callbacks import checkpoint as ckpt
from tests import model_files as mf
from tests.test_io_crafted import MESSAGE, bound


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The members of a checkpoint a real run wrote, by name, and its state."""
    path = tmp_path_factory.mktemp("ckpt") / "run.ckpt"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = nn.MLP([3, 4, 1], seed=1)
    descend.fit(model, X, X.sum(axis=1), epochs=3, callbacks=[Checkpoint(path)], verbose=False)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    return members, ckpt.read(path)


def npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def write(path, members, compressed=()):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if name in compressed else zipfile.ZIP_STORED
            archive.writestr(info, data)


def bomb(path):
    """A member of 1 GiB of zeros deflated to about 1 MB, under a real checkpoint's name."""
    with zipfile.ZipFile(path, "w") as archive:
        meta = {"weights": [{"__array__": "a0"}]}
        archive.writestr("meta.npy", mf.npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))
        info = zipfile.ZipInfo("a0.npy", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(npy_header((2**27,)))
            for _ in range(64):
                member.write(bytes(1 << 24))


def read_measured(path):
    """ckpt.read(path): the error it raised (None: read) and the peak of what it allocated."""
    import tracemalloc

    tracemalloc.start()
    try:
        ckpt.read(path)
        error = None
    except InputError as refused:
        error = refused
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


def _replace(name, data):
    return lambda members: {**members, name: data}


def _header_of(shape):
    return lambda members: {**members, "a0.npy": npy_header(shape) + members["a0.npy"][128:]}


CRAFTED = [  # (what, how the members change, compressed members, what the refusal says)
    ("a member deflated", lambda m: m, ("a0.npy",), "compressed"),
    ("an npy header of 8 GB", _header_of((100_000, 10_000)), (), "does not match"),
    ("an npy header of 10**12 values", _header_of((10**12,)), (), "does not match"),
    ("a pickled object array", _replace("a0.npy", mf.npy(np.array([{}], dtype=object))), (), "dtype '|O'"),
    ("a pickle member", _replace("evil.pkl", b"cos\nsystem\n(S'echo pwned'\ntR."), (), "'evil.pkl'"),
    ("a member of another name", _replace("weights.npy", mf.npy(np.zeros(3))), (), "'weights.npy'"),
    ("an array of text", _replace("a0.npy", mf.npy(np.array(["x"]))), (), "dtype '<U1'"),
    ("no metadata", lambda m: {k: v for k, v in m.items() if k != "meta.npy"}, (), "'meta'"),
    ("a truncated array", lambda m: {**m, "a0.npy": m["a0.npy"][:-8]}, (), "truncated or padded"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "compressed", "said"), [c[1:] for c in CRAFTED], ids=[c[0] for c in CRAFTED]
)
def test_a_crafted_checkpoint_is_refused_in_one_line_before_its_data_is_read(
    real, tmp_path, change, compressed, said
):
    path = tmp_path / "crafted.ckpt"
    write(path, change(real[0]), compressed)
    error, peak = read_measured(path)
    assert error is not None and said in str(error), error
    assert "\n" not in str(error) and len(str(error)) < MESSAGE
    assert str(error).startswith(f"{str(path)!r} ")
    assert peak < bound(path.stat().st_size)


def test_a_deflate_bomb_is_refused_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.ckpt"
    bomb(path)
    error, peak = read_measured(path)
    assert path.stat().st_size < 2 * 2**20  # 1 GiB inside
    assert "stores 'a0.npy' compressed" in str(error)
    assert peak < bound(path.stat().st_size)


def test_the_reader_reads_back_what_a_run_wrote_and_it_resumes(real, tmp_path):
    members, state = real
    path = tmp_path / "copy.ckpt"
    write(path, members)
    again = ckpt.read(path)
    assert again["epoch"] == state["epoch"] == 3
    for a, b in zip(again["weights"], state["weights"]):
        np.testing.assert_array_equal(a, b)
        assert a.flags.writeable  # the optimizer's state is updated in place on resume
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = nn.MLP([3, 4, 1], seed=1)
    history = descend.fit(
        model, X, X.sum(axis=1), epochs=5, callbacks=[Checkpoint(resume=path)], verbose=False
    )
    assert history.epochs == 5
