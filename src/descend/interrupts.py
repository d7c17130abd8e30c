"""Ctrl-C: one policy for every command and entry point.

Until something exists that an interrupt would throw away, Ctrl-C is what Python makes it: a
KeyboardInterrupt that ends the work, and nothing is written (the command line says so on one
line and exits 130). From the moment something exists (a training run has finished an epoch,
or a command has begun to publish its files), Ctrl-C only asks to stop: the training loop
ends at once and keeps the weights of its last finished epoch, work that would only add
information is skipped, the results are kept and written, and the entry point reports it (the
run is marked ``interrupted``; the command line exits 130 after one line saying so).

Signals reach the main thread only; this module acts there and nowhere else:

- ``entry()`` wraps each entry point (every command; ``fit``, ``sweep``, the estimators'
  ``fit`` and ``sweep``). The outermost one swaps Python's SIGINT handler for this module's
  own and puts Python's back (unless it was replaced meanwhile); a handler someone else
  installed (or SIG_IGN) is left alone.
- ``keep()``: from now on, until the outermost entry point returns, Ctrl-C asks to stop.
- ``deferred()``: a block that finishes even when Ctrl-C comes (it asks to stop meanwhile).
- ``raising()``: a block in which Ctrl-C raises (the epochs: an epoch cut short is dropped,
  not waited for); it raises at once if a stop was already asked. Its ``keep()`` at the end
  lasts beyond it, so that no instant is left between raising and asking.
- ``request()`` and ``requested()``: ask to stop (a KeyboardInterrupt that was caught), and
  whether anyone did; ``handled()``: a server that stops on Ctrl-C by design has stopped.
- ``cut_short()``: whether a request was heeded: work stopped early or was skipped (a
  KeyboardInterrupt caught, a ``raising()`` block that raised at once, ``requested()``
  answered True to code that acts on it). A Ctrl-C that came once the work was done (while
  the files were written, say) cut nothing short, and the command line says so.

The first Ctrl-C that raises also switches to asking, so a second one cannot break the clean-up
of the first. ``import descend`` itself is covered by the package's first lines
(``descend/__init__.py``): an interrupt that ends it prints one line instead of a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

INTERRUPTED = 130
"""The command line's exit status after Ctrl-C (128 + SIGINT), as shells report it."""


class _State:
    depth = 0  # entry() blocks open in the main thread
    keeping = False  # Ctrl-C asks to stop instead of raising
    asked = False  # a Ctrl-C (or a caught KeyboardInterrupt) asked to stop
    ours = False  # the outermost entry() installed _handler
    heeded = False  # a request stopped or skipped some work


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    first = not _state.keeping
    _state.keeping = _state.asked = True
    if first:
        raise KeyboardInterrupt


def _active() -> bool:
    return _state.depth > 0 and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def entry() -> Iterator[None]:
    """An entry point: the outermost one owns SIGINT while it runs and forgets every request
    when it returns."""
    main = threading.current_thread() is threading.main_thread()
    outermost = main and _state.depth == 0
    if outermost:
        _state.keeping = _state.asked = _state.heeded = False
        _state.ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        if _state.ours:
            signal.signal(signal.SIGINT, _handler)
    _state.depth += main
    try:
        yield
    finally:
        _state.depth -= main
        if outermost:
            if _state.ours and signal.getsignal(signal.SIGINT) is _handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            _state.keeping = _state.asked = _state.ours = _state.heeded = False


def keep() -> None:
    """Something worth keeping exists: from now on Ctrl-C asks to stop."""
    if _active():
        _state.keeping = True


def request() -> None:
    """Ask to stop (a KeyboardInterrupt was caught: it cut work short); later Ctrl-Cs ask too."""
    if _active():
        _state.keeping = _state.asked = _state.heeded = True


def handled() -> None:
    """The work stops on Ctrl-C by design (a server) and has done so: the request is met,
    and the command ends as it would have anyway."""
    if _active():
        _state.asked = False


def requested(heed: bool = True) -> bool:
    """Whether a Ctrl-C asked to stop since the outermost entry point began. The caller heeds
    a True answer (stops or skips work: ``cut_short()``), unless it only reports (``heed=False``)."""
    asked = _active() and _state.asked
    _state.heeded = _state.heeded or (asked and heed)
    return asked


def cut_short() -> bool:
    """Whether a Ctrl-C stopped or skipped some work since the outermost entry point began."""
    return _active() and _state.heeded


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A block that runs to its end even when Ctrl-C comes; ``requested()`` tells afterwards."""
    was = _state.keeping
    keep()
    try:
        yield
    finally:
        if _active():
            _state.keeping = was or _state.asked


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """A block in which Ctrl-C raises KeyboardInterrupt (until it calls ``keep()``, which
    lasts beyond it: no instant between the two modes); if a stop was asked before, at once."""
    if not _active():
        yield
        return
    if requested():
        raise KeyboardInterrupt
    was, _state.keeping = _state.keeping, False
    try:
        yield
    finally:
        _state.keeping = _state.keeping or was or _state.asked
