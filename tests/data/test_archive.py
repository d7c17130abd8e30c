"""The bounded npz reader (descend.data.archive) on its own: what np.savez writes reads back
as it was written; every other archive is refused in one line saying what it holds, before
the data a header declares is allocated."""

from __future__ import annotations

import io
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from descend.data.archive import MAX_HEADER, ArchiveError, describe, read_npz
from descend.errors import InputError
from tests import model_files as mf
from tests.test_io_checkpoint import npy_header, write

META = np.frombuffer(b'{"x": 1}', np.uint8)
A = np.arange(6.0).reshape(2, 3) / 7
B = np.array([1, -2, 2**40], dtype="<i8")
DTYPES = {"meta": ("|u1",), "a": ("<f8", ">f8"), "b": ("<i8",)}


def read(path, required="meta"):
    return read_npz(path, DTYPES.__contains__, DTYPES.__getitem__, required=required)


def refusal(path, required="meta"):
    with pytest.raises(ArchiveError) as caught:
        read(path, required)
    assert isinstance(caught.value, InputError) and "\n" not in str(caught.value)
    return str(caught.value)


def members(**arrays):
    """Members as np.savez writes them: name.npy -> the array's npy bytes."""
    return {f"{name}.npy": mf.npy(array) for name, array in {"meta": META, **arrays}.items()}


def written(tmp_path, members, compressed=()):
    path = tmp_path / "archive.npz"
    write(path, members, compressed)
    return path


