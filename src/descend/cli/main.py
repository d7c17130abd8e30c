"""The command line: ``descend demo | train | predict | evaluate | sweep | explain``.

Each command is a pair of functions: ``add_<command>`` adds its subparser and
sets ``run=run_<command>``; ``COMMANDS`` lists the ``add_`` functions, so a new
command is one new pair and one more entry in that list. A command that trains
reuses ``add_training_flags``, ``choose_model`` and ``estimator_for``; every
command prints through ``Say`` and writes files through ``Outputs``.

Bad input of any kind ends as one line on stderr, ``descend: error: <what is
wrong and how to fix it>``, exit status 2, no traceback, and no output file:
a command stages every file it writes as a temporary file beside its target
(``Outputs``) and renames them all into place only once everything succeeded.

>>> main(["train", "data.csv", "--target", "y", "--lr", "-1"])
2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple, NoReturn

from .._version import __version__
from ..data import (
    IMPUTE_STRATEGIES,
    DataWarning,
    LabelEncoder,
    check_class_labels,
    check_target,
    infer_task,
    read_table,
    select_columns,
    to_array,
)
from ..datasets import PATIENTS_NOISE_STD, PATIENTS_TRUE_BIAS, PATIENTS_TRUE_WEIGHTS, patients_path
from ..engine.backend import xp
from ..errors import InputError
from ..files import in_place, publish, write_text
from ..io import load, save
from ..learn.callbacks import Callback, Run
from ..learn.nn import ACTIVATIONS, Module
from ..learn.optim import OPTIMIZERS
from ..train import ConvergenceWarning
from ..understand import plot
from ..understand.diagnose import Diagnosis
from ..understand.metrics import classification_metrics, regression_metrics
from ..understand.report import report
from .playground import add_playground
from .report import add_report, check_page_path

EXIT_BAD_INPUT = 2
"""Exit status for bad input (argparse's own errors use it too)."""

MODELS = ("linear", "logistic", "softmax", "mlp")
REGRESSION_LOSSES = ("mse", "mae", "huber")
CLASSIFIER_LOSSES = ("bce_with_logits", "cross_entropy")
IMPLIED_TASK = {"linear": "regression", "logistic": "classification", "softmax": "classification"}
PROGRESS_DELAY = 0.5
"""Seconds a run takes before its progress bar appears (on a terminal)."""

DEMO: dict[str, Any] = {"optimizer": "sgd", "lr": 0.1, "epochs": 1000, "batch_size": None}
"""The demo's settings: the lesson's full-batch gradient descent; it converges in 47 epochs."""

ROWS_NOTE = (
    "Rows in messages are counted from 0, not counting the header: row 0 is line 2 of a CSV file."
)


# ----- flag values ------------------------------------------------------------------------
def _flag_type(check: Callable[[str], Any], rule: str) -> Callable[[str], Any]:
    """An argparse type: ``check(text)`` or an error saying ``rule`` and the text given."""

    def convert(text: str) -> Any:
        try:
            value = check(text)
        except (TypeError, ValueError):
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"must be {rule}; got {text!r}")
        return value

    convert.__name__ = rule  # argparse names the type in some messages
    return convert


def _number_above_zero(text: str) -> float | None:
    value = float(text)
    return value if 0 < value < math.inf else None


def _count(low: int) -> Callable[[str], int | None]:
    def check(text: str) -> int | None:
        value = int(text)
        return value if value >= low else None

    return check


def _names_list(text: str) -> list[str] | None:
    names = [name.strip() for name in text.split(",")]
    return names if all(names) else None


def _sizes(text: str) -> tuple[int, ...] | None:
    sizes = tuple(int(size) for size in text.split(","))
    return sizes if all(size >= 1 for size in sizes) else None


def _rates(text: str) -> list[float] | None:
    rates = [_number_above_zero(part) for part in text.split(",")]
    return [r for r in rates if r is not None] if all(r is not None for r in rates) else None


LRS = _flag_type(_rates, "learning rates > 0 separated by commas, such as 0.001,0.01,0.1")
LR = _flag_type(
    lambda t: "auto" if t == "auto" else _number_above_zero(t), "a number > 0, or 'auto'"
)
EPOCHS = _flag_type(_count(1), "a whole number >= 1")
COUNT = _flag_type(_count(0), "a whole number >= 0")
BATCH_SIZE = _flag_type(
    lambda t: "full" if t == "full" else _count(1)(t), "a whole number >= 1, or 'full'"
)
FRACTION = _flag_type(
    lambda t: float(t) if 0 < float(t) < 1 else None, "a fraction between 0 and 1, such as 0.2"
)
NAMES = _flag_type(_names_list, "column names separated by commas, such as age,weight")
HIDDEN = _flag_type(_sizes, "layer sizes >= 1 separated by commas, such as 64,32")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``descend: error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"descend: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_BAD_INPUT)


