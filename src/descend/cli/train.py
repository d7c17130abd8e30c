"""``descend train DATA --target COL``: read, choose the model, train, report, write."""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np

from .. import interrupts
from ..data import read_table, select_columns, validation_size
from ..data.running import TARGET_VALUES_KEPT, TargetStats
from ..errors import InputError
from ..files import Outputs, check_suffix
from ..io import save
from ..learn.callbacks import Callback, Checkpoint, EarlyStopping
from ..learn.callbacks.checkpoint import read as read_checkpoint
from ..models import Choice as TargetChoice
from ..models import choose
from ..scale.dask import read_files
from ..scale.sources import TableFiles
from ..understand import plot
from ..understand.diagnose import Diagnosis
from ..understand.report import report
from .flags import COUNT, EPOCHS, ROWS_NOTE, add_training_flags
from .output import (
    Say,
    check_report_size,
    diagnosis_in_flags,
    in_flags,
    plural,
    progress,
    score_lines,
    shown,
)


def add(commands: Any) -> None:
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
    add_training_flags(parser, several=True)
    big = parser.add_argument_group(
        "data beyond memory",
        "Several files, a folder, a pattern or a file over 1 GiB are read in row blocks "
        "(memory holds a block of rows and pyarrow's read buffers, not the data); "
        "preprocessing statistics come from a first pass.",
    )
    big.add_argument("--stream", action="store_true", help="read DATA in row blocks anyway")
    big.add_argument(
        "--workers", type=EPOCHS, metavar="N", help="train on a Dask LocalCluster of N processes"
    )
    big.add_argument(
        "--block-size", type=EPOCHS, metavar="N", help="rows per block read (default 65536)"
    )
    big.add_argument(
        "--verify",
        action="store_true",
        help="check first that a block's loss and gradient equal those of its rows in memory",
    )
    big.add_argument("--checkpoint", metavar="PATH", help="keep the run's state in this file")
    big.add_argument(
        "--checkpoint-every", type=EPOCHS, default=1, metavar="N", help="every N epochs (1)"
    )
    big.add_argument("--resume", metavar="PATH", help="continue the run kept in this checkpoint")
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
    parser.set_defaults(run=run)


class Choice(NamedTuple):
    """What ``train`` fits: the task, the kind of model, why, and the losses it can learn with."""

    task: str  # 'regression' or 'classification'
    kind: str  # one of MODELS
    sentence: str
    losses: tuple[str, ...]
    made: TargetChoice  # the library's, handed on to the estimator: the target is read once


def choose_model(y: Any, target: str, model: str | None, task: str | None) -> Choice:
    """The library's choice of task and model for a target column and the flags given
    (``descend.models.choose``), and a sentence saying why."""
    try:
        chosen = choose(y, model, task, name=target)
    except InputError as error:  # the library's words, in flags
        raise InputError(in_flags(str(error))) from None
    if chosen.labels is None:
        said = f"Target {target!r} is numeric with {plural(chosen.distinct, 'distinct value')}"
        if chosen.distinct == 1:
            said += " (a constant: the model can only learn to predict it)"
        phrase = "regression"
    else:
        classes = chosen.labels.classes_
        check_report_size(len(y), len(classes))
        said = f"Target {target!r} has {len(classes)} classes ({shown(classes)})"
        phrase = ("binary" if len(classes) == 2 else "multiclass") + " classification"
    flags = [f"--{name}" for name, value in (("model", model), ("task", task)) if value]
    source = f", as {' and '.join(flags)} asked" if flags else ""
    sentence = f"{said}: {phrase} ({chosen.kind} model{source})."
    numbers = chosen.labels is not None and all(
        isinstance(c, (int, float)) and not isinstance(c, bool) for c in chosen.labels.classes_
    )
    if chosen.inferred and phrase == "multiclass classification" and numbers:
        sentence += " Add --task regression to predict it as a number instead."
    return Choice(chosen.task, chosen.kind, sentence, chosen.losses, chosen)


