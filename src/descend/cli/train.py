"""``descend train DATA --target COL``: read, choose the model, train, report, write."""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

from .. import interrupts
from ..data import read_table, select_columns
from ..errors import InputError
from ..files import Outputs, check_suffix
from ..io import save
from ..models import choose
from ..understand import plot
from ..understand.diagnose import Diagnosis
from .flags import COUNT, ROWS_NOTE, add_training_flags
from .output import Say, in_flags, plural, progress, score_lines, shown


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
    add_training_flags(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--save", metavar="PATH", help="write the model file (e.g. model.descend)")
    out.add_argument("--plot", metavar="PATH", help="write the loss curve as a PNG picture")
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
    return Choice(chosen.task, chosen.kind, sentence, chosen.losses)


def run(args: argparse.Namespace) -> int:
    """Train a model on a table; report, and write what the flags ask for."""
    say = Say(args.quiet, args.json)
    df = read_table(args.data)
    features, target = select_columns(df, args.target, args.features)
    choice = choose_model(df[target], target, args.model, args.task)
    task, kind = choice.task, choice.kind
    check_suffix(args.plot, "--plot", "a PNG picture", (".png",))
    check_suffix(args.history, "--history", "the per-epoch history", (".json", ".csv"))
    estimator = estimator_for(args, choice, verbose=not say.quiet and say.human)
    estimator.set_params(log_every=args.log_every)

    training = estimator.training_rows(len(df))
    say.human(
        f"Read {args.data}: {plural(len(df), 'row')}; {plural(len(features), 'feature')}: "
        f"{', '.join(features)}."
    )
    say.human(choice.sentence)
    say.human(_settings_line(estimator, kind, len(df), len(training)) + "\n")
    written = {}
    with Outputs([args.data]) as outputs, progress(say) as bars:
        staged = {
            what: outputs.stage(path, f"--{what}")
            for what, path in (("save", args.save), ("plot", args.plot), ("history", args.history))
            if path
        }
        estimator.set_params(callbacks=bars)
        estimator.fit(df[features], df[target])
        history = estimator.history_
        held_out = estimator.validation_rows_
        metrics = {}
        for name, positions in (("training", training), ("validation", held_out)):
            if len(positions) and not interrupts.requested():  # Ctrl-C: the files come first
                rows = df.iloc[positions]
                metrics[name] = estimator.metrics(rows[features], rows[target])
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
    if say.quiet:  # without the epoch lines, which end with them
        say.results(f"Stopped: {history.stop_reason}. {history.stop_message}".rstrip())
        say.results(str(Diagnosis.from_dict(history.diagnosis or {})))
    if not args.plot:
        say.human("\n" + plot.text_chart(history.loss))
    say.human()
    say.results(score_lines(metrics) if metrics else "(The scores were skipped: interrupted.)")
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
            "classes": list(estimator.labels_.classes_) if task == "classification" else None,
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
            "interrupted": interrupts.requested(),
            "warnings": args.warnings,
        }
    )
    return 0


def estimator_for(args: argparse.Namespace, choice: Choice, verbose: Any = False) -> Any:
    """The Regressor or Classifier that the training flags and the chosen model ask for;
    ``verbose`` prints the epoch lines (a function: the command line's printer)."""
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
