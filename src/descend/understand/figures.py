"""Interactive figures of a run, as plotly figure dicts (for the report and the playground).

Each function returns a plain, JSON-able figure (``{"data": [...], "layout": {...}}``),
checked by plotly's own figure validation; ``to_json`` writes it for a page, and
``plotly_js`` is the plotly.js bundle that draws it, inlined so that no page
needs the network. The numbers plotted are the run's own, unrounded.

>>> from descend.learn.history import History
>>> figure = loss_figure(History(loss=[4.0, 1.0, 0.25]))
>>> figure["data"][0]["y"], figure["layout"]["yaxis"]["type"]
([4.0, 1.0, 0.25], 'linear')
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..learn.history import History, json_ready
from .plot import spans_decades

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf")
VERDICT_COLORS = {
    "converged": "#2ca02c",
    "still_improving": "#1f77b4",
    "plateaued": "#8c564b",
    "overfitting": "#9467bd",
    "oscillating": "#ff7f0e",
    "diverged": "#d62728",
}
GRID = 61
"""Points per side of the grid a loss surface is drawn on."""


def plotly() -> Any:
    """The plotly package, or a clear error when it is missing."""
    try:
        import plotly as package
        import plotly.graph_objects  # noqa: F401
    except ImportError:
        raise InputError(
            "Reports and the playground need plotly: pip install 'descend[report]' "
            "(or 'descend[cli]')."
        ) from None
    return package


def plotly_js() -> str:
    """The plotly.js bundle that ships with the plotly package (no CDN)."""
    plotly()
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def finite(values: Sequence[float]) -> list[float | None]:
    """The values as floats, NaN and infinities as None (a gap in the line, valid JSON)."""
    return json_ready([float(v) for v in values])  # type: ignore[no-any-return]


def checked(figure: dict[str, Any]) -> dict[str, Any]:
    """``figure`` after plotly's validation: a misspelt property fails here, not in the page."""
    plotly().graph_objects.Figure(figure)
    return figure


def to_json(value: Any) -> str:
    """JSON for a <script> element: no NaN, and no '</' that could close the element."""
    return json.dumps(json_ready(value), allow_nan=False).replace("</", "<\\/")


def _layout(title: str, x_title: str, y_title: str, log_y: bool = False) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}, "type": "log" if log_y else "linear"},
        "hovermode": "closest",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "template": "plotly_white",
    }


# ----- the loss curve ---------------------------------------------------------------
def loss_figure(history: History) -> dict[str, Any]:
    """Training (and validation) loss per epoch; log scale when it spans decades; the
    divergence and recovery events of ``history.events`` marked where they happened."""
    epochs = list(range(history.epochs))
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "training loss",
            "x": epochs,
            "y": finite(history.loss),
            "marker": {"size": 4, "color": COLORS[0]},
            "hovertemplate": "epoch %{x}<br>training loss %{y:.6g}<extra></extra>",
        }
    ]
    if history.val_loss:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "validation loss",
                "x": epochs[: len(history.val_loss)],
                "y": finite(history.val_loss),
                "marker": {"size": 4, "color": COLORS[1]},
                "hovertemplate": "epoch %{x}<br>validation loss %{y:.6g}<extra></extra>",
            }
        )
    data += _event_traces(history)
    log = spans_decades(list(history.loss) + list(history.val_loss))
    title = f"Loss per epoch (stopped: {history.stop_reason or 'unknown'})"
    return checked({"data": data, "layout": _layout(title, "epoch", "loss", log)})


def _event_traces(history: History) -> list[dict[str, Any]]:
    """One marker trace per kind of event (recovered, diverged), at the loss of its epoch."""
    top = max((v for v in history.loss if math.isfinite(v)), default=1.0)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for event in history.events:
        kinds.setdefault(str(event.get("event")), []).append(event)
    traces = []
    for kind, events in kinds.items():
        xs, ys, words = [], [], []
        for e in events:
            epoch = int(e.get("epoch", 0))
            loss = float(e.get("loss", math.nan))
            xs.append(epoch)
            ys.append(loss if math.isfinite(loss) else top)
            said = f"{kind} at epoch {epoch}: loss {loss:.4g} with lr {float(e.get('lr', 0)):g}"
            if "new_lr" in e:
                said += f"; lr cut to {float(e['new_lr']):g}"
            words.append(said)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": kind,
                "x": xs,
                "y": ys,
                "text": words,
                "marker": {
                    "size": 12,
                    "symbol": "x" if kind == "diverged" else "triangle-down",
                    "color": VERDICT_COLORS["diverged" if kind == "diverged" else "oscillating"],
                },
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    return traces


