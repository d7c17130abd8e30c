"""``descend sweep DATA --target COL``: one run per learning rate, and a recommendation;
``--report PATH`` writes the recommended run with the sweep as an HTML page."""

from __future__ import annotations

import argparse
from typing import Any

from ..data import read_table, select_columns
from ..errors import InputError
from ..files import Outputs, check_suffix
from ..understand import plot
from ..understand.report import report
from ..understand.sweep import DEFAULT_LRS, SweepResult
from .flags import LRS, ROWS_NOTE, add_training_flags, train_command
from .output import Say, plural, shown
from .train import choose_model, estimator_for

SWEEP_EPOCHS = 100
"""Epochs per run of ``descend sweep`` when --epochs is not given."""


def add(commands: Any) -> None:
    """``descend sweep DATA --target COL [--lrs A,B,...] [--epochs N] [--plot PATH]
    [--report PATH]``."""
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
    out.add_argument(
        "--report", metavar="PATH", help="write the recommended run and the sweep (1/L and 2/L "
        "marked where known) as an HTML page (.html) that opens offline",
    )  # fmt: skip
    out.add_argument("--quiet", action="store_true", help="print only the table and the choice")
    out.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train once per learning rate; print the table and the recommendation."""
    if args.lr is not None:
        raise InputError(
            "--lr sets one learning rate but a sweep tries several: give them with --lrs, "
            "such as --lrs 0.001,0.01,0.1."
        )
    check_suffix(args.plot, "--plot", "a PNG picture", (".png",))
    check_suffix(args.report, "--report", "an HTML page", (".html", ".htm"))
    say = Say(args.quiet, args.json)
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    choice = choose_model(df[target], target, args.model, args.task)
    rates = sorted(set(args.lrs or DEFAULT_LRS))
    epochs = args.epochs or SWEEP_EPOCHS
    estimator = estimator_for(args, choice)
    say.human(
        f"Read {args.data}: {plural(len(df), 'row')}; {plural(len(features), 'feature')}: "
        f"{shown(features, 20, quote=False)}."
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
    outputs_asked = (("plot", args.plot), ("report", args.report))
    with Outputs([args.data]) as outputs:
        staged = {what: outputs.stage(path, f"--{what}") for what, path in outputs_asked if path}
        result = estimator.sweep(
            df[features], df[target], lrs=rates, epochs=epochs,
            verbose=False if say.quiet else (lambda line: say.human("  " + line)),
        )  # fmt: skip
        if "plot" in staged:
            plot.sweep_curves(result, staged["plot"])
        if "report" in staged:
            _report(estimator, result, epochs, df[features], df[target], staged["report"], args)
    say.human()
    say.results(result.table())
    say.results(f"\nRecommended: lr={result.recommended_lr:g}. {result.reason}")
    if args.plot:
        say.results(f"Wrote the loss curves: {args.plot}")
    if args.report:
        say.results(f"Wrote the report (the recommended run, with the sweep): {args.report}")
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
            "files": {what: path for what, path in outputs_asked if path},
            "warnings": args.warnings,
        }
    )
    return 0


def _report(
    estimator: Any, result: SweepResult, epochs: int, X: Any, y: Any, path: str, args: Any
) -> None:
    """Train the recommended run again (the sweep keeps no model, only its History: the same
    rows, starting weights and settings give the same run) and write it, with the sweep."""
    estimator.set_params(lr=result.recommended_lr, epochs=epochs)
    estimator.fit(X, y)
    report(estimator, path, X, y, sweep=result, data_name=args.data)