# ----- the commands ------------------------------------------------------------------------
def add_demo(commands: Any) -> None:
    """``descend demo [--out DIR]``."""
    parser = commands.add_parser(
        "demo",
        help="train a linear model on the lesson's patients and show how it learned",
        description="Train a linear model by gradient descent on the built-in patients "
        "(age, weight, creatinine -> INR), print the lesson's epoch lines, the stop reason and "
        "the learned weights beside the true ones, and write the loss curve and the model file.",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="descend-demo",
        help="folder for the model, the picture and a copy of the data (default: %(default)s)",
    )
    parser.set_defaults(run=run_demo)


def add_train(commands: Any) -> None:
    """``descend train DATA --target COL [...]``."""
    parser = commands.add_parser(
        "train",
        help="train a model on a CSV or Parquet table",
        description="Train a model on a table. Numeric columns are standardised and text "
        "columns one-hot encoded, with statistics from the training rows only; the model file "
        "keeps them, so predict applies the same transformation. With no --model the task is "
        "inferred from the target column and said out loud.",
        epilog=ROWS_NOTE,
    )
    add_training_flags(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--save", metavar="PATH", help="write the model file (e.g. model.descend)")
    out.add_argument("--plot", metavar="PATH", help="write the loss curve as a PNG picture")
    out.add_argument("--report", metavar="PATH", help="write the run as an HTML page (.html)")
    out.add_argument(
        "--history", metavar="PATH", help="write the per-epoch history (.json or .csv)"
    )
    out.add_argument(
        "--log-every", type=COUNT, default=10, metavar="N", help="an epoch line every N epochs"
    )
    out.add_argument("--quiet", action="store_true", help="print only the results")
    out.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    parser.set_defaults(run=run_train)


def add_training_flags(parser: argparse.ArgumentParser, offer_lr: bool = True) -> None:
    """DATA, --target and every flag that chooses, preprocesses and trains a model.

    Read back with ``choose_model(..., args.model, args.task)`` and ``estimator_for``.
    ``offer_lr=False`` leaves --lr out of the help (a sweep refuses it, and says why).
    """
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    parser.add_argument(
        "--features", type=NAMES, metavar="A,B,C", help="feature columns (default: all others)"
    )
    what = parser.add_argument_group("the model")
    what.add_argument(
        "--model",
        choices=MODELS,
        help="default: linear for numbers, logistic or softmax for classes",
    )
    what.add_argument(
        "--task",
        choices=("regression", "classification"),
        help="override the task inferred from the target",
    )
    what.add_argument("--hidden", type=HIDDEN, metavar="64,32", help="MLP layer sizes (default 64)")
    what.add_argument("--activation", choices=sorted(ACTIVATIONS), help="MLP activation (relu)")
    what.add_argument(
        "--loss",
        choices=(*REGRESSION_LOSSES, *CLASSIFIER_LOSSES),
        help="default: mse for regression; classifiers use the cross-entropy that fits them",
    )
    how = parser.add_argument_group(
        "gradient descent", "Defaults depend on the model; train prints them before it starts."
    )
    how.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="default: sgd (mlp: adam)")
    how.add_argument(
        "--lr",
        type=LR,
        metavar="F|auto",
        help="learning rate; auto: a short sweep picks it" if offer_lr else argparse.SUPPRESS,
    )
    how.add_argument("--epochs", type=EPOCHS, metavar="N", help="at most N epochs")
    how.add_argument(
        "--batch-size",
        type=BATCH_SIZE,
        metavar="N|full",
        help="rows per step; full = full-batch gradient descent, as in the lesson",
    )
    how.add_argument(
        "--validation", type=FRACTION, metavar="F", help="fraction of rows held out, e.g. 0.2"
    )
    how.add_argument("--seed", type=COUNT, default=0, metavar="N", help="random seed (default 0)")
    how.add_argument(
        "--recover",
        action="store_true",
        help="when the loss diverges, cut the learning rate and go on instead of stopping",
    )
    table = parser.add_argument_group("preprocessing")
    table.add_argument(
        "--impute",
        choices=[s for s in IMPUTE_STRATEGIES if s],
        help="fill missing values (default: a missing value is an error)",
    )
    table.add_argument(
        "--categorical", type=NAMES, metavar="A,B", help="one-hot encode these numeric columns"
    )
    table.add_argument(
        "--no-standardize", action="store_true", help="feed numeric columns in as they are"
    )


def add_predict(commands: Any) -> None:
    """``descend predict MODEL DATA [--out PATH]``."""
    parser = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description="Write a CSV with a column 'prediction' (the value, or the class label) and, "
        "for classifiers, one 'proba_<label>' column per class; rows in input order.",
        epilog=ROWS_NOTE,
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by train --save")
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file with the features")
    parser.add_argument("--out", metavar="PATH", help="write the CSV here (default: stdout)")
    parser.set_defaults(run=run_predict)


