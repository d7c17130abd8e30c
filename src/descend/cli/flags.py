"""Flag values and the flags every training command shares; the command that repeats them."""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Callable
from typing import Any

from ..data import IMPUTE_STRATEGIES
from ..learn.nn import ACTIVATIONS
from ..learn.optim import OPTIMIZERS
from ..models import CLASSIFIER_LOSSES, MODELS, REGRESSION_LOSSES, TASKS

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
POSITIVE = _flag_type(_number_above_zero, "a number > 0")
NON_NEGATIVE = _flag_type(
    lambda t: float(t) if 0 <= float(t) < math.inf else None, "a number >= 0, such as 0.01"
)
HIDDEN = _flag_type(_sizes, "layer sizes >= 1 separated by commas, such as 64,32")
TOL = _flag_type(
    lambda t: "none" if t.lower() == "none" else float(t), "a number (such as 1e-5), or 'none'"
)  # the estimator checks the number: one rule, in one place


def add_training_flags(
    parser: argparse.ArgumentParser, offer_lr: bool = True, several: bool = False
) -> None:
    """DATA, --target and every flag that chooses, preprocesses and trains a model.

    Read back with ``train.choose_model(..., args.model, args.task)`` and ``train.estimator_for``.
    ``offer_lr=False`` leaves --lr out of the help (a sweep refuses it, and says why);
    ``several`` takes several files, a folder or a pattern as DATA (a list).
    """
    if several:
        parser.add_argument(
            "data",
            metavar="DATA",
            nargs="+",
            help="a .csv or .parquet file; or several, a folder or a pattern such as "
            "'big/*.parquet', read in row blocks",
        )
    else:
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
        choices=TASKS,
        help="override the task inferred from the target",
    )
    what.add_argument("--hidden", type=HIDDEN, metavar="64,32", help="MLP layer sizes (default 64)")
    what.add_argument("--activation", choices=sorted(ACTIVATIONS), help="MLP activation (relu)")
    what.add_argument(
        "--loss",
        choices=(*REGRESSION_LOSSES, *CLASSIFIER_LOSSES),
        help="default: mse for regression; classifiers use the cross-entropy that fits them",
    )
    _descent_flags(
        parser.add_argument_group(
            "gradient descent", "Defaults depend on the model; train prints them before it starts."
        ),
        offer_lr,
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


def _descent_flags(how: Any, offer_lr: bool) -> None:
    """The flags of the gradient descent group: optimizer, rate, epochs, batches, stopping."""
    how.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="default: sgd (mlp: adam)")
    how.add_argument(
        "--lr",
        type=LR,
        metavar="F|auto",
        help="learning rate; auto (the default for linear models): from the curvature, or a "
        "range test"
        if offer_lr
        else argparse.SUPPRESS,
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
    how.add_argument(
        "--alpha",
        type=NON_NEGATIVE,
        metavar="F",
        help="L2 regularisation in scikit-learn's units (default 0): Ridge(alpha=F) for "
        "regression, LogisticRegression(C=1/F) for classes, MLPRegressor/MLPClassifier(alpha=F) "
        "for an mlp",
    )
    how.add_argument(
        "--tol",
        type=TOL,
        metavar="F|none",
        help="stop once the loss improves by less than F (relative) for 10 epochs in a row "
        "(default 1e-5); none: train all the epochs",
    )
    how.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop once the validation loss has not improved for 10 epochs and keep the best "
        "weights (needs --validation)",
    )


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
