"""``descend explain``: one step of gradient descent with every number."""

from __future__ import annotations

import argparse
from typing import Any

from ..data import read_table, select_columns
from ..errors import InputError
from ..models import TASKS, choose
from ..understand.explain import explain
from .flags import EPOCHS, NAMES, POSITIVE, ROWS_NOTE
from .output import Say


def add(commands: Any) -> None:
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
        choices=TASKS,
        help="default: inferred from the target (patients: regression; classification is "
        "INR > 2.5)",
    )
    parser.add_argument(
        "--lr", type=POSITIVE, default=0.1, metavar="F",
        help="learning rate (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rows", type=EPOCHS, default=3, metavar="N", help="rows in the example (default: 3)"
    )
    parser.add_argument("--no-standardize", action="store_true", help="use the numbers as they are")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one gradient-descent step with every number."""
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
        Say().results(str(step))
        return 0
    if not args.target:
        raise InputError("explain DATA needs --target COL, the column to predict.")
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    task = args.task or choose(df[target], name=target).task
    step = explain(
        df[features], df[target], task=task, lr=args.lr, rows=args.rows,
        standardize=not args.no_standardize, source=args.data,
    )  # fmt: skip
    Say().results(str(step))
    return 0
