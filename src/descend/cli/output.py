"""What a person sees: printing (human lines, results, one JSON object), progress bars,
aligned tables, and the library's words (``lr=0.1``) shown as flags (``--lr 0.1``)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import InputError
from ..learn.callbacks import Callback, Run
from ..learn.history import json_ready

FLAGS = {
    "lr": "--lr",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "validation": "--validation",
    "seed": "--seed",
    "random_state": "--seed",
    "optimizer": "--optimizer",
    "impute": "--impute",
    "recover": "--recover",
    "task": "--task",
    "model": "--model",
    "hidden": "--hidden",
    "activation": "--activation",
    "loss": "--loss",
    "features": "--features",
    "categorical": "--categorical",
    "checkpoint": "--checkpoint",
    "resume": "--resume",
    "alpha": "--alpha",
    "tol": "--tol",
}
"""The flag that sets each library parameter the command line offers."""

PHRASES = {
    "standardize=False": "--no-standardize",
    "standardize=True": "standardising (leave out --no-standardize)",
    "batch_size=None": "--batch-size full",
    "EarlyStopping(restore_best_weights=True)": "--early-stopping",
    "set impute to 'mean', 'median' or 'most_frequent'": (
        "set impute to 'mean', 'median' or 'most_frequent' (command line: --impute "
        "mean|median|most_frequent)"
    ),
    "with descend.save.": "with descend.save or `descend train --save`.",
    "that descend.save wrote": "that descend.save or --save wrote",
    "(descend.save writes one)": "(`descend train --save` writes one)",
}
"""The library's words for what the command line does with flags or commands of its own."""

_SETTING = re.compile(r"\b(" + "|".join(FLAGS) + r")=('[^']*'|[-+\w.]+)")
_PARAMETER = re.compile(r"The '(" + "|".join(FLAGS) + r")' parameter of [\w.]+")


def _flag(match: re.Match[str]) -> str:
    flag, value = FLAGS[match.group(1)], match.group(2).strip("'")
    if value.startswith("None"):  # tol=None (the pattern keeps a full stop after it)
        value = "none" + value[4:]
    return flag if value == "True" else f"{flag} {value}"


def in_flags(text: str) -> str:
    """The library's words in the command line's: ``lr=0.1`` -> ``--lr 0.1``,
    ``recover=True`` -> ``--recover``, ``The 'lr' parameter of fit`` -> ``--lr``.

    >>> in_flags("lower the learning rate to lr=0.05, or pass recover=True")
    'lower the learning rate to --lr 0.05, or pass --recover'
    """
    for words, flags in PHRASES.items():
        text = text.replace(words, flags)
    text = _PARAMETER.sub(lambda m: FLAGS[m.group(1)], text)
    return _SETTING.sub(_flag, text)


def diagnosis_in_flags(diagnosis: dict[str, Any] | None) -> dict[str, Any] | None:
    """A diagnosis as plain data (``History.diagnosis``) with its words in the command line's
    (its ``suggested`` settings stay as the estimators take them)."""
    if diagnosis is None:
        return None
    words: dict[str, Any] = {
        k: in_flags(diagnosis[k]) for k in ("explanation", "suggestion") if k in diagnosis
    }
    return {**diagnosis, **words}


PROGRESS_DELAY = 0.5
"""Seconds a run takes before its progress bar appears (on a terminal)."""


class Say:
    """Printing for one command: ``human`` lines, ``results`` (also with --quiet), or one JSON object."""

    def __init__(self, quiet: bool = False, as_json: bool = False) -> None:
        self.as_json = as_json
        self.quiet = quiet or as_json

    def human(self, text: str = "") -> None:
        """A line for a person watching (not with --quiet or --json)."""
        if not self.quiet:
            print(in_flags(text), flush=True)

    def results(self, text: str = "") -> None:
        """A line of results (not with --json)."""
        if not self.as_json:
            print(in_flags(text), flush=True)

    def json(self, data: dict[str, Any]) -> None:
        """The one JSON object (only with --json); NaN and infinity become null."""
        if self.as_json:
            print(json.dumps(json_ready(data), indent=2))