def patched(path, offset, value, size):
    """The archive with a field of the central directory's (first) entry for 'a.npy' set:
    ``offset`` bytes into the entry, ``size`` bytes little-endian."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 51] != b"a.npy":  # the name, 46 bytes into the entry
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + offset : entry + offset + size] = value.to_bytes(size, "little")
    path.write_bytes(bytes(data))
    return path


def measured(path):
    """read(path): the error it raised (None: read) and the peak of what it allocated."""
    tracemalloc.start()
    try:
        read(path)
        error = None
    except ArchiveError as refused:
        error = refused
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


# ----- what np.savez writes ---------------------------------------------------------------
def test_an_archive_np_savez_wrote_reads_back_equal_writable_arrays(tmp_path):
    path = tmp_path / "saved.npz"
    np.savez(path, meta=META, a=A, b=B)
    got = read(path)
    assert list(got) == ["meta", "a", "b"]
    for name, array in {"meta": META, "a": A, "b": B}.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape
        np.testing.assert_array_equal(got[name], array)
        assert got[name].flags.writeable and got[name].flags.c_contiguous
    assert got["b"][2] == 2**40 and got["a"][1, 2] == 5 / 7


def test_big_endian_a_0_d_array_and_a_version_2_header_read_back_as_written(tmp_path):
    big = np.array([1.5, -2.25, 1e300], dtype=">f8")
    path = tmp_path / "v2.npz"
    with zipfile.ZipFile(path, "w") as archive:  # as np.savez writes, 'a' with a 2.0 header
        archive.writestr("meta.npy", mf.npy(META))
        archive.writestr("b.npy", mf.npy(np.array(7, dtype="<i8")))
        with archive.open("a.npy", "w") as member:
            np.lib.format.write_array(member, big, version=(2, 0))
    got = read(path)
    assert got["a"].dtype.str == ">f8" and got["a"].tolist() == [1.5, -2.25, 1e300]
    assert got["b"].shape == () and int(got["b"]) == 7


def test_a_header_of_max_header_bytes_is_read_and_one_byte_more_is_refused(tmp_path):
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
    header = b"\x93NUMPY\x01\x00" + MAX_HEADER.to_bytes(2, "little")
    header += (text + " " * (MAX_HEADER - len(text) - 1) + "\n").encode()
    data = np.array([1.0, 2.0, 3.0]).tobytes()
    assert read(written(tmp_path, {**members(), "a.npy": header + data}))["a"].tolist() == [1, 2, 3]
    longer = header[:8] + (MAX_HEADER + 1).to_bytes(2, "little") + header[10:] + b" "
    message = refusal(written(tmp_path, {**members(), "a.npy": longer + data}))
    assert message == f"holds 'a.npy' with an npy header of {MAX_HEADER + 1} bytes"


def test_an_empty_array_np_savez_wrote_reads_back(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, meta=META, a=np.zeros((0, 3)))
    empty = read(path)["a"]
    assert empty.shape == (0, 3) and empty.dtype == np.float64


# ----- the zip's directory ----------------------------------------------------------------
def test_a_member_the_caller_does_not_accept_is_refused(tmp_path):
    pickle = b"cos\nsystem\n(S'echo pwned'\ntR."
    assert refusal(written(tmp_path, {**members(a=A), "evil.pkl": pickle})) == (
        "holds a member 'evil.pkl' that it should not"
    )
    assert refusal(written(tmp_path, {**members(a=A), "c.npy": mf.npy(A)})) == (
        "holds a member 'c.npy' that it should not"
    )
    assert refusal(written(tmp_path, {**members(), "a": mf.npy(A)})) == (
        "holds a member 'a' that it should not"  # an accepted name, but not an npy member
    )


def test_the_same_member_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile's 'Duplicate name'
        for name, data in [*members(a=A).items(), ("a.npy", mf.npy(A * 0))]:
            archive.writestr(name, data)
    assert refusal(path) == "holds the member 'a.npy' twice"


def test_a_member_np_savez_compressed_wrote_is_refused(tmp_path):
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, meta=META, a=A)
    assert refusal(path) == "stores 'meta.npy' compressed or encrypted; np.savez does not"
    only_a = written(tmp_path, members(a=A), compressed=("a.npy",))
    assert refusal(only_a) == "stores 'a.npy' compressed or encrypted; np.savez does not"


def test_a_member_flagged_encrypted_is_refused(tmp_path):
    path = patched(written(tmp_path, members(a=A)), offset=8, value=0x1, size=2)
    assert refusal(path) == "stores 'a.npy' compressed or encrypted; np.savez does not"


def test_a_member_declaring_more_bytes_than_the_file_has_is_refused(tmp_path):
    path = written(tmp_path, members(a=A))
    size = path.stat().st_size
    assert refusal(patched(path, offset=24, value=size + 1, size=4)) == (
        "declares 'a.npy' larger than the file itself"
    )


def test_the_required_member_missing_is_refused(tmp_path):
    path = tmp_path / "no-meta.npz"
    np.savez(path, a=A, b=B)
    assert refusal(path) == "has no 'meta' member"
    assert read(path, required="a")["b"].tolist() == B.tolist()
    assert refusal(written(tmp_path, members(a=A)), required="b") == "has no 'b' member"


# ----- each member's npy header -----------------------------------------------------------
@pytest.mark.parametrize(
    "data", [b"", b"\x93NUMPY", b"not an npy array at all", b"\x93NUMPY\x04\x00" + bytes(200)]
)
def test_a_member_that_is_not_an_npy_array_is_refused(tmp_path, data):
    assert refusal(written(tmp_path, {**members(), "a.npy": data})) == (
        "holds 'a.npy', which is not an npy array"
    )


def test_an_array_in_fortran_order_or_of_a_negative_size_is_refused(tmp_path):
    fortran = mf.npy(np.asfortranarray(A))
    assert np.lib.format.read_array_header_1_0(io.BytesIO(fortran[8:]))[1]  # fortran_order
    said = "holds 'a.npy' in Fortran order or with a negative size"
    assert refusal(written(tmp_path, {**members(), "a.npy": fortran})) == said
    negative = npy_header((-1, 2)) + A.tobytes()
    assert refusal(written(tmp_path, {**members(), "a.npy": negative})) == said


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.array([{}], dtype=object), "|O"),
        (A.astype("<f4"), "<f4"),
        (np.array(["x"]), "<U1"),
        (B.astype(">i8"), ">i8"),
    ],
)
def test_a_dtype_outside_the_allowlist_is_refused(tmp_path, array, dtype):
    assert refusal(written(tmp_path, {**members(), "a.npy": mf.npy(array)})) == (
        f"holds 'a.npy' of dtype '{dtype}', not one of <f8, >f8"
    )


@pytest.mark.parametrize(
    ("how", "change"),
    [("truncated", lambda d: d[:-8]), ("padded", lambda d: d + bytes(8)),
     ("header only", lambda d: d[:128]), ("one value short", lambda d: d[:-1])],
)  # fmt: skip
def test_a_header_whose_shape_does_not_add_up_to_the_members_bytes_is_refused(
    tmp_path, how, change
):
    data = change(mf.npy(A))
    assert len(mf.npy(A)) == 128 + 48
    assert refusal(written(tmp_path, {**members(), "a.npy": data})) == (
        f"holds 'a.npy' whose header ([2, 3] x <f8) does not match its {len(data)} bytes: "
        "truncated or padded"
    )


@pytest.mark.parametrize("shape", [(10**12,), (100_000, 10_000)])
def test_a_member_declaring_a_huge_shape_is_refused_without_allocating_it(tmp_path, shape):
    path = written(tmp_path, {**members(), "a.npy": mf._npy_claiming(A, shape)})
    error, peak = measured(path)
    assert "does not match its 176 bytes" in str(error)
    assert peak < 2**20  # 8 GB and more declared, in a file of 512 bytes


def test_the_memory_measured_sees_an_array_that_is_read(tmp_path):
    """The bound above could fail: reading a real member of 8 MB peaks above 8 MB (at about
    3 times: zipfile's readinto reads into a bytes object of its own, then copies it)."""
    path = tmp_path / "large.npz"
    np.savez(path, meta=META, a=np.ones(10**6))
    error, peak = measured(path)
    assert error is None and 8 * 10**6 < peak < 4 * 8 * 10**6


# ----- the words of an error --------------------------------------------------------------
def test_describe_puts_an_error_on_one_line_of_at_most_its_limit():
    short = ValueError("bad\n   header\tbytes")
    assert describe(short) == "ValueError: bad header bytes"
    long = zipfile.BadZipFile("x" * 150 + "\n" + "y" * 150)
    text = describe(long)
    assert len(text) == 200 and text.endswith("...") and "\n" not in text
    assert text == ("BadZipFile: " + "x" * 150 + " " + "y" * 150)[:197] + "..."
    assert describe(long, limit=20) == "BadZipFile: xxxxx..."
    exact = "E" * (200 - len("KeyError: ''"))
    assert describe(KeyError(exact)) == f"KeyError: '{exact}'"  # 200 characters: kept whole


def test_a_damaged_zip_raises_zipfiles_error_and_describe_says_it_in_one_line(tmp_path):
    path = written(tmp_path, members(a=A))
    path.write_bytes(path.read_bytes()[:-30])  # the end of the central directory cut off
    with pytest.raises(zipfile.BadZipFile) as caught:
        read(path)
    assert describe(caught.value) == "BadZipFile: File is not a zip file"
