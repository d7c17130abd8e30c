"""A playground server for the module's tests, started as `descend playground` starts it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from descend.datasets import patients_path
from tests.playground.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = str(tmp_path_factory.mktemp("playground") / "patients.csv")
    shutil.copy(patients_path(), data)
    running = Server(data, "inr", "--idle-timeout", "600")
    yield running
    running.stop()