class ProgressBar(Callback):
    """A rich progress bar over the epochs, shown once a run has lasted ``delay`` seconds.

    Lines printed meanwhile (the epoch lines) appear above the bar, which
    disappears when the run ends.
    """

    def __init__(self, console: Any = None, delay: float = PROGRESS_DELAY) -> None:
        self.console = console
        self.delay = delay
        self.bar: Any = None

    def on_train_begin(self, run: Run) -> None:
        self.started = time.perf_counter()
        self.total = run.history.settings.get("epochs")
        self.rows: int | None = None
        if hasattr(run.data, "progress"):  # rows read in blocks: a bar over them too
            run.data.progress = self.read
            self.rows, self.done = run.data.n_rows, 0

    def on_epoch_begin(self, run: Run) -> None:
        self.done = 0

    def read(self, rows: int) -> None:
        """``rows`` more rows of this epoch's pass were read."""
        self.done += rows
        if self.bar is None and time.perf_counter() - self.started >= self.delay:
            self._start()
        if self.bar is not None:
            self.bar.update(self.rows_task, completed=min(self.done, self.rows or 0))

    def on_epoch_end(self, run: Run) -> None:
        if self.bar is None:
            if time.perf_counter() - self.started < self.delay:
                return
            self._start()
        loss = run.history.loss[-1]
        self.bar.update(self.task, completed=run.epoch + 1, loss=f"{loss:.4g}")

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.bar.add_task("epoch", total=self.total, loss="")
        if self.rows is not None:
            self.rows_task = self.bar.add_task("rows", total=self.rows, loss="")
        self.bar.start()

    def on_train_end(self, run: Run) -> None:
        self.close()

    def close(self) -> None:
        """Take the bar off the screen (also after an error)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def progress(say: Say) -> Iterator[tuple[Callback, ...]]:
    """A progress bar when a person watches a terminal and rich is installed; else none."""
    if say.quiet or not sys.stdout.isatty():
        yield ()
        return
    try:
        import rich  # noqa: F401
    except ImportError:
        yield ()
        return
    bar = ProgressBar()
    try:
        yield (bar,)
    finally:
        bar.close()


def table(rows: list[list[str]], indent: str = "  ") -> str:
    """Rows of cells as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append((indent + "   ".join(cells)).rstrip())
    return "\n".join(lines)


def number(value: float) -> str:
    return f"{value:#.4g}"


def shown(values: Sequence[Any], limit: int = 5, quote: bool = True) -> str:
    shown = ", ".join(repr(v) if quote else str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit:,} more" if len(values) > limit else "")


REPORT_BYTES = 1 << 30
"""The most memory that the class probabilities and the confusion matrix of a report take."""


def check_report_size(rows: int, classes: int) -> None:
    """Refuse to score ``rows`` rows of ``classes`` classes when their probabilities (rows x
    classes, a few copies) and confusion matrix (classes x classes) exceed REPORT_BYTES."""
    need = 8 * (3 * rows * classes + 2 * classes * classes)
    if need > REPORT_BYTES:
        raise InputError(
            f"The target has {classes:,} classes: scoring {rows:,} rows takes their class "
            f"probabilities and a {classes:,} x {classes:,} confusion matrix, about "
            f"{need / 1e9:.1f} GB, over the {REPORT_BYTES / 2**30:g} GiB the command line allows. "
            f"Group the classes into fewer ({rows / classes:.3g} rows a class here)."
        )


def plural(n: int, noun: str) -> str:
    """``_plural(1, 'row')`` -> '1 row'; ``_plural(3, 'row')`` -> '3 rows'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def score_lines(columns: dict[str, dict[str, Any]]) -> str:
    """Scalar metrics as a table, one column per set of rows."""
    names = [k for k, v in next(iter(columns.values())).items() if isinstance(v, float)]
    rows = [["", *columns]] if len(columns) > 1 else []
    rows += [[name, *(number(c[name]) for c in columns.values())] for name in names]
    return table(rows)


def confusion_lines(result: dict[str, Any]) -> str:
    labels = [str(label) for label in result["labels"]]
    rows = [["true \\ predicted", *labels]]
    rows += [
        [label, *map(str, counts)] for label, counts in zip(labels, result["confusion_matrix"])
    ]
    return table(rows)
