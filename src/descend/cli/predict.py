"""``descend predict MODEL DATA``: predictions (and class probabilities) as CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..data import read_table
from ..errors import InputError
from ..files import Outputs, check_suffix, in_place, write_text
from ..io import load
from ..learn.nn import Module
from .flags import ROWS_NOTE
from .output import plural, shown


def add(commands: Any) -> None:
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
    parser.set_defaults(run=run)


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


def features_of(estimator: Any, df: Any, data: str, model: str) -> Any:
    """The columns of ``df`` the model reads, or an error naming those it lacks."""
    expected = list(estimator.preprocessor_.input_features_)
    missing = [name for name in expected if name not in df.columns]
    if missing:
        raise InputError(
            f"{data!r} lacks the column(s) {shown(missing, 10)} that {model!r} was trained on "
            f"(features: {', '.join(expected)}); use a table with those columns, or the model "
            "trained on this kind of table."
        )
    return df[expected]


def run(args: argparse.Namespace) -> int:
    """Predict with a saved model: a CSV to --out or stdout."""
    check_suffix(args.out, "--out", "the predictions as CSV", (".csv",))
    estimator = load_estimator(args.model)
    df = read_table(args.data)
    X = features_of(estimator, df, args.data, args.model)
    text = predictions_csv(estimator, X)
    if not args.out:
        sys.stdout.write(text)
        return 0
    with Outputs([args.data, args.model]) as outputs:
        write_text(outputs.stage(args.out, "--out"), text)
    note = sys.stderr if in_place(args.out) else sys.stdout  # --out /dev/stdout: the CSV alone
    print(f"Wrote {plural(len(df), 'prediction')} to {args.out}.", file=note)
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
