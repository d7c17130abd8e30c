"""A run as one self-contained HTML page: ``descend.report(model, "run.html", X, y)``.

The page shows the data set and the model, the loss curve (training and
validation, log scale when it spans decades, recovery and divergence events
marked), the diagnosis with its evidence and suggestion, the optimisation gap
and the curvature L where they are known, the sweep when one is given (1/L
and 2/L marked), the descent path on the loss contours of a one-feature slice
of the data (a slider picks the learning rate among precomputed paths) and one
step of ``explain`` on the first rows. The figures are plotly's, with
plotly.js inlined: the file opens offline and sends no request.

Without data (a History or a model file alone) the page shows what the run
recorded: the curve, the diagnosis and the gap; the descent path, the
curvature and the step by hand need the rows (``X`` and ``y``).
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .._validation import NONE, InstanceOf, Interval, Satisfies, validate_params
from .._version import __version__
from ..data import to_targets
from ..engine.backend import xp
from ..errors import InputError
from ..files import atomic_write
from ..learn.history import History
from ..learn.nn import Module
from . import figures
from .diagnose import Diagnosis, diagnose
from .paths_section import PATH_EPOCHS, descent_section
from .sweep import SweepResult

EXPLAIN_ROWS = 3
"""Rows in the report's step by hand."""
EVIDENCE = {
    "epochs": "epochs run",
    "initial_loss": "first loss",
    "final_loss": "loss of the weights returned",
    "best_loss": "lowest loss",
    "recent_improvement": "improvement over the last window",
    "update_cosine": "mean update cosine (near -1: zig-zag)",
    "share_up": "share of epochs whose loss rose",
    "grad_norm_ratio": "last / first gradient norm",
    "loss_ratio": "mean factor the loss shrank by per epoch",
    "recoveries": "divergence recoveries",
    "val_rise": "validation loss above its lowest",
}


@dataclass
class RunData:
    """A run and, when given, its rows as the model sees them (standardised, encoded)."""

    history: History
    estimator: Any = None
    X: Any = None  # the table or array given, for explain
    y: Any = None
    features: Any = None  # the training rows as the model sees them
    target: Any = None
    names: list[str] = field(default_factory=list)
    task: str = "regression"
    kind: str | None = None
    loss: str = "mse"
    give_data: str = "X and y"  # how the page asks for the rows when it has none

    @property
    def lr(self) -> float:
        return float(self.history.settings.get("lr") or (self.history.lr or [math.nan])[0])

    @property
    def linear(self) -> bool:
        """A linear or logistic model with one output: its curvature L is known."""
        one_output = self.target is not None and xp.ndim(self.target) == 1
        return (
            self.kind in (None, "linear", "logistic")
            and one_output
            and self.loss
            in (
                "mse",
                "bce_with_logits",
            )
        )


def run_data(run: Any, X: Any = None, y: Any = None) -> RunData:
    """The History of ``run`` (a History, or a fitted Regressor or Classifier)
    and, with X and y, the rows the model learned from."""
    if (X is None) != (y is None):
        raise InputError("report needs both X and y, or neither (the run's History alone).")
    if isinstance(run, Module):  # let through by RUN, to be told what it lacks
        raise InputError(
            "report: the model file holds a bare network without its History; give the model "
            "file of a fitted Regressor or Classifier (descend.save writes one)."
        )
    history, estimator = (run, None) if isinstance(run, History) else (run.history_, run)
    if not history.loss:
        raise InputError("report: the history has no epochs; train the model first.")
    loss = str(history.settings.get("loss") or getattr(estimator, "loss_", "mse"))
    data = RunData(history, estimator, X, y, loss=loss)
    data.task = (
        "classification" if hasattr(estimator, "labels_") or "entropy" in loss else ("regression")
    )
    data.kind = getattr(estimator, "kind_", None)
    if X is not None:
        _rows_as_seen(data)
    return data


def _rows_as_seen(data: RunData) -> None:
    """Fill in the training rows as the model sees them, and the feature names."""
    estimator, X, y = data.estimator, data.X, data.y
    if estimator is None:
        data.features = xp.asarray(X, dtype=float)
        data.target = to_targets(y)
        data.names = [str(c) for c in getattr(X, "columns", [])] or [
            f"x{j}" for j in range(data.features.shape[1])
        ]
        return
    rows = estimator.training_rows(len(X))
    pick = (lambda t: t.iloc[rows]) if hasattr(X, "iloc") else (lambda t: xp.asarray(t)[rows])
    data.features = estimator.preprocessor_.transform(pick(X))
    data.names = list(estimator.preprocessor_.feature_names_out_)
    picked_y = y.iloc[rows] if hasattr(y, "iloc") else xp.asarray(y)[rows]
    if hasattr(estimator, "labels_"):
        codes = estimator.labels_.transform(picked_y)
        binary = len(estimator.labels_.classes_) == 2 and data.kind != "softmax"
        data.target = (
            codes.astype(float) if binary else xp.eye(len(estimator.labels_.classes_))[codes]
        )
    else:
        data.target = to_targets(picked_y)


