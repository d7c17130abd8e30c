"""``descend report MODEL -o run.html [--data DATA --target COL]``: a run as an HTML page."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import InputError


def add_report(commands: Any) -> None:
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
    parser.set_defaults(run=run_report)


def check_page_path(path: str, flag: str, inputs: tuple[str, ...] = ()) -> None:
    """Refuse a page name that is not .html, or that would overwrite an input file."""
    if not path.lower().endswith((".html", ".htm")):
        raise InputError(
            f"{flag} writes an HTML page; give a file name ending in .html, not {path!r}."
        )
    if any(os.path.realpath(path) == os.path.realpath(i) for i in inputs if i):
        raise InputError(f"{flag} {path!r} would overwrite an input file; choose another name.")


def run_report(args: argparse.Namespace) -> int:
    """Read the model file (and the data, if given) and write the page."""
    from ..data import read_table, select_columns
    from ..io import load
    from ..understand.report import report

    check_page_path(args.out, "-o", (args.model, args.data))
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
    written = report(model, args.out, X, y, data_name=args.data, feature=args.feature)
    print(f"Wrote the report: {written}")
    return 0
