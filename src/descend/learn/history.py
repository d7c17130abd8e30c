"""History: what happened in each epoch of a run, and why it stopped.

>>> h = History(loss=[5.4, 2.1, 0.9], lr=[0.1] * 3)
>>> h.best_epoch, h.epochs
(2, 3)
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..files import write_text

STOP_REASONS = ("converged", "stalled", "early_stopping", "diverged", "max_epochs", "interrupted")
"""Why a run stopped. ``stalled``: Convergence stopped it (its loss stopped improving), but the
diagnosis found it short of converged (``understand/runs.py``)."""

PER_EPOCH = ("loss", "val_loss", "lr", "grad_norm", "update_cosine", "time")


@dataclass
class History:
    """Per-epoch records of a run (one entry per epoch in each list).

    ``loss``: training loss of the epoch (full batch: of the weights the epoch
    started with, as in the lesson's loop; minibatches: their mean).
    ``val_loss``: validation loss after the epoch (empty without validation).
    ``lr``: learning rate used. ``grad_norm``: L2 norm of the gradient over all
    parameters (minibatches: at the epoch's last step). ``update_cosine``:
    cosine between this epoch's change of the weights and the previous one's
    (NaN for the first): near -1 when the weights zig-zag across a minimum.
    ``time``: seconds since the run started. ``final_loss``: the training loss of
    the weights fit returned, computed once after the last epoch (full batch: the
    last entry of ``loss`` is of the weights *before* the last update); None when
    unknown (Dask data, or a History built by hand).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    update_cosine: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    stop_message: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    final_loss: float | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    @property
    def loss_kind(self) -> str:
        """Which loss ``loss`` holds, in words: 'mse of all the training rows, at the weights
        each epoch started with', or 'cross_entropy, the mean over each epoch's minibatches';
        ', plus the L2 penalty (alpha / 2) |w|^2 with alpha=0.01' when there is one."""
        name = self.settings.get("loss", "the loss")
        size, rows = self.settings.get("batch_size"), self.settings.get("rows")
        if size is not None and (rows is None or size < rows):
            kind = f"{name}, the mean over each epoch's minibatches"
        else:
            kind = f"{name} of all the training rows, at the weights each epoch started with"
        alpha = self.settings.get("alpha")
        if alpha:
            kind += f", plus the L2 penalty (alpha / 2) |w|^2 with alpha={alpha:g}"
        return kind

    @property
    def best_epoch(self) -> int | None:
        """The epoch with the lowest validation loss (training loss without validation)."""
        values = self.val_loss if self.val_loss else self.loss
        finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
        return min(finite)[1] if finite else None

    def record(self, **values: float) -> None:
        """Append one epoch's values: ``history.record(loss=0.5, lr=0.1)``."""
        for name, value in values.items():
            if name not in PER_EPOCH:
                raise KeyError(f"History has no per-epoch record {name!r}; use one of {PER_EPOCH}.")
            getattr(self, name).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain Python data (NaN and infinity stay floats)."""
        data = asdict(self)
        data["best_epoch"] = self.best_epoch
        return data

    def to_json(self, path: str | None = None) -> str:
        """The history as JSON (non-finite numbers written as null); also saved to ``path``."""
        text = json.dumps(json_ready(self.to_dict()), indent=2)
        if path is not None:
            write_text(path, text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a History from ``to_dict()`` or parsed ``to_json()`` output."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in PER_EPOCH:
            values[name] = [math.nan if v is None else float(v) for v in values.get(name, [])]
        if values.get("final_loss") is not None:
            values["final_loss"] = float(values["final_loss"])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Rebuild a History from ``to_json()`` text."""
        return cls.from_dict(json.loads(text))

    def to_csv(self, path: str | None = None) -> str:
        """One row per epoch: epoch, loss, val_loss, lr, grad_norm, update_cosine, time."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("epoch",) + PER_EPOCH)
        for epoch in range(self.epochs):
            row = [epoch] + [_at(getattr(self, name), epoch) for name in PER_EPOCH]
            writer.writerow(row)
        text = buffer.getvalue()
        if path is not None:
            write_text(path, text)
        return text


def _at(values: list[float], i: int) -> str:
    return repr(values[i]) if i < len(values) else ""


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: dicts, lists, numbers, NumPy values as Python ones,
    NaN and infinities as None (JSON has no word for them). The one sanitiser: the history,
    the report's figures and the command line's JSON all go through it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # a NumPy array or scalar
        return json_ready(value.tolist())
    return value