def curvature(data: RunData) -> float | None:
    """L, the largest eigenvalue of the Hessian of a linear model's loss (mse: 2 A'A / n;
    logistic: at most A'A / 4n, its value where every p = 1/2), A = [features, 1]."""
    if data.features is None or not data.linear:
        return None
    A = xp.hstack([data.features, xp.ones((len(data.features), 1))])
    scale = 2.0 if data.loss == "mse" else 0.25
    return float(scale * xp.linalg.eigvalsh(A.T @ A / len(A))[-1])


# ----- the page -------------------------------------------------------------------------
def _is_run(value: Any) -> bool:
    """A History, a fitted estimator (which holds one), or a bare network (refused in its
    own words by ``run_data``)."""
    fitted = isinstance(getattr(value, "history_", None), History)
    return fitted or isinstance(value, (History, Module))


RUN = Satisfies(
    _is_run,
    "a History or a fitted descend Regressor or Classifier (descend.load reads one from a "
    "model file)",
)


@validate_params(
    {
        "run": [RUN],
        "sweep": [InstanceOf(SweepResult, "a SweepResult (what descend.sweep returns)"), NONE],
        "title": [InstanceOf(str, "a str"), NONE],
        "data_name": [InstanceOf(str, "a str"), NONE],
        "feature": [InstanceOf(str, "a feature name"), NONE],
        "path_epochs": [Interval(int, 1, 1000, "both")],
        "give_data": [InstanceOf(str, "a str")],
    }
)
def report(
    run: Any,
    path: str | os.PathLike[str],
    X: Any = None,
    y: Any = None,
    *,
    sweep: Any = None,
    title: str | None = None,
    data_name: str | None = None,
    feature: str | None = None,
    path_epochs: int = PATH_EPOCHS,
    give_data: str = "X and y",
) -> str:
    """Write ``run`` (a History or a fitted estimator) as one HTML page that
    opens offline; returns the path written.

    ``X`` and ``y`` are the rows it was trained on (as given to ``fit``); with
    them the page adds the curvature, the descent path of ``feature`` alone
    (default: the feature most correlated with the target) and a step by hand.
    ``sweep`` is a SweepResult to show; ``data_name`` names the data; ``give_data`` is how
    the page asks for the rows when it has none (a caller's own words: the command line
    names its flags).
    """
    target = os.fspath(path)
    data = run_data(run, X, y)
    data.give_data = give_data
    page = Page(title or f"descend: {data.kind or 'model'} trained on {data_name or 'your data'}")
    L = curvature(data)
    page.section("The data and the model", _summary(data, data_name))
    page.figure(
        "Loss per epoch", "loss-curve", figures.loss_figure(data.history), _curve_note(data)
    )
    page.section("Diagnosis", _diagnosis(data))
    page.section("Optimisation gap and curvature", _gap_and_curvature(data, L))
    if sweep is not None:
        page.figure("Learning-rate sweep", "sweep", figures.sweep_figure(sweep, L), html.escape(
            f"Recommended: lr={sweep.recommended_lr:g}. {sweep.reason}"
        ))  # fmt: skip
    page.section(
        "Descent path on the loss surface", descent_section(page, data, feature, path_epochs)
    )
    page.section("One step by hand", _explain(data, data_name))
    with atomic_write(target) as f:
        f.write(page.html())
    return target