def add_evaluate(commands: Any) -> None:
    """``descend evaluate MODEL DATA --target COL [--json]``."""
    parser = commands.add_parser(
        "evaluate",
        help="measure a saved model on a table with the true values",
        description="Regression: mse, rmse, mae, r2. Classification: accuracy, log_loss, "
        "f1_macro and the confusion matrix.",
        epilog=ROWS_NOTE,
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by train --save")
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument("--target", required=True, metavar="COL", help="the column of true values")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object and nothing else"
    )
    parser.set_defaults(run=run_evaluate)


def add_sweep(commands: Any) -> None:
    """``descend sweep DATA --target COL [--lrs A,B,...] [--epochs N] [--plot PATH]``."""
    parser = commands.add_parser(
        "sweep",
        help="train once per learning rate, compare the runs, recommend one",
        description="Train the same model (same data, preprocessing and starting weights) once "
        "per learning rate, diagnose each run and recommend the largest learning rate that "
        "neither zig-zagged nor diverged, saying why. Every training flag of 'train' works "
        "here, except --lr: the sweep tries --lrs.",
        epilog=ROWS_NOTE,
    )
    add_training_flags(parser, offer_lr=False)
    parser.add_argument(
        "--lrs",
        type=LRS,
        metavar="A,B,...",
        help="the learning rates (default: 1e-4,3e-4,...,3,10, two per decade)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--plot", metavar="PATH", help="write the loss curves of all runs as a PNG")
    out.add_argument("--quiet", action="store_true", help="print only the table and the choice")
    out.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    parser.set_defaults(run=run_sweep)


def add_explain(commands: Any) -> None:
    """``descend explain [DATA --target COL] [--task T] [--lr F] [--rows N]``."""
    parser = commands.add_parser(
        "explain",
        help="one step of gradient descent on a tiny example, every number shown",
        description="Make one gradient-descent step of a linear model on the first rows of a "
        "table (default: three of the lesson's patients) and print it in the lesson's four "
        "steps: the forward pass, the loss (MSE, or binary cross-entropy for classification), "
        "the gradient of every weight from backward() beside finite differences and the "
        "lesson's formula, and the update with the loss after it.",
        epilog=ROWS_NOTE,
    )
    parser.add_argument(
        "data", metavar="DATA", nargs="?", help="a .csv or .parquet file (default: the patients)"
    )
    parser.add_argument("--target", metavar="COL", help="the column to predict (with DATA)")
    parser.add_argument(
        "--features", type=NAMES, metavar="A,B,C", help="feature columns (default: all others)"
    )
    parser.add_argument(
        "--task",
        choices=("regression", "classification"),
        help="default: inferred from the target (patients: regression; classification is "
        "INR > 2.5)",
    )
    parser.add_argument(
        "--lr", type=_flag_type(_number_above_zero, "a number > 0"), default=0.1, metavar="F",
        help="learning rate (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rows", type=EPOCHS, default=3, metavar="N", help="rows in the example (default: 3)"
    )
    parser.add_argument("--no-standardize", action="store_true", help="use the numbers as they are")
    parser.set_defaults(run=run_explain)


COMMANDS: list[Callable[[Any], None]] = [
    add_demo,
    add_train,
    add_predict,
    add_evaluate,
    add_sweep,
    add_explain,
    add_report,
    add_playground,
]
"""Each adds one subcommand to the parser; add a function here to add a command."""


def build_parser() -> argparse.ArgumentParser:
    """The ``descend`` argument parser with every command in COMMANDS."""
    parser = _Parser(
        prog="descend",
        description="Make a model learn by gradient descent, and see every step of it.",
    )
    parser.add_argument("--version", action="version", version=f"descend {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
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
    RAISED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)  # whatever filters the caller set
        warnings.simplefilter("ignore", ConvergenceWarning)  # the "Stopped:" line says it
        warnings.showwarning = _show_warning
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
    print(f"descend: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


RAISED: list[str] = []
"""The warnings of the current command, for its JSON output."""


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    RAISED.append(str(message))
    print(f"descend: warning: {message}", file=sys.stderr)


# ----- writing files: all or nothing ---------------------------------------------------------
class Outputs:
    """The files a command writes, all or none.

    ``stage(path)`` checks that ``path`` can be written and returns a temporary
    file beside it to write to; leaving the ``with`` block normally renames every
    temporary file to its path, and an error deletes them all. A device or FIFO
    (``/dev/stdout``) cannot be replaced: ``stage`` returns it to be written directly.
    """

    def __init__(self, inputs: Sequence[str] = ()) -> None:
        self.inputs = {os.path.realpath(path) for path in inputs}
        self.staged: dict[str, str] = {}  # real path -> temporary file
        self.direct: set[str] = set()  # devices and FIFOs, written in place

    def stage(self, path: str, flag: str) -> str:
        """A temporary file to write ``path``'s content to (``flag`` names it in errors)."""
        real = os.path.realpath(path)
        if real in self.inputs:
            raise InputError(f"{flag} {path!r} would overwrite an input file; choose another name.")
        if real in self.staged or real in self.direct:
            raise InputError(f"{flag} {path!r} is already another output; give each its own file.")
        if os.path.isdir(path):
            raise InputError(f"{flag} {path!r} is a folder; give a file name inside it.")
        if in_place(path):
            self.direct.add(real)
            return path
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise InputError(
                f"Cannot write {flag} {path!r}: the folder {folder!r} does not exist. Create it "
                "or choose another path."
            )
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".descend-", suffix=".tmp")
        except OSError as error:
            raise InputError(
                f"Cannot write {flag} {path!r}: {error.strerror} in {folder!r}. Choose a folder "
                "you can write to."
            ) from None
        os.close(handle)
        self.staged[real] = temporary
        return temporary

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        staged, self.staged = self.staged, {}
        if kind is None:
            for real, temporary in staged.items():
                publish(temporary, real)
            return
        for temporary in staged.values():
            with suppress(FileNotFoundError):
                os.unlink(temporary)


