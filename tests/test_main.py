"""Tests for descend/__main__.py: ``python -m descend`` is the ``descend`` command, and a
Ctrl-C while the command line starts is one line and exit status 130."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.cli.commands import ENV, run


def test_python_m_descend_is_the_descend_command(tmp_path):
    script = shutil.which("descend", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the descend console script is not installed beside this Python")
    for args in (["--help"], ["train", "missing.csv", "--target", "y"]):
        by_module = run(*args, cwd=tmp_path)
        by_script = subprocess.run(
            [script, *args], capture_output=True, text=True, env=ENV, cwd=tmp_path, check=False
        )
        assert by_module.returncode == by_script.returncode
        assert (by_module.stdout, by_module.stderr) == (by_script.stdout, by_script.stderr)
    assert by_module.returncode == 2
    assert by_module.stderr == "descend: error: No such file: 'missing.csv'. Check the path.\n"


def test_an_interrupt_while_the_command_line_starts_is_one_line_and_status_130():
    script = (
        "import sys\n"
        "import descend.cli.main as command_line\n"
        "def interrupted(argv=None):\n"
        "    raise KeyboardInterrupt\n"
        "command_line.main = interrupted\n"
        "import descend.__main__ as entry\n"
        "sys.exit(entry.main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, check=False
    )
    assert done.returncode == 130
    assert (done.stdout, done.stderr) == ("", "descend: interrupted; nothing was written.\n")