# ----- the sweep ----------------------------------------------------------------------
def sweep_figure(result: Any, curvature: float | None = None) -> dict[str, Any]:
    """The final loss of each run of a sweep against its learning rate (log axes), colored
    by verdict, the recommended rate circled; 1/L and 2/L marked when L is known."""
    rows = result.rows()
    finals = [r["final_loss"] for r in rows]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "final loss",
            "x": [r["lr"] for r in rows],
            "y": finite(finals),
            "text": [r["verdict"] for r in rows],
            "marker": {
                "size": 10,
                "color": [VERDICT_COLORS.get(r["verdict"], "#444") for r in rows],
            },
            "line": {"color": "#bbb"},
            "hovertemplate": "lr %{x:g}<br>final loss %{y:.6g}<br>%{text}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"recommended: lr = {result.recommended_lr:g}",
            "x": [result.recommended_lr],
            "y": finite([finals[result.lrs.index(result.recommended_lr)]])
            if result.recommended_lr in result.lrs
            else [None],
            "marker": {"size": 20, "symbol": "circle-open", "color": "#000", "line": {"width": 2}},
            "hoverinfo": "skip",
        },
    ]
    layout = _layout("Learning-rate sweep: final loss of each run", "learning rate", "final loss")
    layout["xaxis"]["type"] = "log"
    layout["yaxis"]["type"] = "log" if spans_decades(finals) else "linear"
    if curvature and math.isfinite(curvature) and curvature > 0:
        layout["shapes"], layout["annotations"] = [], []
        for k, shift in ((1, 14), (2, 0)):
            layout["shapes"].append(
                {"type": "line", "xref": "x", "yref": "paper", "x0": k / curvature,
                 "x1": k / curvature, "y0": 0, "y1": 1, "line": {"dash": "dash", "color": "#555"}}
            )  # fmt: skip
            layout["annotations"].append(
                {"x": math.log10(k / curvature), "xref": "x", "y": 1, "yref": "paper",
                 "text": f"{k}/L = {k / curvature:.3g}", "showarrow": False, "yanchor": "bottom",
                 "yshift": shift}
            )  # fmt: skip
    return checked({"data": data, "layout": layout})


# ----- loss surfaces and descent paths ----------------------------------------------------
def surface_trace(weights: Any, biases: Any, losses: Any) -> dict[str, Any]:
    """Contours of a loss surface over a (weight, bias) grid, spaced on a log scale of the
    loss above its lowest value; hover reads the loss itself."""
    import numpy as np

    z = np.asarray(losses, dtype=float)
    floor = float(np.nanmin(z))
    spread = max(float(np.nanmax(z)) - floor, 1e-300)
    return {
        "type": "contour",
        "x": weights,
        "y": biases,
        "z": np.log10((z - floor) / spread + 1e-6).tolist(),
        "customdata": z.tolist(),
        "colorscale": "Greys",
        "reversescale": True,
        "opacity": 0.55,
        "showscale": False,
        "ncontours": 18,
        "contours": {"coloring": "lines"},
        "line": {"width": 1},
        "name": "loss surface",
        "hovertemplate": "weight %{x:.4g}<br>bias %{y:.4g}<br>loss %{customdata:.6g}<extra></extra>",
    }


def grid_around(points: Any, best: Any, size: int = GRID) -> tuple[list[float], list[float]]:
    """A (weight, bias) grid around ``best`` and the finite ``points`` near it (within three
    times the start's distance from ``best``: a diverging path leaves the view)."""
    import numpy as np

    points = np.asarray(points, dtype=float).reshape(-1, 2)
    best = np.asarray(best, dtype=float)
    kept = points[np.all(np.isfinite(points), axis=1)]
    reach = max(float(np.abs(kept[0] - best).max()) if len(kept) else 1.0, 1e-6)
    near = kept[np.abs(kept - best).max(axis=1) <= 3 * reach]
    box = np.vstack([near, best[None, :]])
    low, high = box.min(axis=0), box.max(axis=0)
    middle, half = (low + high) / 2, 0.575 * float((high - low).max()) + 0.05 * reach
    low, high = middle - half, middle + half  # a square: the surface's true geometry
    return (
        np.linspace(low[0], high[0], size).tolist(),
        np.linspace(low[1], high[1], size).tolist(),
    )


def path_trace(trail: Any, losses: Sequence[float], name: str, color: str) -> dict[str, Any]:
    """The (weight, bias) after each epoch (the start first), hover: epoch and loss."""
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": finite([p[0] for p in trail]),
        "y": finite([p[1] for p in trail]),
        "customdata": [[k, v] for k, v in enumerate(finite(losses))],
        "marker": {"size": 5, "color": color},
        "line": {"color": color, "width": 1.5},
        "hovertemplate": "after epoch %{customdata[0]}<br>weight %{x:.4g}, bias %{y:.4g}"
        "<br>loss %{customdata[1]:.6g}<extra>" + name + "</extra>",
    }


def paths_figure(paths: Any, chosen: int, feature: str, labels: Sequence[str]) -> dict[str, Any]:
    """The loss surface of a one-feature slice and one descent path per learning rate of
    ``paths`` (a DescentPaths), only path ``chosen`` visible (the page's slider picks)."""
    import numpy as np

    best = np.asarray(paths.optimum, dtype=float)
    W, B = grid_around(np.vstack(list(paths.paths)), best)
    surface = paths.loss(np.asarray(W)[None, :], np.asarray(B)[:, None])
    data = [surface_trace(W, B, surface)]
    for k, (trail, label) in enumerate(zip(paths.paths, labels)):
        trace = path_trace(trail, paths.loss(trail[:, 0], trail[:, 1]), label, COLORS[0])
        trace["visible"] = k == chosen
        data.append(trace)
    data.append(
        {"type": "scatter", "mode": "markers", "name": "minimum", "x": [best[0]], "y": [best[1]],
         "marker": {"symbol": "star", "size": 16, "color": "#000"},
         "hovertemplate": "minimum<br>weight %{x:.6g}, bias %{y:.6g}<extra></extra>"}
    )  # fmt: skip
    kind = "MSE" if paths.loss_name == "mse" else "logistic loss"
    layout = _layout(f"Gradient descent on the {kind} of {feature!r} alone", "weight", "bias")
    layout["xaxis"].update(range=[W[0], W[-1]], constrain="domain")
    layout["yaxis"].update(range=[B[0], B[-1]], scaleanchor="x", scaleratio=1, constrain="domain")
    return checked({"data": data, "layout": layout})
