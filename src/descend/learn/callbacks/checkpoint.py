"""Checkpoint: the whole state of a run in one file, written atomically; exact resume from it.

Every ``every`` epochs, after the last one and on Ctrl-C, ``Checkpoint(path)``
writes the weights (and gradients), the optimizer's state and rates, every
callback's state (the schedule's, the best weights, the counters), the random
generator's state at the start of the epoch, the data cursor (minibatches done
in this epoch and the sums of their losses) and the History, with the decision to
stop when a callback took it (converged, early stopping, diverged). A run started
with ``Checkpoint(resume=path)`` continues from there, so an interrupted-then-resumed
run gives the same bits as one never interrupted, and resuming a run that had
stopped by itself trains no further: it ends as that run ended.

Ctrl-C while a checkpoint is kept stops the run at the next clean point (after
the current minibatch step, or the current epoch with full batches), writes
the checkpoint there and ends the run as ``interrupted``; a second Ctrl-C stops
at once. The file is a NumPy ``.npz`` archive of arrays and one JSON document,
read without pickle; it is written beside ``path`` and renamed into place
(``files.atomic_write``), so a killed process leaves the last good checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import zipfile
from typing import Any

from ..._validation import Constraints, at_least, check, register
from ...data.archive import ArchiveError, describe, read_npz
from ...data.tables import _show
from ...engine.backend import xp
from ...errors import InputError
from ...files import atomic_write
from ..history import PER_EPOCH, History
from .base import Callback, Cursor, Run

FORMAT, VERSION = "descend-checkpoint", 1
MATCHED = ("loss", "optimizer", "batch_size", "shuffle", "seed", "rows")
"""Settings a resumed run must share with the run that wrote its checkpoint."""


class Checkpoint(Callback):
    """Write the run's state to ``path`` every ``every`` epochs, after the last one and on
    Ctrl-C; with ``resume``, first continue from the checkpoint at that path."""

    _constraints: Constraints = {"every": [at_least(1)]}

    def __init__(
        self, path: str | os.PathLike[str] | None = None, every: int = 1, resume: Any = None
    ) -> None:
        check("Checkpoint", self._constraints, {"every": every})
        self._handler: Any = None
        if path is None and resume is None:
            raise InputError(
                "Checkpoint needs a path to write to or a checkpoint to resume from; pass "
                "path='run.ckpt' (or resume='run.ckpt')."
            )
        self.path = path
        self.every = every
        self.resume = resume

    # ----- the hooks ----------------------------------------------------------------
    def on_train_begin(self, run: Run) -> None:
        self.pending_ = False
        self.epoch_rng_ = _rng_state(run)
        if self.resume is not None:
            restore(run, read(self.resume), self)
        self._handler = None
        if self.path is not None and threading.current_thread() is threading.main_thread():
            self._handler = signal.signal(signal.SIGINT, self._interrupt)

    def _interrupt(self, *_: Any) -> None:
        """Ctrl-C: stop at the next clean point (nothing printed here: a signal may arrive
        while the run prints); a second Ctrl-C stops at once."""
        if self.pending_:
            raise KeyboardInterrupt
        self.pending_ = True

    def on_epoch_begin(self, run: Run) -> None:
        self.epoch_rng_ = _rng_state(run)

    def on_batch_end(self, run: Run) -> None:
        if self.pending_:
            self._write(run, run.epoch, run.cursor)
            self._stop(run, f"epoch {run.epoch} after minibatch {run.cursor.batch}")

    def on_epoch_end(self, run: Run) -> None:
        epochs = run.history.settings.get("epochs")
        last = run.stopping or run.epoch + 1 == epochs
        if self.path is not None and (self.pending_ or last or (run.epoch + 1) % self.every == 0):
            self.epoch_rng_ = _rng_state(run)  # the next epoch starts from here
            self._write(run, run.epoch + 1, Cursor())
        if self.pending_:
            self._stop(run, f"the end of epoch {run.epoch}")

    def _stop(self, run: Run, where: str) -> None:
        run.log(f"Interrupted: {os.fspath(self.path or '')!r} keeps the run at {where}; "
                "resume=that path continues it.")  # fmt: skip
        raise KeyboardInterrupt

    def on_train_end(self, run: Run) -> None:
        self.close()

    def close(self) -> None:
        """Give Ctrl-C back to whoever had it (also when training ended in an error)."""
        if self._handler is not None:
            signal.signal(signal.SIGINT, self._handler)
            self._handler = None

    def state_dict(self) -> dict[str, Any]:
        return {}  # its own state is what it writes

    def _write(self, run: Run, epoch: int, cursor: Cursor) -> None:
        if self.path is not None:
            write(self.path, snapshot(run, epoch, cursor, self.epoch_rng_))


register(Checkpoint, Checkpoint._constraints)


def _rng_state(run: Run) -> Any:
    return None if run.rng is None else run.rng.bit_generator.state


def _stateful(run: Run) -> list[Callback]:
    """The callbacks with a state to keep (a progress bar has none)."""
    return [cb for cb in run.callbacks if not isinstance(cb, Checkpoint) and cb.state_dict()]


# ----- the state of a run ---------------------------------------------------------------
def snapshot(run: Run, epoch: int, cursor: Cursor, rng: Any) -> dict[str, Any]:
    """Everything a resumed run needs, as plain data and arrays."""
    optimizer = run.optimizer
    return {
        "format": FORMAT,
        "version": VERSION,
        "epoch": epoch,
        "cursor": vars(cursor).copy(),
        "rng": rng,
        "weights": [p.data for p in run.params],
        "grads": [p.grad for p in run.params],
        "epoch_start": list(run.epoch_start),
        "optimizer": optimizer.state_dict(),
        "lr": optimizer.lr,
        "base_lr": optimizer.base_lr,
        "callbacks": [[type(cb).__name__, cb.state_dict()] for cb in _stateful(run)],
        "history": run.history.to_dict(),
    }


def restore(run: Run, state: dict[str, Any], owner: Checkpoint) -> None:
    """Put a checked checkpoint's state into ``run`` (weights in place)."""
    _check_fits(run, state)
    for p, values, grad in zip(run.params, state["weights"], state["grads"]):
        p.data[...] = values
        p.grad = None if grad is None else xp.array(grad, dtype=p.data.dtype)
    run.epoch_start = [xp.array(a, dtype=p.dtype) for a, p in zip(state["epoch_start"], run.params)]
    optimizer = run.optimizer
    optimizer.load_state_dict(state["optimizer"])
    optimizer.set_lr(state["lr"], base=state["base_lr"])
    for cb, (_, saved) in zip(_stateful(run), state["callbacks"]):
        cb.load_state_dict(saved)
    saved_history = History.from_dict(state["history"])
    saved_history.settings = run.history.settings  # this run's (epochs may be more)
    vars(run.history).update(vars(saved_history))
    if run.rng is not None and state["rng"] is not None:
        run.rng.bit_generator.state = state["rng"]
    owner.epoch_rng_ = state["rng"]
    run.epoch = state["epoch"]
    run.cursor = Cursor(**state["cursor"])


