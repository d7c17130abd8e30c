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
Running out of memory is one line too (the step, the size it needed, what to
try), exit status 2. Ctrl-C follows ``descend.interrupts``: before anything was
learned, one line and exit status 130, nothing written; after, the command keeps
and writes what it has, then says on one line whether the Ctrl-C cut anything
short, exit status 130.

>>> main(["train", "data.csv", "--target", "y", "--lr", "-1"])
2
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import warnings
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, NoReturn

from .. import interrupts
from .._version import __version__
from ..data import DataWarning
from ..errors import InputError
from ..learn.callbacks import ConvergenceWarning
from . import demo, evaluate, explain, playground, predict, report, sweep, train
from .output import in_flags

EXIT_BAD_INPUT = 2
"""Exit status for bad input (argparse's own errors use it too)."""
EXIT_NO_MEMORY = EXIT_BAD_INPUT
"""Exit status when the machine ran out of memory."""

STOPPED_EARLY = (
    "descend: interrupted; stopped early, keeping the results above (every file they name is "
    "complete)."
)
"""The last line after a Ctrl-C that stopped training early or skipped a step (the scores)."""
NOTHING_CUT = (
    "descend: interrupted, but nothing was cut short: the results above are complete, and so "
    "is every file they name."
)
"""The last line after a Ctrl-C that came once the work was done (while the files were written)."""

COMMANDS = [demo, train, predict, evaluate, sweep, explain, report, playground]
"""Each module adds one subcommand to the parser; add a module here to add a command."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``descend: error: ...``, exit status 2.

    A value that starts with a minus sign and reads as a number (``--lr -inf``,
    ``--lr -1e-3``) is a value, so that its flag's own check says what is wrong with it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)

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
    with interrupts.entry():
        try:
            status = _main(argv)
            interrupts.keep()  # the command is done: a late Ctrl-C cannot undo it
        except KeyboardInterrupt:
            print("descend: interrupted; nothing was written.", file=sys.stderr)
            return interrupts.INTERRUPTED
        if status == 0 and interrupts.requested(heed=False):
            print(STOPPED_EARLY if interrupts.cut_short() else NOTHING_CUT, file=sys.stderr)
            return interrupts.INTERRUPTED
        return status


def _main(argv: Sequence[str] | None) -> int:
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
    except MemoryError as error:
        return _fail(_out_of_memory(error), EXIT_NO_MEMORY)


def _fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    print(f"descend: error: {in_flags(' '.join(message.split()))}", file=sys.stderr)
    return status


_MEMORY_STEPS = (
    ("descend.data.archive", "reading or writing the model file", "a smaller model (--hidden)"),
    ("descend.data.tables", "reading the table", "a smaller table, or fewer columns"),
    ("descend.data", "preparing the columns", "fewer columns (--features), or text columns "
     "with fewer distinct values (each becomes one column per value)"),
    ("descend.understand.plot", "drawing the picture", "leaving --plot out"),
    ("descend.understand", "diagnosing the run", "fewer rows or columns"),
    ("descend.io", "reading or writing the model file", "a smaller model (--hidden)"),
    ("descend", "training", "a smaller --batch-size, a smaller model (--hidden), fewer columns "
     "(--features) or fewer classes"),
)  # fmt: skip
"""The innermost descend module where memory ran out -> the step it was doing, what to try."""


def _out_of_memory(error: MemoryError) -> str:
    """'Out of memory while training: an array of 8 GiB ... did not fit. Try ...'."""
    trace, module = error.__traceback__, ""
    while trace is not None:
        name = trace.tb_frame.f_globals.get("__name__", "")
        module = name if name.startswith("descend.") else module
        trace = trace.tb_next
    step, fix = next((s, f) for prefix, s, f in _MEMORY_STEPS if module.startswith(prefix))
    shape, dtype = getattr(error, "shape", None), getattr(error, "dtype", None)
    needed = ""
    if shape is not None and dtype is not None:  # NumPy's error says what it tried to allocate
        size = float(math.prod(shape) * dtype.itemsize)
        needed = f": an array of {_size(size)} ({' x '.join(map(str, shape))} {dtype}) did not fit"
    return f"Out of memory while {step}{needed}. Try {fix}."


def _size(size: float) -> str:
    """A number of bytes for people: '8.00 GiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} EiB"


def _shower(raised: list[str]) -> Any:
    """A ``warnings.showwarning`` that prints one line and keeps the message in ``raised``."""

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        raised.append(in_flags(str(message)))
        print(f"descend: warning: {in_flags(str(message))}", file=sys.stderr)

    return show