def run(args: argparse.Namespace) -> int:
    """Train a model on a table; report, and write what the flags ask for."""
    say = Say(args.quiet, args.json)
    check_suffix(args.plot, "--plot", "a PNG picture", (".png",))
    check_suffix(args.history, "--history", "the per-epoch history", (".json", ".csv"))
    check_suffix(args.report, "--report", "an HTML page", (".html", ".htm"))
    kept = checkpoints(args)
    if in_blocks(args):
        return run_in_blocks(args, say, kept)
    if args.verify:
        raise InputError(
            "--verify checks data read in row blocks against the same rows in memory; "
            f"{args.data[0]!r} is read into memory whole, so there is nothing to check. Add "
            "--stream (or --workers N) to read it in blocks, or leave --verify out."
        )
    args.data = args.data[0]
    size = os.path.getsize(args.data) if os.path.isfile(args.data) else 0
    if size > READ_NOTICE:  # the lines below wait for the whole table
        say.human(f"Reading {args.data} ({size / 1e6:.1f} MB)...")
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    choice = choose_model(df[target], target, args.model, args.task)
    task, kind = choice.task, choice.kind
    estimator = estimator_for(args, choice, verbose=not say.quiet and say.human)
    estimator.set_params(log_every=args.log_every)

    say.human(
        f"Read {args.data}: {plural(len(df), 'row')}; {plural(len(features), 'feature')}: "
        f"{shown(features, 20, quote=False)}."
    )
    say.human(choice.sentence)
    held = validation_size(len(df), estimator.validation)  # the split itself is fit's
    say.human(_settings_line(estimator, kind, len(df), len(df) - held) + "\n")
    with Outputs([args.data]) as outputs, progress(say) as bars:
        staged = _stage(outputs, args)
        estimator.set_params(callbacks=(*estimator.callbacks, *bars, *kept))
        estimator.fit(df[features], df[target], choice=choice.made)
        history = estimator.history_
        chart = plot.text_chart(history.loss)  # before any file is put in place
        held_out = estimator.validation_rows_  # the rows fit held out, and the others
        training = np.setdiff1d(np.arange(len(df)), held_out)
        metrics = {}
        for name, positions in (("training", training), ("validation", held_out)):
            if len(positions) and not interrupts.requested():  # Ctrl-C: the files come first
                rows = df.iloc[positions]
                metrics[name] = estimator.metrics(rows[features], rows[target])
        written = _write(args, staged, estimator, (df[features], df[target], args.data))
    _finish(
        say,
        args,
        history,
        written,
        score_lines(metrics) if metrics else "(The scores were skipped: interrupted.)",
        chart,
    )
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
            "classes": list(estimator.labels_.classes_) if task == "classification" else None,
            "loss": estimator.loss_,
            "optimizer": settings["optimizer"],
            "lr": history.settings.get("lr"),
            "batch_size": settings["batch_size"],
            "max_epochs": settings["epochs"],
            "epochs": history.epochs,
            "stop_reason": history.stop_reason,
            "stop_message": history.stop_message,
            "loss_kind": history.loss_kind,
            "final_loss": history.final_loss,  # of the weights returned, on all training rows
            "final_val_loss": _final_val_loss(history),
            "best_epoch": history.best_epoch,
            "diagnosis": diagnosis_in_flags(history.diagnosis),
            "metrics": metrics,
            "files": written,
            "interrupted": interrupts.requested(heed=False),
            "warnings": args.warnings,
        }
    )
    return 0


STREAM_BYTES = 1 << 30
"""A single file larger than this is read in row blocks."""
READ_NOTICE = 1 << 20
"""A file read whole that is larger than this is announced before it is read: reading it can
take seconds (200,000 columns: about ten), and nothing else is printed meanwhile."""


