"""Tests for descend.engine.backend: the one array module the engine computes with, so that a
module with NumPy's interface (CuPy) can run the same code."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import numpy as np

import descend
from descend import Tensor
from descend.engine import backend, functional, ops, tensor


def test_the_array_module_is_numpy_by_default():
    assert backend.xp is np and backend.ndarray is np.ndarray
    assert ops.xp is backend.xp and tensor.xp is backend.xp and functional.xp is backend.xp


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports, anywhere in its file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_of_the_engine_but_the_backend_imports_numpy():
    folder = Path(backend.__file__).parent
    assert "numpy" in imported(folder / "backend.py")  # the scan sees it where it is
    found = {p.name for p in folder.glob("*.py") if "numpy" in imported(p)}
    assert found == {"backend.py"}


class Recording(types.ModuleType):
    """NumPy, counting the names the engine asks it for."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.asked.append(name)
        return getattr(np, name)


def test_the_ops_compute_with_the_module_they_are_given(monkeypatch):
    recording = Recording()
    for module in (ops, tensor, functional):
        monkeypatch.setattr(module, "xp", recording)
    x = Tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], requires_grad=True)
    loss = descend.logsumexp(x, axis=1).sum()
    loss.backward()
    assert "exp" in recording.asked and "log" in recording.asked
    np.testing.assert_allclose(loss.item(), np.log(np.exp([1.0, 2.0, 3.0]).sum()) + np.log(3))
    np.testing.assert_allclose(x.grad[1], [1 / 3, 1 / 3, 1 / 3], rtol=1e-15)
