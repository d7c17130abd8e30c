"""``descend report MODEL -o run.html [--data DATA --target COL]``: a run as an HTML page."""

from __future__ import annotations

import argparse
from typing import Any

from ..data import read_table, select_columns
from ..errors import InputError
from ..files import Outputs, check_suffix
from ..io import load
from ..understand.report import report


def add(commands: Any) -> None:
    """``descend report MODEL -o PATH [--data DATA --target COL] [--feature NAME]``."""
    parser = commands.add_parser(
        "report",
        help="write a trained model's run as one HTML page that opens offline",
        description="Write the run stored in a model file (its History and diagnosis) as one "
        "self-contained HTML page: the loss curve, the diagnosis, the optimisation gap. With "
        "the data it was trained on (--data and --target) the page adds the curvature, the "
        "descent path of one feature on its loss surface (a slider picks the learning rate) "
        "and one step by hand.",
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by train --save")
    parser.add_argument("-o", "--out", required=True, metavar="PATH", help="the page (.html)")
    parser.add_argument("--data", metavar="DATA", help="the table the model was trained on")
    parser.add_argument("--target", metavar="COL", help="its target column (with --data)")
    parser.add_argument(
        "--feature", metavar="NAME", help="the feature of the descent path (default: the one "
        "most correlated with the target)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the model file (and the data, if given) and write the page."""
    check_suffix(args.out, "-o", "an HTML page", (".html", ".htm"))
    if (args.data is None) != (args.target is None):
        raise InputError(
            "--data and --target go together: give both (the table the model was trained on "
            "and its target column), or neither."
        )
    if args.feature and not args.data:
        raise InputError(
            "--feature picks a column of --data for the descent path; give --data too."
        )
    model = load(args.model)
    X = y = None
    if args.data:
        df = read_table(args.data)
        expected = list(getattr(getattr(model, "preprocessor_", None), "input_features_", []))
        features, target = select_columns(df, args.target, expected or None)
        X, y = df[features], df[target]
    with Outputs([args.model, *([args.data] if args.data else [])]) as outputs:
        staged = outputs.stage(args.out, "-o")
        report(
            model, staged, X, y, data_name=args.data, feature=args.feature,
            give_data="X and y (or --data and --target)",
        )  # fmt: skip
    print(f"Wrote the report: {args.out}")
    return 0
