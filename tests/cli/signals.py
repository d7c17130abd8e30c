"""Signals sent to the real command line at chosen moments, and the checks of what it left.

A run is synchronised on what it printed, not on sleeps: each stream is read line by line
(``python -X importtime`` adds a line to stderr as each module finishes importing), and the
signal goes out as soon as the awaited line shows up.

``python -m tests.cli.signals --kills 200`` (``make kill-loop``) is the long SIGKILL loop; the
suite runs a short one (tests/cli/test_interrupted.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import descend

SRC = os.path.dirname(os.path.dirname(descend.__file__))
ENV = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "100"}
TARGETS = ("m.descend", "p.png", "h.json")
"""What ``train_args`` asks for: the model, the loss curve, the history."""


def training_table(path: Path) -> Path:
    """600 rows, 4 features and a slightly nonlinear target: an MLP learns it in a few seconds."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + np.sin(X[:, 0]) + 0.1 * rng.normal(size=600)
    lines = ["a,b,c,d,y"] + [",".join(repr(float(v)) for v in [*row, t]) for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def train_args(data: Path, seed: int = 0, epochs: int = 30) -> list[str]:
    return [
        "train", str(data), "--target", "y", "--model", "mlp", "--epochs", str(epochs),
        "--seed", str(seed), "--log-every", "1", "--save", "m.descend", "--plot", "p.png",
        "--history", "h.json",
    ]  # fmt: skip


@dataclass
class Run:
    """What one run printed and how it ended."""

    returncode: int
    out: str
    err: str  # without the -X importtime lines
    seen: bool  # the awaited line showed up before the run ended
    imports: list[str] = field(default_factory=list)
    stopped_at: float = 0.0  # seconds from the start to the "Stopped:" line, if any
    duration: float = 0.0

    @property
    def lines(self) -> list[str]:
        return self.err.splitlines()


def _matches(line: str, stream: str, wanted: tuple[str, str]) -> bool:
    where, text = wanted
    if where != stream:
        return False
    if where == "import":  # 'import time:  self | cumulative |   name'
        return line.startswith("import time:") and line.split("|")[-1].strip() == text
    return line.startswith(text)


def run_until(
    args: list[str], wanted: tuple[str, str], send: int, cwd: Path, delay: float = 0.0
) -> Run:
    """``python -X importtime -m descend ARGS``; once ``wanted`` shows up (``('out', prefix)``
    for a line of stdout, ``('import', module)`` for a module imported), wait ``delay``
    seconds and send signal ``send`` (if the run is still going)."""
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "descend", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=ENV,
    )  # fmt: skip
    seen = threading.Event()
    streams: dict[str, list[str]] = {"out": [], "import": []}
    began, stopped = time.perf_counter(), [0.0]

    def pump(pipe: object, stream: str) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            streams[stream].append(line)
            if stream == "out" and line.startswith("Stopped:"):
                stopped[0] = time.perf_counter() - began
            if _matches(line, stream, wanted):
                seen.set()

    readers = [
        threading.Thread(target=pump, args=(process.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, "import"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    while not seen.wait(0.01) and process.poll() is None:
        pass
    if seen.is_set():
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(send)
    process.wait(timeout=300)
    for reader in readers:
        reader.join(timeout=60)
    err = [line for line in streams["import"] if not line.startswith("import time:")]
    imports = [line for line in streams["import"] if line.startswith("import time:")]
    return Run(
        process.returncode, "".join(streams["out"]), "".join(err), seen.is_set(), imports,
        stopped[0], time.perf_counter() - began,
    )  # fmt: skip


def epoch_lines(out: str) -> int:
    return sum(1 for line in out.splitlines() if line.startswith("Epoch "))


def temporary_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(".descend-"))


def complete(folder: Path, name: str) -> bool:
    """Whether an output file is whole: a model that loads (its digest checked), a PNG that
    ends with its IEND chunk, a history that parses."""
    path = folder / name
    try:
        if name.endswith(".descend"):
            descend.load(path)
        elif name.endswith(".png"):
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
        else:
            assert json.loads(path.read_text())["loss"]
    except Exception:
        return False
    return True


@dataclass
class Tally:
    kills: int = 0
    in_writing: int = 0  # kills sent after the run's "Stopped:" line (while it writes)
    temporary_left: int = 0  # temporary files found after a kill
    most_at_once: int = 0
    states: dict[str, int] = field(default_factory=dict)  # 'old' / 'new' / 'absent' counts
    broken: list[str] = field(default_factory=list)


def kill_loop(folder: Path, kills: int, seed: int = 0, epochs: int = 30) -> Tally:
    """Kill ``descend train --save --plot --history`` with SIGKILL ``kills`` times, at moments
    spread over the whole run (every other one after its "Stopped:" line, while it writes),
    and check after each kill that every target is its old self (an earlier complete run's
    bytes), complete, or absent; then one more run must leave no temporary file at all.

    Half the runs write into ``out/``, where an earlier run's files are (old or complete);
    the other half into ``fresh/``, where no target exists when the run starts (absent or
    complete; a kill before the "Stopped:" line must leave every target absent). A complete run
    in each folder at the end must remove every temporary file the kills left."""
    data = training_table(folder / "data.csv")
    work, fresh = folder / "out", folder / "fresh"
    work.mkdir()
    fresh.mkdir()
    rng = random.Random(seed)
    first = run_until(train_args(data, 1, epochs), ("out", "never"), signal.SIGKILL, work)
    assert first.returncode == 0, first.err
    whole, writes = first.duration, first.duration - first.stopped_at
    old = {name: (work / name).read_bytes() for name in TARGETS}
    tally = Tally()
    for k in range(2 * kills):  # until ``kills`` runs were killed (some end before their kill)
        if tally.kills == kills:
            break
        writing, empty = k % 2 == 1, k % 4 >= 2
        wanted = ("out", "Stopped:") if writing else ("import", "numpy.version")
        delay = rng.uniform(0, writes if writing else first.stopped_at if empty else whole)
        where = fresh if empty else work
        run = run_until(train_args(data, k % 3, epochs), wanted, signal.SIGKILL, where, delay)
        killed = run.returncode == -signal.SIGKILL
        tally.kills += killed
        tally.in_writing += writing and killed
        _check_after_kill(tally, where, old if not empty else {}, f"kill {k}")
        before = killed and "Stopped:" not in run.out  # killed before it began to write
        if empty and before and any((fresh / name).exists() for name in TARGETS):
            tally.broken.append(f"kill {k}: killed before writing, yet a target exists")
        for name in TARGETS if empty else ():  # absent again for the next run
            (fresh / name).unlink(missing_ok=True)
    for where in (work, fresh):
        last = run_until(train_args(data, 0, epochs), ("out", "never"), signal.SIGKILL, where)
        assert last.returncode == 0, last.err
        if temporary_files(where):
            tally.broken.append(f"the run after the kills left {temporary_files(where)}")
    return tally


def _check_after_kill(tally: Tally, where: Path, old: dict[str, bytes], kill: str) -> None:
    """Count the temporary files a kill left and the state of each target in ``where``."""
    left = temporary_files(where)
    tally.temporary_left += len(left)
    tally.most_at_once = max(tally.most_at_once, len(left))
    for name in TARGETS:
        path = where / name
        state = "absent" if not path.exists() else "new"
        if state == "new" and path.read_bytes() == old.get(name):
            state = "old"
        if state == "new" and not complete(where, name):
            tally.broken.append(f"{kill}: {name} is neither old nor complete")
        tally.states[state] = tally.states.get(state, 0) + 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=kill_loop.__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--folder", default=None, help="default: a new temporary folder")
    options = parser.parse_args()
    import tempfile

    folder = Path(options.folder or tempfile.mkdtemp(prefix="descend-kills-"))
    folder.mkdir(parents=True, exist_ok=True)
    begun = time.perf_counter()
    result = kill_loop(folder, options.kills)
    print(
        f"{result.kills} SIGKILLs ({result.in_writing} while writing) in "
        f"{time.perf_counter() - begun:.0f} s; targets after a kill: {result.states}; "
        f"temporary files left by kills: {result.temporary_left} (at most "
        f"{result.most_at_once} at once), none after the next complete run"
        if not result.broken
        else "FAILED: " + "; ".join(result.broken)
    )
    sys.exit(1 if result.broken else 0)
