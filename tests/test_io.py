"""Tests for descend.io beyond the estimators' round trips: files that are not models."""

import numpy as np
import pytest

import descend
from descend.errors import InputError


def test_a_file_that_is_not_a_model_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "data.descend"
    path.write_text("age,inr\n50,2.1\n")
    with pytest.raises(InputError, match="not a descend model file \\(not an npz archive\\)"):
        descend.load(path)


def test_every_single_byte_flip_in_a_model_file_is_refused_or_harmless(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = descend.Classifier(model="logistic", epochs=3).fit(X, y)
    path = tmp_path / "m.descend"
    descend.save(model, path)
    good = path.read_bytes()
    expected = model.predict_proba(X)
    damaged = tmp_path / "damaged.descend"
    refused = 0
    for position in range(len(good)):  # local headers, npy headers, data, central directory
        data = bytearray(good)
        data[position] ^= 0xFF
        damaged.write_bytes(bytes(data))
        try:
            loaded = descend.load(damaged)
        except InputError:
            refused += 1
            continue
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert refused > len(good) // 2  # most flips are caught; the rest change nothing that is read


def test_a_missing_model_file_suggests_both_ways_to_save_one(tmp_path):
    from descend.cli.output import in_flags

    with pytest.raises(InputError, match=r"save one with descend\.save\.$") as caught:
        descend.load(tmp_path / "nope.descend")  # the library's way; the command line's:
    assert in_flags(str(caught.value)).endswith("descend.save or `descend train --save`.")
