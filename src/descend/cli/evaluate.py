"""``descend evaluate MODEL DATA --target COL``: a saved model's metrics on a table."""

from __future__ import annotations

import argparse
from typing import Any

from ..data import read_table, select_columns
from .flags import ROWS_NOTE
from .output import Say, confusion_lines, plural, score_lines
from .predict import features_of, load_estimator


def add(commands: Any) -> None:
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Score a saved model on a table with the true values."""
    say = Say(as_json=args.json)
    estimator = load_estimator(args.model)
    df = read_table(args.data)
    X = features_of(estimator, df, args.data, args.model)
    features, target = select_columns(df, args.target, list(X.columns))
    result = estimator.metrics(X, df[target])
    task = "classification" if "labels" in result else "regression"
    say.results(
        f"{args.model} on {args.data} ({plural(len(df), 'row')}, target {target!r}, {task}):"
    )
    say.results(score_lines({"": result}))
    if "labels" in result:
        say.results("\nConfusion matrix (rows: true class, columns: predicted class):")
        say.results(confusion_lines(result))
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