class Page:
    """Sections of HTML and the plotly figures they hold, written out as one file."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.figures: list[tuple[str, dict[str, Any]]] = []
        self.scripts: list[str] = []

    def section(self, heading: str, body: str) -> None:
        self.parts.append(f"<section><h2>{html.escape(heading)}</h2>\n{body}\n</section>")

    def figure(self, heading: str, div: str, figure: dict[str, Any], note: str = "") -> None:
        self.section(heading, self.plot(div, figure) + (f"<p>{note}</p>" if note else ""))

    def plot(self, div: str, figure: dict[str, Any]) -> str:
        """A placeholder for ``figure``, drawn when the page loads."""
        self.figures.append((div, figure))
        return f'<div class="plot" id="{div}"></div>'

    def html(self) -> str:
        drawing = "\n".join(
            f"Plotly.newPlot({figures.to_json(div)}, {figures.to_json(f['data'])}, "
            f"{figures.to_json(f['layout'])}, CONFIG);"
            for div, f in self.figures
        )
        return PAGE.format(
            title=html.escape(self.title),
            version=__version__,
            style=STYLE,
            body="\n".join(self.parts),
            plotly=figures.plotly_js(),
            drawing=drawing,
            scripts="\n".join(self.scripts),
        )


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _summary(data: RunData, data_name: str | None) -> str:
    h, s = data.history, data.history.settings
    est = data.estimator
    rows = [("data", data_name or ("the rows given" if data.X is not None else "not given"))]
    rows.append(("training rows", _number(s.get("rows"))))
    if s.get("validation_rows"):
        rows.append(("validation rows", _number(s["validation_rows"])))
    if est is not None:
        rows.append(("features", ", ".join(est.preprocessor_.input_features_)))
        name = getattr(data.y, "name", None)
        if isinstance(name, str):
            rows.append(("target", name))
        if hasattr(est, "labels_"):
            rows.append(("classes", ", ".join(map(str, est.labels_.classes_))))
    elif data.names:
        rows.append(("features", ", ".join(data.names)))
    model = data.kind or "model"
    if data.kind == "mlp":
        model += f" (hidden {','.join(map(str, est.hidden))}, {est.activation})"
    batch = s.get("batch_size")
    rows += [
        ("task", data.task),
        ("model", model),
        ("loss", data.loss),
        ("optimizer", str(s.get("optimizer"))),
        ("learning rate", _number(data.lr)),
        ("batch", "full batch" if batch is None else f"{batch} rows"),
        ("epochs", f"{h.epochs} of at most {_number(s.get('epochs'))}"),
        ("stopped", f"{h.stop_reason}. {h.stop_message}".strip()),
    ]
    if h.final_loss is not None:
        rows.append(("final loss", _number(h.final_loss)))
    return _table(rows)


def _curve_note(data: RunData) -> str:
    events = data.history.events
    marks = f" Marked: {len(events)} divergence or recovery event(s)." if events else ""
    return (
        "Hover a point to read its epoch and loss. The loss of epoch k is that of the weights "
        f"the epoch started with (minibatches: the mean over its batches).{marks}"
    )


def the_diagnosis(history: History) -> Diagnosis:
    """The diagnosis stored with the run, or one made now."""
    return Diagnosis.from_dict(history.diagnosis) if history.diagnosis else diagnose(history)


def _diagnosis(data: RunData) -> str:
    d = the_diagnosis(data.history)
    evidence = [
        (words, _number(d.evidence[key])) for key, words in EVIDENCE.items() if key in d.evidence
    ]
    return (
        f'<p class="verdict verdict-{html.escape(d.verdict)}">Verdict: <b>{html.escape(d.verdict)}'
        f"</b></p><p>{html.escape(d.explanation)}</p>"
        f'<p class="suggestion">Suggestion: {html.escape(d.suggestion)}</p>'
        f"<h3>Evidence</h3>{_table(evidence)}"
    )


def _gap_and_curvature(data: RunData, L: float | None) -> str:
    d = the_diagnosis(data.history)
    parts = [f"<p>{html.escape(str(d.gap))}</p>" if d.gap else ""]
    if not d.gap:
        parts.append("<p>The exact optimum is known for linear and logistic models only.</p>")
    rows = []
    if L is not None:
        lr = data.lr
        rows += [
            ("curvature L (largest eigenvalue of the Hessian)", _number(L)),
            ("1/L: full-batch gradient descent is smooth below", _number(1 / L)),
            ("2/L: it diverges above", _number(2 / L)),
            ("this run's lr", f"{lr:g} = {lr * L:.3g}/L"),
        ]
    measured = d.evidence.get("first_step_curvature", math.nan)
    if isinstance(measured, float) and math.isfinite(measured):
        rows.append(("curvature along the first gradient, from the first step", _number(measured)))
    if rows:
        parts.append(_table(rows))
    elif L is None:
        parts.append(
            "<p>The curvature L is computed from the rows for linear and logistic models; "
            "give the data to see it.</p>"
        )
    return "".join(parts)


def _explain(data: RunData, data_name: str | None) -> str:
    """explain's four steps from the run's starting weights (zeros), on the first rows."""
    from .explain import explain

    if data.X is None:
        return f"<p>The step by hand needs the data: give {html.escape(data.give_data)}.</p>"
    if not data.linear or data.kind == "softmax":
        return "<p>The step by hand is told for linear and logistic models.</p>"
    est = data.estimator
    X = data.X[list(est.preprocessor_.input_features_)] if est is not None else data.X
    try:
        step = explain(
            X, data.y, task=data.task, lr=data.lr if math.isfinite(data.lr) else 0.1,
            rows=min(EXPLAIN_ROWS, len(data.features)),
            weights=[0.0] * len(data.names), standardize=getattr(est, "standardize", False),
            source=data_name or "your data",
        )  # fmt: skip
    except InputError as error:
        return f"<p>No step by hand for these rows: {html.escape(str(error))}</p>"
    return f'<pre class="explain">{html.escape(str(step))}</pre>'


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 980px; padding: 1em 2em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; padding: .2em .8em; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { font-weight: 600; color: #444; }
.plot { width: 100%; height: 460px; }
.verdict { font-size: 1.2em; } .verdict-converged b { color: #2ca02c; }
.verdict-diverged b, .verdict-oscillating b { color: #d62728; }
.suggestion { background: #f5f8ff; padding: .5em .8em; border-left: 3px solid #1f77b4; }
pre.explain { background: #fafafa; padding: 1em; overflow-x: auto; font-size: .85em; }
.slider { display: flex; gap: 1em; align-items: center; }
.slider input { flex: 1; }
footer { color: #888; font-size: .85em; margin-top: 3em; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{style}</style>
<script>{plotly}</script>
</head>
<body>
<h1>{title}</h1>
{body}
<footer>Written by descend {version}. This page is one file: it needs no network.</footer>
<script>
const CONFIG = {{displaylogo: false, responsive: true}};
{drawing}
{scripts}
</script>
</body>
</html>
"""
