"""Tests for descend.io beyond the estimators' round trips: files that are not models."""

import pytest

import descend
from descend.errors import InputError


def test_a_file_that_is_not_a_model_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "data.descend"
    path.write_text("age,inr\n50,2.1\n")
    with pytest.raises(InputError, match="not a descend model file \\(not an npz archive\\)"):
        descend.load(path)
