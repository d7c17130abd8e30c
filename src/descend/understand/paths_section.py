"""The report's descent-path section: one feature of the user's data, several learning rates.

The slice is the model ``weight * x + bias`` on one feature column ``x`` (as
the model sees it: standardised when the model standardises) and the target,
with MSE for regression and the logistic loss for two classes. Its loss
surface has a known curvature L, so the learning rates are multiples of 1/L
(``PATH_FRACTIONS``) and the run's own rate; each path is precomputed by full-
batch gradient descent (``descent_paths``) and a slider shows one at a time.
"""

from __future__ import annotations

import html
from typing import Any

from .._validation import Options, check
from ..engine.backend import xp
from ..learn.nn import Linear
from . import figures
from .curvature import curvature
from .sweep import descent_paths

PATH_FRACTIONS = (0.1, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1)
"""The descent paths' learning rates, as multiples of 1/L of the slice's loss surface."""
PATH_EPOCHS = 50
"""Epochs of each precomputed descent path."""
SLIDER_JS = """
(function () {
  const paths = %(paths)s;
  const slider = document.getElementById("lr-slider");
  const label = document.getElementById("lr-label");
  function show() {
    const k = Number(slider.value);
    const visible = paths.traces.map((_, i) => i === k);
    Plotly.restyle("descent-path", {visible: visible}, paths.traces);
    label.textContent = paths.labels[k];
  }
  slider.addEventListener("input", show);
  show();
})();
"""


def _pick_feature(features: Any, target: Any, names: list[str], feature: str | None) -> int:
    """The column of ``feature``, or of the one most correlated with the target."""
    if feature is not None:
        check("report", {"feature": [Options(*names)]}, {"feature": feature})  # the model's
        return names.index(feature)
    centred = features - features.mean(axis=0)
    spread = xp.sqrt((centred**2).sum(axis=0) * ((target - target.mean()) ** 2).sum())
    with xp.errstate(invalid="ignore", divide="ignore"):
        corr = xp.abs(centred.T @ (target - target.mean())) / spread
    return int(xp.nanargmax(xp.where(xp.isfinite(corr), corr, -1.0)))


def path_rates(curvature: float, run_lr: float) -> list[float]:
    """PATH_FRACTIONS of 1/L (two digits) and the run's own learning rate, ascending."""
    rates = {float(f"{k / curvature:.2g}") for k in PATH_FRACTIONS}
    if 0 < run_lr < float("inf"):
        rates.add(run_lr)
    return sorted(rates)


def descent_section(page: Any, data: Any, feature: str | None, epochs: int) -> str:
    """The section's HTML; adds its figure and slider script to ``page`` (a report Page)."""
    if data.features is None:
        return f"<p>The descent path is drawn on the data: give {html.escape(data.give_data)}.</p>"
    if xp.ndim(data.target) != 1:
        return "<p>The descent path is drawn for one target (regression) or two classes.</p>"
    j = _pick_feature(data.features, data.target, data.names, feature)
    loss = "mse" if data.task == "regression" else "bce_with_logits"
    x, y = data.features[:, j], data.target
    L = curvature(Linear(1, 1, init="zeros"), x[:, None], y, loss).L
    rates = path_rates(L, data.lr)
    paths = descent_paths(x, y, lrs=rates, epochs=epochs, loss=loss)
    labels = []
    for lr, history in zip(paths.lrs, paths.histories):
        verdict = (history.diagnosis or {}).get("verdict", "?")
        mine = " (this run's lr)" if lr == data.lr else ""
        labels.append(f"lr = {lr:g} = {lr * L:.2g}/L: {verdict}{mine}")
    chosen = paths.lrs.index(data.lr) if data.lr in paths.lrs else 0
    name = data.names[j]
    figure = figures.paths_figure(paths, chosen, name, labels)
    traces = list(range(1, 1 + len(paths.lrs)))  # after the surface
    page.scripts.append(
        SLIDER_JS % {"paths": figures.to_json({"traces": traces, "labels": labels})}
    )
    what = "mean squared error" if loss == "mse" else "logistic loss"
    return (
        f"<p>The model <i>weight × {html.escape(name)} + bias</i> alone, on the same rows, "
        f"with the {what}: its surface has curvature L = {L:.4g}, so full-batch gradient descent "
        f"descends smoothly below 1/L = {1 / L:.3g}, zig-zags up to 2/L = {2 / L:.3g} and "
        f"diverges above. Each path starts at (0, 0) and runs {epochs} epochs.</p>"
        f'<div class="slider"><label for="lr-slider">learning rate</label>'
        f'<input type="range" id="lr-slider" min="0" max="{len(paths.lrs) - 1}" step="1" '
        f'value="{chosen}"><span id="lr-label">{html.escape(labels[chosen])}</span></div>'
        + page.plot("descent-path", figure)
    )