def in_blocks(args: argparse.Namespace) -> bool:
    """Whether DATA is read in row blocks: asked for (--stream, --workers), or several files,
    a folder, a pattern, or a file larger than STREAM_BYTES."""
    if args.stream or args.workers or len(args.data) > 1:
        return True
    path = args.data[0]
    big = os.path.isfile(path) and os.path.getsize(path) > STREAM_BYTES
    return os.path.isdir(path) or glob.has_magic(path) or big


def checkpoints(args: argparse.Namespace) -> tuple[Callback, ...]:
    """The Checkpoint callback --checkpoint and --resume ask for (none without them)."""
    if not (args.checkpoint or args.resume):
        return ()
    folder = os.path.dirname(os.path.abspath(args.checkpoint or "."))
    if args.checkpoint and not os.path.isdir(folder):
        raise InputError(
            f"Cannot write --checkpoint {args.checkpoint!r}: the folder {folder!r} does not "
            "exist. Create it or choose another path."
        )
    if args.resume:
        read_checkpoint(args.resume)  # a missing or damaged file: an error before any reading
    return (Checkpoint(args.checkpoint, args.checkpoint_every, args.resume),)


@contextlib.contextmanager
def cluster(workers: int | None) -> Iterator[Any]:
    """A Dask LocalCluster of ``workers`` processes and its client (nothing for None)."""
    if not workers:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "--workers needs Dask's distributed scheduler; install it: pip install 'descend[dask]'"
        ) from None
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        yield client


def run_in_blocks(args: argparse.Namespace, say: Say, kept: tuple[Callback, ...]) -> int:
    """``descend train`` on table files read in row blocks, or on a Dask LocalCluster."""
    if args.report:
        raise InputError(
            "--report shows the data in memory; with data read in row blocks (several files, "
            "a folder, a pattern, --stream or --workers) leave it out."
        )
    files = TableFiles(args.data, args.block_size)
    features, target = select_columns(
        SimpleNamespace(columns=files.names), args.target, args.features
    )
    files = TableFiles(args.data, args.block_size, columns=[*features, target])
    values = TargetStats(target)
    for frame in files.frames([target]):  # the target alone: it chooses the model
        values.update(frame[target])
    choice = choose_model(values.sample(), target, args.model, args.task)
    if values.many:
        more = f"with more than {TARGET_VALUES_KEPT} distinct values"
        choice = choice._replace(
            sentence=re.sub(r"with \d+ distinct values", more, choice.sentence)
        )
    estimator = estimator_for(args, choice, verbose=not say.quiet and say.human)
    estimator.set_params(log_every=args.log_every, verify=args.verify)
    how = (
        f"on a Dask LocalCluster of {plural(args.workers, 'worker process')}"
        if args.workers
        else f"in blocks of {files.block_rows} rows"
    )
    say.human(
        f"Reading {files.shown} {how}: {plural(values.rows, 'row')}; "
        f"{plural(len(features), 'feature')}: {', '.join(features)}."
    )
    say.human(choice.sentence)
    line = _settings_line(estimator, choice.kind, values.rows, values.rows)
    if args.validation:
        line = line[:-1] + f"; about {args.validation:g} of the rows held out for validation."
    say.human(line + "\n")
    with cluster(args.workers), Outputs(files.paths) as outputs, progress(say) as bars:
        staged = _stage(outputs, args)
        estimator.set_params(callbacks=(*estimator.callbacks, *bars, *kept))
        estimator.fit(read_files(files) if args.workers else files, target)
        history = estimator.history_
        chart = plot.text_chart(history.loss)  # before any file is put in place
        losses = {"training": {"loss": history.final_loss}}
        if history.val_loss:
            losses["validation"] = {"loss": history.val_loss[-1]}
        written = _write(args, staged, estimator)
    _finish(say, args, history, written, score_lines(losses), chart)
    say.json(
        {
            "command": "train", "data": files.paths, "rows": values.rows, "target": target,
            "features": features, "task": choice.task, "model": choice.kind,
            "loss": estimator.loss_, "workers": args.workers, "epochs": history.epochs,
            "stop_reason": history.stop_reason, "final_loss": history.final_loss,
            "final_val_loss": _final_val_loss(history),
            "diagnosis": diagnosis_in_flags(history.diagnosis), "files": written,
            "warnings": args.warnings,
        }
    )  # fmt: skip
    return 0


