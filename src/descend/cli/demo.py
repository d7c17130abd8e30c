"""``descend demo``: the lesson's loop on its own patients, from the first epoch to the weights."""

from __future__ import annotations

import argparse
import os
from contextlib import suppress
from typing import Any

from ..data import read_table, select_columns
from ..datasets import PATIENTS_NOISE_STD, PATIENTS_TRUE_BIAS, PATIENTS_TRUE_WEIGHTS, patients_path
from ..errors import InputError
from ..files import Outputs, write_text
from ..io import save
from ..understand import plot
from ..understand.optimum import least_squares
from ..understand.report import report
from .output import Say, number, progress, table

DEMO: dict[str, Any] = {"optimizer": "sgd", "lr": 0.1, "epochs": 1000, "batch_size": None}
"""The demo's settings: the lesson's full-batch gradient descent; it converges in 47 epochs."""


def add(commands: Any) -> None:
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
        with Outputs([patients_path()]) as outputs, progress(say) as bars:
            paths = {
                "model": os.path.join(folder, "model.descend"),
                "loss curve": os.path.join(folder, "loss.png"),
                "data": os.path.join(folder, "patients.csv"),
                "report": os.path.join(folder, "report.html"),
            }
            staged = {what: outputs.stage(path, "--out") for what, path in paths.items()}
            model = Regressor(model="linear", **DEMO, verbose=say.human, callbacks=bars)
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


def _weights_report(model: Any, X: Any, y: Any) -> str:
    """The learned weights beside the least-squares ones and the truth, in original units."""
    coef, intercept = model.preprocessor_.original_units(
        model.module_.weight.data, model.module_.bias.data
    )
    weights, bias = coef[:, 0].tolist(), float(intercept[0])
    exact = least_squares(X, y)  # the weights, then the bias
    true = [*PATIENTS_TRUE_WEIGHTS.values(), PATIENTS_TRUE_BIAS]
    names = [*model.preprocessor_.input_features_, "bias"]
    learned = [*weights, bias]
    rows = [["", "learned", "least squares", "true"]]
    rows += [
        [name, number(a), number(b), f"{c:g}"] for name, a, b, c in zip(names, learned, exact, true)
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
    return "The learned weights, in the data's units:\n" + table(rows) + "\n" + verdict