def _check_fits(run: Run, state: dict[str, Any]) -> None:
    """Refuse a checkpoint of another model, data or set of callbacks."""
    shapes = [tuple(p.shape) for p in run.params]
    saved = [tuple(xp.shape(w)) for w in state["weights"]]
    if saved != shapes or len(state["grads"]) != len(shapes):
        raise InputError(
            f"The checkpoint holds weights of shapes {saved} but the model has {shapes}; resume "
            "with the model (and data columns) that wrote it."
        )
    before = state["history"].get("settings", {})
    for key in MATCHED:
        if key in before and before[key] != run.history.settings.get(key):
            raise InputError(
                f"The checkpoint was written by a run with {key}={before[key]!r}, but this run "
                f"has {key}={run.history.settings.get(key)!r}; resume with the same settings."
            )
    names = [name for name, _ in state["callbacks"]]
    ours = [type(cb).__name__ for cb in _stateful(run)]
    if names != ours:
        raise InputError(
            f"The checkpoint was written by a run with the callbacks {names}, but this run has "
            f"{ours}; resume with the same callbacks and settings (validation, tol, schedule)."
        )


# ----- the file -------------------------------------------------------------------------
def write(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a checkpoint atomically: arrays in the archive, the rest as one JSON document."""
    arrays: dict[str, Any] = {}
    text = json.dumps(_encode(state, arrays), allow_nan=True)
    arrays["meta"] = xp.frombuffer(text.encode("utf-8"), dtype=xp.uint8)
    with atomic_write(path, "wb") as f:
        xp.savez(f, **arrays)


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checkpoint's state, checked completely; InputError for anything else."""
    shown = os.fspath(path)
    if not os.path.isfile(shown) or not zipfile.is_zipfile(shown):
        what = "No such checkpoint" if not os.path.exists(shown) else "Not a descend checkpoint"
        raise InputError(f"{what}: {shown!r}. Give a file that a run with checkpoint=PATH wrote.")
    try:  # the reader of model files: the zip's directory and npy headers checked first
        arrays = read_npz(shown, _accepts, _dtypes)
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        state = _decode(meta, arrays)
        _check_layout(state)
    except ArchiveError as error:
        raise InputError(
            f"{shown!r} {error}; it is not a checkpoint descend wrote. Resume from another one "
            "or start again."
        ) from None
    except (InputError, MemoryError):  # out of memory: the caller names the step
        raise
    except Exception as error:  # untrusted input: whatever is wrong with it, it is not readable
        raise InputError(
            f"{shown!r} is not a readable descend checkpoint ({describe(error)}); "
            "resume from another one or start again."
        ) from None
    return state


_DTYPES = ("|b1", "|i1", "|u1") + tuple(
    order + kind + str(size) for kind in "fiu" for size in (2, 4, 8) for order in "<>"
)
"""The dtypes of a checkpoint's arrays: numbers and bools (its metadata: bytes)."""


def _accepts(name: str) -> bool:
    return name == "meta" or (name[:1] == "a" and name[1:].isdigit())


def _dtypes(name: str) -> tuple[str, ...]:
    return ("|u1",) if name == "meta" else _DTYPES


def _encode(value: Any, arrays: dict[str, Any]) -> Any:
    """JSON-able data: arrays become {"__array__": name} (stored beside), tuples tagged."""
    if isinstance(value, dict):
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, xp.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"__array__": name}
    return value.item() if isinstance(value, xp.generic) else value


