"""Fixtures shared by the test folders: a real headless Chromium for the page tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests import browser as chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, installed first when missing (tests/browser.py)."""
    yield from chromium.launch()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    folder = os.environ.get("DESCEND_TEST_ARTIFACTS") or os.path.join(
        chromium.ROOT, "test-artifacts"
    )
    shots = (
        sorted(f for f in os.listdir(folder) if f.endswith(".png")) if os.path.isdir(folder) else []
    )
    if shots:
        terminalreporter.write_line(
            f"Screenshots of the pages tested: {folder} ({', '.join(shots)})"
        )
