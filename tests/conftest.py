"""Fixtures shared by the test folders: a real headless Chromium for the page tests; and
settings the suite needs before any test module is imported."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests import browser as chromium

# scikit-learn's estimator checks include an array API check (tests/estimators/test_checks.py)
# that SciPy allows only when this is set before SciPy is first imported; it changes nothing
# for NumPy arrays.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


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