def _stage(outputs: Outputs, args: argparse.Namespace) -> dict[str, str]:
    outputs_asked = (
        ("save", args.save), ("plot", args.plot), ("history", args.history),
        ("report", args.report),
    )  # fmt: skip
    return {what: outputs.stage(path, f"--{what}") for what, path in outputs_asked if path}


def _write(
    args: argparse.Namespace, staged: dict[str, str], estimator: Any, table: Any = None
) -> dict[str, str]:
    """Write the staged outputs of a trained estimator; what was written, by kind. ``table``
    is (features, target, name) of data in memory, which the report shows."""
    history, written = estimator.history_, {}
    if "save" in staged:
        save(estimator, staged["save"])
        written["model"] = args.save
    if "plot" in staged:
        plot.loss_curve(history, staged["plot"])
        written["plot"] = args.plot
    if "report" in staged:
        features, target, name = table
        report(estimator, staged["report"], features, target, data_name=name)
        written["report"] = args.report
    if "history" in staged:
        to_file = history.to_csv if args.history.lower().endswith(".csv") else history.to_json
        to_file(staged["history"])
        written["history"] = args.history
    return written


def _final_val_loss(history: Any) -> float | None:
    """The validation loss of the weights returned (the diagnosis measured it), else the last."""
    measured = (history.diagnosis or {}).get("evidence", {}).get("final_val_loss")
    return measured if measured is not None else (history.val_loss or [None])[-1]


def _finish(
    say: Say,
    args: argparse.Namespace,
    history: Any,
    written: dict[str, str],
    scores: str,
    chart: str,
) -> None:
    if say.quiet:  # without the epoch lines, which end with them
        say.results(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
        say.results(str(Diagnosis.from_dict(history.diagnosis or {})))
    if not args.plot:
        say.human("\n" + chart)
    say.human()
    say.results(scores)
    if history.settings.get("alpha"):
        say.results(
            "(The scores are of the rows alone; the loss of the epoch lines and the diagnosis "
            "adds the L2 penalty alpha/2 |w|^2.)"
        )
    for what, path in written.items():
        say.results(f"Wrote the {'loss curve' if what == 'plot' else what}: {path}")
    if "model" not in written:
        say.human("(Add --save model.descend to keep the model.)")


def estimator_for(args: argparse.Namespace, choice: Choice, verbose: Any = False) -> Any:
    """The Regressor or Classifier that the training flags and the chosen model ask for;
    ``verbose`` prints the epoch lines (a function: the command line's printer)."""
    from ..estimators import Classifier, Regressor

    _check_model_flags(args, choice)
    if args.early_stopping and not args.validation:
        raise InputError(
            "--early-stopping watches the validation loss: add --validation 0.2 (or another "
            "fraction of the rows to hold out)."
        )
    stopping = (EarlyStopping(restore_best_weights=True),) if args.early_stopping else ()
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
        tol={None: 1e-5, "none": None}.get(args.tol, args.tol),
        alpha=args.alpha or 0.0,
        random_state=args.seed,
        verbose=verbose,
        callbacks=stopping,
    )


def _check_model_flags(args: argparse.Namespace, choice: Choice) -> None:
    """Refuse flags that the chosen model would ignore."""
    if choice.kind != "mlp":
        for flag, value in (("hidden", args.hidden), ("activation", args.activation)):
            if value is not None:
                raise InputError(
                    f"--{flag} shapes an MLP but the model is {choice.kind}; add --model mlp or "
                    f"leave --{flag} out."
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
        line += f"; {rows - training} of {plural(rows, 'row')} held out for validation"
    return line + "."
