"""Tests of the descend.data package as a whole: its docstring example, and an import that
needs NumPy only. Each module has its own file: tests/data/test_<module>.py."""

from __future__ import annotations

import doctest
import subprocess
import sys

import descend.data as data


def test_module_docstring_example_runs() -> None:
    assert doctest.testmod(data).failed == 0


def test_import_needs_numpy_only() -> None:
    code = (
        "import sys, descend, descend.data; print('pandas' in "
        "sys.modules, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
