"""The command line: ``descend demo | train | predict | evaluate | sweep | explain | report |
playground``.

Each command is a module with two functions: ``add(commands)`` adds its
subparser and sets ``run``; ``COMMANDS`` lists the modules, so a new command
is one new module and one more entry in that list. The commands call the
library and print; every rule they apply (the task, the model, the scores,
the sweep) lives in the library.

Bad input of any kind ends as one line on stderr, ``descend: error: <what is
wrong and how to fix it>``, exit status 2, no traceback, and no output file:
a command stages every file it writes (``descend.files.Outputs``) and renames
them all into place only once everything succeeded. The library's words for
its parameters (``lr=0.1``) are shown as the flags that set them (``--lr 0.1``).

>>> main(["train", "data.csv", "--target", "y", "--lr", "-1"])
2
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, NoReturn

from .._version import __version__
from ..data import DataWarning
from ..errors import InputError
from ..learn.callbacks import ConvergenceWarning
from . import demo, evaluate, explain, playground, predict, report, sweep, train
from .output import in_flags

EXIT_BAD_INPUT = 2
"""Exit status for bad input (argparse's own errors use it too)."""

COMMANDS = [demo, train, predict, evaluate, sweep, explain, report, playground]
"""Each module adds one subcommand to the parser; add a module here to add a command."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``descend: error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"descend: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The ``descend`` argument parser with every command in COMMANDS."""
    parser = _Parser(
        prog="descend",
        description="Make a model learn by gradient descent, and see every step of it.",
    )
    parser.add_argument("--version", action="version", version=f"descend {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status: ``main(["demo"])``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a bad flag (already reported)
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    args.warnings = []  # this command's warnings, for its JSON output
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)  # whatever filters the caller set
        warnings.simplefilter("ignore", ConvergenceWarning)  # the "Stopped:" line says it
        warnings.showwarning = _shower(args.warnings)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command, with every failure as one line and its exit status."""
    try:
        status: int = args.run(args)
        return status
    except InputError as error:
        return _fail(str(error))
    except BrokenPipeError:  # the reader went away, as in `descend predict ... | head`
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a file the checks could not foresee, e.g. a full disk
        where = f" {error.filename!r}" if error.filename else ""
        return _fail(f"Cannot use{where}: {error.strerror or error}. Check the path.")
    except KeyboardInterrupt:
        print("descend: interrupted; nothing was written.", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"descend: error: {in_flags(' '.join(message.split()))}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _shower(raised: list[str]) -> Any:
    """A ``warnings.showwarning`` that prints one line and keeps the message in ``raised``."""

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        raised.append(in_flags(str(message)))
        print(f"descend: warning: {in_flags(str(message))}", file=sys.stderr)

    return show
