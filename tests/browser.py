"""A real headless Chromium for the tests of pages (the report, the playground).

Debian's ``chromium`` package, driven by Playwright with the system browser
(Playwright downloads no browser of its own). When /usr/bin/chromium is
missing, the session installs it with apt-get (CI runs as root with Debian's
mirrors reachable); the page tests skip, saying why, only when that cannot
work. Screenshots go to ``artifacts()``: $DESCEND_TEST_ARTIFACTS, or
test-artifacts/ in the repository (the run's summary names it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # else it calls Google's hosts at every start
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def artifacts() -> str:
    """The folder the page tests keep their screenshots in (created)."""
    folder = os.environ.get("DESCEND_TEST_ARTIFACTS") or os.path.join(ROOT, "test-artifacts")
    os.makedirs(folder, exist_ok=True)
    return folder


def _install() -> str:
    """Install Debian's chromium; returns '' or why it could not be installed."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine to install Debian's chromium package"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "installing Debian's chromium package needs root (apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    return (
        "" if os.path.exists(CHROMIUM) else "apt-get installed chromium but not /usr/bin/chromium"
    )


def chromium_path() -> str:
    """/usr/bin/chromium, installed first if needed; skips the test when it cannot be."""
    if not os.path.exists(CHROMIUM):
        why = _install()
        if why:
            pytest.skip(f"No Chromium for the page tests: {why}.")
    return CHROMIUM


@dataclass
class Watched:
    """A page, with every console error (its text and the address it names) and every
    request it made."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> str:
        path = os.path.join(artifacts(), name)
        self.page.screenshot(path=path, full_page=True)
        return path


def launch() -> Iterator[Any]:
    """A Playwright Chromium (the system's) for one session of tests."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()


def _said(message: Any) -> str:
    """A console message, and the address it is about (or from)."""
    return f"{message.text} ({message.location.get('url') or 'no address'})"


def watched_page(browser: Any, width: int = 1200, height: int = 900) -> Watched:
    """A new page that records its console errors, uncaught errors and requests."""
    page = browser.new_page(viewport={"width": width, "height": height})
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(_said(m)) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("request", lambda r: watched.requests.append(r.url))
    return watched