def _decode(value: Any, arrays: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__array__"}:
        array = arrays[value["__array__"]]
        if array.dtype.kind not in "fiub":
            raise InputError(f"The checkpoint holds an array of {array.dtype}; it is damaged.")
        return array
    if set(value) == {"__tuple__"}:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    return {k: _decode(v, arrays) for k, v in value.items()}


_LAYOUT = {
    "format": str, "version": int, "epoch": int, "cursor": dict, "weights": list,
    "grads": list, "epoch_start": list, "optimizer": dict, "lr": float, "base_lr": float,
    "callbacks": list, "history": dict,
}  # fmt: skip


def _check_layout(state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError("This file is not a descend checkpoint (no 'descend-checkpoint' format).")
    if state.get("version") != VERSION:
        raise InputError(
            f"The checkpoint has version {_show(state.get('version'))}; this descend reads "
            f"{VERSION}."
        )
    for key, kind in _LAYOUT.items():
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InputError(f"The checkpoint's {key!r} is missing or not a {kind.__name__}.")
    cursor = state["cursor"]
    if set(cursor) != {"batch", "total", "seen", "norm"} or state["epoch"] < 0:
        raise InputError("The checkpoint's data cursor is damaged; resume from another one.")
    if cursor["batch"] < 0 or not all(isinstance(v, (int, float)) for v in cursor.values()):
        raise InputError("The checkpoint's data cursor is damaged; resume from another one.")
    history = state["history"]
    for name in PER_EPOCH:
        values = history.get(name, [])
        if not isinstance(values, list) or not all(
            v is None or isinstance(v, (int, float)) for v in values
        ):
            raise InputError(f"The checkpoint's history {name!r} is damaged.")
    if not all(isinstance(c, list) and len(c) == 2 for c in state["callbacks"]):
        raise InputError("The checkpoint's callback states are damaged.")