def _check_suffix(path: str | None, flag: str, what: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file name whose extension promises another format than ``flag`` writes.

    A device or FIFO (``/dev/stdout``) has no extension to check.
    """
    if path and not in_place(path) and not path.lower().endswith(suffixes):
        raise InputError(
            f"{flag} writes {what}; give a file name ending in {' or '.join(suffixes)}, "
            f"not {path!r}."
        )


# ----- what a person sees ---------------------------------------------------------------------
class Say:
    """Printing for one command: ``human`` lines, ``results`` (also with --quiet), or one JSON object."""

    def __init__(self, quiet: bool = False, as_json: bool = False) -> None:
        self.as_json = as_json
        self.quiet = quiet or as_json

    def human(self, text: str = "") -> None:
        """A line for a person watching (not with --quiet or --json)."""
        if not self.quiet:
            print(text)

    def results(self, text: str = "") -> None:
        """A line of results (not with --json)."""
        if not self.as_json:
            print(text)

    def json(self, data: dict[str, Any]) -> None:
        """The one JSON object (only with --json); NaN and infinity become null."""
        if self.as_json:
            print(json.dumps(_finite(data), indent=2))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # a NumPy scalar
        return _finite(value.item())
    return value


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
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.bar.add_task("training", total=self.total, loss="")
        self.bar.start()

    def on_train_end(self, run: Run) -> None:
        self.close()

    def close(self) -> None:
        """Take the bar off the screen (also after an error)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def _progress(say: Say) -> Iterator[tuple[Callback, ...]]:
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


def _table(rows: list[list[str]], indent: str = "  ") -> str:
    """Rows of cells as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append((indent + "   ".join(cells)).rstrip())
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:#.4g}"


def _shown(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# ----- models and scores -------------------------------------------------------------------
class Choice(NamedTuple):
    """What ``train`` fits: the task, the kind of model, why, and the losses it can learn with."""

    task: str  # 'regression' or 'classification'
    kind: str  # one of MODELS
    sentence: str
    losses: tuple[str, ...]


def choose_model(y: Any, target: str, model: str | None, task: str | None) -> Choice:
    """The task and model for a target column and the flags given, and a sentence saying why.

    The task is 'regression' or 'classification': from --task, implied by
    --model, or inferred from the target (numbers with many values: regression;
    two values, text, or a few whole numbers: classes).
    """
    implied = IMPLIED_TASK.get(model or "")
    if implied and task and task != implied:
        raise InputError(
            f"--model {model} is a {implied} model but --task says {task}; give one of them."
        )
    flags = [f"--{name}" for name, value in (("model", model), ("task", task)) if value]
    guessed = not (task or implied)
    task = task or implied
    if task == "regression":  # a constant is a fine regression target, if not a useful one
        check_target(y, name=target)
    else:  # also refuses a missing value or a single class
        inferred = infer_task(y, name=target)
        task = task or ("regression" if inferred == "regression" else "classification")
    numbers = to_numbers(y)
    if task == "regression":
        if numbers is None:
            raise InputError(
                f"Target {target!r} holds text, not numbers, so it cannot be a regression target; "
                "leave out --task regression and --model linear to treat its values as classes."
            )
        kind = model or "linear"
        distinct = len(set(numbers.tolist()))
        said = f"Target {target!r} is numeric with {_plural(distinct, 'distinct value')}"
        if distinct == 1:
            said += " (a constant: the model can only learn to predict it)"
        phrase = "regression"
        losses: tuple[str, ...] = REGRESSION_LOSSES
    else:
        check_class_labels(
            y, target, "predict them with a regression model: --model linear (or mlp)."
        )
        classes = LabelEncoder().fit(y).classes_
        kind = model or ("logistic" if len(classes) == 2 else "softmax")
        if kind == "logistic" and len(classes) > 2:
            raise InputError(
                f"--model logistic separates two classes but target {target!r} has "
                f"{len(classes)}; use --model softmax, or leave --model out."
            )
        said = f"Target {target!r} has {len(classes)} classes ({_shown(classes)})"
        phrase = ("binary" if len(classes) == 2 else "multiclass") + " classification"
        one_output = len(classes) == 2 and kind != "softmax"  # as Classifier builds it
        losses = CLASSIFIER_LOSSES[:1] if one_output else CLASSIFIER_LOSSES[1:]
    source = f", as {' and '.join(flags)} asked" if flags else ""
    sentence = f"{said}: {phrase} ({kind} model{source})."
    if guessed and phrase == "multiclass classification" and numbers is not None:
        sentence += " Add --task regression to predict it as a number instead."
    return Choice(task, kind, sentence, losses)


def _plural(n: int, noun: str) -> str:
    """``_plural(1, 'row')`` -> '1 row'; ``_plural(3, 'row')`` -> '3 rows'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def to_numbers(y: Any) -> Any:
    """The target as float64, or None when it holds text."""
    try:
        return to_array(y, name="target", ndim=1)
    except InputError:
        return None


def scores(estimator: Any, X: Any, y: Any, target: str) -> dict[str, Any]:
    """The metrics of a fitted estimator on (X, y): regression or classification ones."""
    if hasattr(estimator, "predict_proba"):
        truth = estimator.labels_.transform(y)
        result = classification_metrics(truth, estimator.predict_proba(X))
        result["labels"] = list(estimator.labels_.classes_)
        return result
    fix = "this model is a regressor: it predicts numbers. Give the column it was trained on."
    truth = to_array(y, name=f"Target {target!r}", ndim=1, fix=fix)
    return regression_metrics(truth, estimator.predict(X))


def _score_lines(columns: dict[str, dict[str, Any]]) -> str:
    """Scalar metrics as a table, one column per set of rows."""
    names = [k for k, v in next(iter(columns.values())).items() if isinstance(v, float)]
    rows = [["", *columns]] if len(columns) > 1 else []
    rows += [[name, *(_number(c[name]) for c in columns.values())] for name in names]
    return _table(rows)


def _confusion_lines(result: dict[str, Any]) -> str:
    labels = [str(label) for label in result["labels"]]
    rows = [["true \\ predicted", *labels]]
    rows += [
        [label, *map(str, counts)] for label, counts in zip(labels, result["confusion_matrix"])
    ]
    return _table(rows)


def load_estimator(path: str) -> Any:
    """A model file written by ``descend train --save`` (or ``descend.save`` of an estimator)."""
    estimator = load(path)
    if isinstance(estimator, Module):
        raise InputError(
            f"{path!r} holds a bare network without preprocessing or labels; predict and "
            "evaluate need a model file written by 'descend train --save' or descend.save of a "
            "Regressor or Classifier."
        )
    return estimator


def _features_of(estimator: Any, df: Any, data: str, model: str) -> Any:
    """The columns of ``df`` the model reads, or an error naming those it lacks."""
    expected = list(estimator.preprocessor_.input_features_)
    missing = [name for name in expected if name not in df.columns]
    if missing:
        raise InputError(
            f"{data!r} lacks the column(s) {_shown(missing, 10)} that {model!r} was trained on "
            f"(features: {', '.join(expected)}); use a table with those columns, or the model "
            "trained on this kind of table."
        )
    return df[expected]


# ----- demo ---------------------------------------------------------------------------------
def run_demo(args: argparse.Namespace) -> int:
    """Train the lesson's linear model on the patients and show what it learned."""
    from ..estimators import Regressor

    folder = args.out
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise InputError(f"--out {folder!r} is a file, not a folder; give a folder name.")
    df = read_table(patients_path())
    features, target = select_columns(df, "inr")
    created = not os.path.exists(folder)
    os.makedirs(folder, exist_ok=True)
    say = Say()
    truth = " + ".join(f"{w:g}·{name}" for name, w in PATIENTS_TRUE_WEIGHTS.items())
    say.human(
        f"The lesson's patients: {len(df)} made-up people, {', '.join(features)} -> INR,\n"
        f"generated from inr = {PATIENTS_TRUE_BIAS:g} + {truth} + noise "
        f"(std {PATIENTS_NOISE_STD:g})."
    )
    say.human(
        f"A linear model learns by full-batch gradient descent ({DEMO['optimizer']}, lr "
        f"{DEMO['lr']}) on standardised features:\n"
    )
    try:
        with Outputs([patients_path()]) as outputs, _progress(say) as bars:
            paths = {
                "model": os.path.join(folder, "model.descend"),
                "loss curve": os.path.join(folder, "loss.png"),
                "data": os.path.join(folder, "patients.csv"),
                "report": os.path.join(folder, "report.html"),
            }
            staged = {what: outputs.stage(path, "--out") for what, path in paths.items()}
            model = Regressor(model="linear", **DEMO, verbose=True, callbacks=bars)
            model.fit(df[features], df[target])
            save(model, staged["model"])
            plot.loss_curve(model.history_, staged["loss curve"])
            report(model, staged["report"], df[features], df[target], data_name="the patients")
            with open(patients_path(), encoding="utf-8") as f:
                write_text(staged["data"], f.read())
    except BaseException:
        if created:
            with suppress(OSError):
                os.rmdir(folder)
        raise
    say.human()
    say.human(plot.text_chart(model.history_.loss))
    say.human()
    say.human(_weights_report(model, df[features].to_numpy(), df[target].to_numpy()))
    say.human()
    for what, path in paths.items():
        say.human(f"Wrote the {what}: {path}")
    say.human("\nNext, on the same data:")
    say.human(f"  descend train {paths['data']} --target inr --save model.descend")
    say.human(f"  descend predict {paths['model']} {paths['data']}")
    say.human(f"\nOpen the report in a browser: {paths['report']}")
    return 0


def original_units(model: Any) -> tuple[list[float], float]:
    """A linear regressor's weights and bias for the raw (unstandardised) numeric features.

    From ``y = sum(w_std * (x - mean) / scale) + b_std``: ``w = w_std / scale``
    and ``b = b_std - sum(w_std * mean / scale)``.
    """
    pre = model.preprocessor_
    names = pre.input_features_
    w_std = model.module_.weight.data[:, 0].tolist()
    b_std = float(model.module_.bias.data[0])
    scales = [pre.scales_[n] for n in names]
    means = [pre.means_[n] for n in names]
    weights = [w / s for w, s in zip(w_std, scales)]
    bias = b_std - sum(w * m / s for w, m, s in zip(w_std, means, scales))
    return weights, bias


def _weights_report(model: Any, X: Any, y: Any) -> str:
    """The learned weights beside the least-squares ones and the truth, in original units."""
    weights, bias = original_units(model)
    exact = xp.linalg.lstsq(xp.c_[X, xp.ones(len(X))], y, rcond=None)[0]
    true = [*PATIENTS_TRUE_WEIGHTS.values(), PATIENTS_TRUE_BIAS]
    names = [*model.preprocessor_.input_features_, "bias"]
    learned = [*weights, bias]
    rows = [["", "learned", "least squares", "true"]]
    rows += [
        [name, _number(a), _number(b), f"{c:g}"]
        for name, a, b, c in zip(names, learned, exact, true)
    ]
    gap = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(learned, exact))
    if gap < 1e-3:
        verdict = (
            "Gradient descent found the least-squares weights; they differ from the true ones\n"
            f"only by the noise in {len(y)} patients."
        )
    else:
        verdict = (
            f"The learned weights are still up to {gap:.1%} from the least-squares ones: the run "
            "stopped before the minimum."
        )
    return "The learned weights, in the data's units:\n" + _table(rows) + "\n" + verdict


# ----- train --------------------------------------------------------------------------------
def run_train(args: argparse.Namespace) -> int:
    """Train a model on a table; report, and write what the flags ask for."""
    say = Say(args.quiet, args.json)
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    choice = choose_model(df[target], target, args.model, args.task)
    task, kind = choice.task, choice.kind
    _check_suffix(args.plot, "--plot", "a PNG picture", (".png",))
    _check_suffix(args.history, "--history", "the per-epoch history", (".json", ".csv"))
    if args.report:
        check_page_path(args.report, "--report")
    estimator = estimator_for(args, choice, verbose=not say.quiet, log_every=args.log_every)

    training = estimator.training_rows(len(df))
    say.human(
        f"Read {args.data}: {_plural(len(df), 'row')}; {_plural(len(features), 'feature')}: "
        f"{', '.join(features)}."
    )
    say.human(choice.sentence)
    say.human(_settings_line(estimator, kind, len(df), len(training)) + "\n")
    written = {}
    with Outputs([args.data]) as outputs, _progress(say) as bars:
        staged = {
            what: outputs.stage(path, f"--{what}")
            for what, path in (
                ("save", args.save),
                ("plot", args.plot),
                ("history", args.history),
                ("report", args.report),
            )
            if path
        }
        estimator.set_params(callbacks=bars)
        estimator.fit(df[features], df[target])
        history = estimator.history_
        held_out = sorted(set(range(len(df))) - set(training.tolist()))
        metrics = {}
        for name, positions in (("training", training), ("validation", held_out)):
            if len(positions):
                rows = df.iloc[positions]
                metrics[name] = scores(estimator, rows[features], rows[target], target)
        if "save" in staged:
            save(estimator, staged["save"])
            written["model"] = args.save
        if "plot" in staged:
            plot.loss_curve(history, staged["plot"])
            written["plot"] = args.plot
        if "history" in staged:
            to_file = history.to_csv if args.history.lower().endswith(".csv") else history.to_json
            to_file(staged["history"])
            written["history"] = args.history
        if "report" in staged:
            report(estimator, staged["report"], df[features], df[target], data_name=args.data)
            written["report"] = args.report
    if say.quiet:  # without the epoch lines, which end with them
        say.results(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
        say.results(str(Diagnosis.from_dict(history.diagnosis or {})))
    if not args.plot:
        say.human("\n" + plot.text_chart(history.loss))
    say.human()
    say.results(_score_lines(metrics))
    for what, path in written.items():
        say.results(f"Wrote the {'loss curve' if what == 'plot' else what}: {path}")
    if "model" not in written:
        say.human("(Add --save model.descend to keep the model.)")
    settings = estimator.training_settings(kind)
    say.json(
        {
            "command": "train",
            "data": args.data,
            "rows": len(df),
            "training_rows": len(training),
            "validation_rows": len(held_out),
            "target": target,
            "features": features,
            "task": task,
            "model": kind,
            "classes": metrics["training"].get("labels"),
            "loss": estimator.loss_,
            "optimizer": settings["optimizer"],
            "lr": history.settings.get("lr"),
            "batch_size": settings["batch_size"],
            "max_epochs": settings["epochs"],
            "epochs": history.epochs,
            "stop_reason": history.stop_reason,
            "stop_message": history.stop_message,
            "final_loss": history.loss[-1] if history.loss else None,
            "final_val_loss": history.val_loss[-1] if history.val_loss else None,
            "best_epoch": history.best_epoch,
            "diagnosis": history.diagnosis,
            "metrics": metrics,
            "files": written,
            "warnings": list(RAISED),
        }
    )
    return 0


def estimator_for(
    args: argparse.Namespace, choice: Choice, verbose: bool, log_every: int = 10
) -> Any:
    """The Regressor or Classifier that the training flags and the chosen model ask for;
    ``verbose`` prints an epoch line every ``log_every`` epochs."""
    from ..estimators import Classifier, Regressor

    _check_model_flags(args, choice)
    return (Regressor if choice.task == "regression" else Classifier)(
        model=choice.kind,
        hidden=args.hidden or (64,),
        activation=args.activation or "relu",
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        epochs=args.epochs,
        batch_size={None: "auto", "full": None}.get(args.batch_size, args.batch_size),
        validation=args.validation,
        standardize=not args.no_standardize,
        impute=args.impute,
        categorical=tuple(args.categorical or ()),
        recover=args.recover,
        seed=args.seed,
        verbose=verbose,
        log_every=log_every,
    )


def _check_model_flags(args: argparse.Namespace, choice: Choice) -> None:
    """Refuse flags that the chosen model would ignore or could not learn with."""
    if choice.kind != "mlp":
        for flag, value in (("hidden", args.hidden), ("activation", args.activation)):
            if value is not None:
                raise InputError(
                    f"--{flag} shapes an MLP but the model is {choice.kind}; add --model mlp or "
                    f"leave --{flag} out."
                )
    if args.loss is not None and args.loss not in choice.losses:
        raise InputError(
            f"--loss {args.loss} does not fit this {choice.kind} {choice.task} model; use "
            f"{' or '.join(choice.losses)}, or leave --loss out."
        )


def _settings_line(estimator: Any, kind: str, rows: int, training: int) -> str:
    settings = estimator.training_settings(kind)
    batch = settings["batch_size"]
    steps = "full batch" if batch is None else f"batches of {batch}"
    model = (
        f"an mlp model (hidden {','.join(map(str, estimator.hidden))}, {estimator.activation})"
        if kind == "mlp"
        else f"a {kind} model"
    )
    line = (
        f"Training {model} with {settings['optimizer']}, lr {settings['lr']}, {steps}, "
        f"at most {settings['epochs']} epochs"
    )
    if training < rows:
        line += f"; {rows - training} of {_plural(rows, 'row')} held out for validation"
    return line + "."


# ----- predict and evaluate ----------------------------------------------------------------
def run_predict(args: argparse.Namespace) -> int:
    """Predict with a saved model: a CSV to --out or stdout."""
    _check_suffix(args.out, "--out", "the predictions as CSV", (".csv",))
    estimator = load_estimator(args.model)
    df = read_table(args.data)
    X = _features_of(estimator, df, args.data, args.model)
    text = predictions_csv(estimator, X)
    if not args.out:
        sys.stdout.write(text)
        return 0
    with Outputs([args.data, args.model]) as outputs:
        write_text(outputs.stage(args.out, "--out"), text)
    note = sys.stderr if in_place(args.out) else sys.stdout  # --out /dev/stdout: the CSV alone
    print(f"Wrote {_plural(len(df), 'prediction')} to {args.out}.", file=note)
    return 0


def predictions_csv(estimator: Any, X: Any) -> str:
    """Column 'prediction' and, for a classifier, 'proba_<label>' per class; floats exact (repr)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        classes = estimator.labels_.classes_
        labels = estimator.labels_.inverse_transform(proba.argmax(axis=1))
        writer.writerow(["prediction", *(f"proba_{c}" for c in classes)])
        for label, row in zip(labels.tolist(), proba.tolist()):
            writer.writerow([label, *map(repr, row)])
    else:
        writer.writerow(["prediction"])
        writer.writerows([repr(value)] for value in estimator.predict(X).tolist())
    return buffer.getvalue()


def run_evaluate(args: argparse.Namespace) -> int:
    """Score a saved model on a table with the true values."""
    say = Say(as_json=args.json)
    estimator = load_estimator(args.model)
    df = read_table(args.data)
    X = _features_of(estimator, df, args.data, args.model)
    features, target = select_columns(df, args.target, list(X.columns))
    result = scores(estimator, X, df[target], target)
    task = "classification" if "labels" in result else "regression"
    say.results(
        f"{args.model} on {args.data} ({_plural(len(df), 'row')}, target {target!r}, {task}):"
    )
    say.results(_score_lines({"": result}))
    if "labels" in result:
        say.results("\nConfusion matrix (rows: true class, columns: predicted class):")
        say.results(_confusion_lines(result))
    say.json(
        {
            "command": "evaluate",
            "model": args.model,
            "data": args.data,
            "rows": len(df),
            "target": target,
            "task": task,
            **result,
        }
    )
    return 0


# ----- sweep --------------------------------------------------------------------------------
SWEEP_EPOCHS = 100
"""Epochs per run of ``descend sweep`` when --epochs is not given."""


def train_command(args: argparse.Namespace, lr: float) -> str:
    """The ``descend train`` command with every training flag in ``args`` and ``--lr lr``."""
    flags = argparse.ArgumentParser(add_help=False)
    add_training_flags(flags)
    words = ["descend", "train", args.data]
    for action in flags._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest == "lr" or value in (None, action.default):
            continue
        words.append(action.option_strings[0])
        if action.nargs != 0:  # a flag with a value, not a switch like --no-standardize
            words.append(
                ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            )
    return shlex.join([*words, "--lr", f"{lr:g}"])


def run_sweep(args: argparse.Namespace) -> int:
    """Train once per learning rate; print the table and the recommendation."""
    from ..understand.sweep import DEFAULT_LRS, run_line, sweep_result

    if args.lr is not None:
        raise InputError(
            "--lr sets one learning rate but a sweep tries several: give them with --lrs, "
            "such as --lrs 0.001,0.01,0.1."
        )
    _check_suffix(args.plot, "--plot", "a PNG picture", (".png",))
    say = Say(args.quiet, args.json)
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    choice = choose_model(df[target], target, args.model, args.task)
    rates = sorted(set(args.lrs or DEFAULT_LRS))
    epochs = args.epochs or SWEEP_EPOCHS
    estimator = estimator_for(args, choice, verbose=False)
    estimator.set_params(epochs=epochs)
    say.human(
        f"Read {args.data}: {_plural(len(df), 'row')}; {_plural(len(features), 'feature')}: "
        f"{', '.join(features)}."
    )
    say.human(choice.sentence)
    settings = estimator.training_settings(choice.kind)
    steps = (
        "full batch" if settings["batch_size"] is None else f"batches of {settings['batch_size']}"
    )
    say.human(
        f"Training a {choice.kind} model with {settings['optimizer']}, {steps}, at most {epochs} "
        f"epochs, once for each of {len(rates)} learning rates:\n"
    )
    histories = []
    with Outputs([args.data]) as outputs:
        staged = outputs.stage(args.plot, "--plot") if args.plot else None
        for lr in rates:
            estimator.set_params(lr=lr).fit(df[features], df[target])
            histories.append(estimator.history_)
            say.human("  " + run_line(lr, estimator.history_))
        result = sweep_result(rates, histories)
        if staged:
            plot.sweep_curves(result, staged)
    say.human()
    say.results(result.table())
    say.results(f"\nRecommended: lr={result.recommended_lr:g}. {result.reason}")
    if args.plot:
        say.results(f"Wrote the loss curves: {args.plot}")
    say.human(f"\nNext: {train_command(args, result.recommended_lr)}")
    say.json(
        {
            "command": "sweep",
            "data": args.data,
            "rows": len(df),
            "target": target,
            "features": features,
            "task": choice.task,
            "model": choice.kind,
            "optimizer": settings["optimizer"],
            "batch_size": settings["batch_size"],
            "max_epochs": epochs,
            "runs": result.rows(),
            "recommended_lr": result.recommended_lr,
            "reason": result.reason,
            "files": {"plot": args.plot} if args.plot else {},
            "warnings": list(RAISED),
        }
    )
    return 0


# ----- explain ------------------------------------------------------------------------------
def run_explain(args: argparse.Namespace) -> int:
    """Print one gradient-descent step with every number."""
    from ..understand.explain import explain

    if args.data is None:
        if args.target or args.features:
            raise InputError(
                "--target and --features choose columns of DATA; give the table too, as in "
                "'descend explain data.csv --target y'."
            )
        step = explain(
            task=args.task or "regression", lr=args.lr, rows=args.rows,
            standardize=not args.no_standardize,
        )  # fmt: skip
        print(step)
        return 0
    if not args.target:
        raise InputError("explain DATA needs --target COL, the column to predict.")
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    task = args.task or choose_model(df[target], target, None, None).task
    step = explain(
        df[features], df[target], task=task, lr=args.lr, rows=args.rows,
        standardize=not args.no_standardize, source=args.data,
    )  # fmt: skip
    print(step)
    return 0
