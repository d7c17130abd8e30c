"""descend.interrupts: one policy for Ctrl-C, driven here by real SIGINTs sent to this process.

``signal.raise_signal`` runs the handler at the next bytecode, so each SIGINT lands exactly
where a test sends it. Training and sweeps under Ctrl-C: tests/learn/test_interrupted.py.
"""

import ast
import signal
import sys
import threading
from pathlib import Path

import pytest

import descend
from descend import interrupts


def ctrl_c():
    signal.raise_signal(signal.SIGINT)


def test_entry_swaps_the_handler_and_puts_it_back():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupts.entry():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        with interrupts.entry():  # nested: the outermost owns it
            pass
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_before_anything_is_kept_ctrl_c_raises_and_a_second_one_only_asks():
    with interrupts.entry():
        with pytest.raises(KeyboardInterrupt):
            ctrl_c()
        ctrl_c()  # while the first one unwinds: no second KeyboardInterrupt
        assert interrupts.requested()
    assert not interrupts.requested()  # forgotten when the entry point returns


def test_after_keep_ctrl_c_asks_to_stop_and_raising_blocks_raise_again():
    with interrupts.entry():
        interrupts.keep()
        ctrl_c()
        assert interrupts.requested()
        with pytest.raises(KeyboardInterrupt), interrupts.raising():  # asked before: at once
            pass
    with interrupts.entry():
        interrupts.keep()
        with pytest.raises(KeyboardInterrupt), interrupts.raising():
            ctrl_c()
        ctrl_c()  # keeping again after the block
        assert interrupts.requested()


def test_keep_inside_a_raising_block_leaves_no_instant_of_raising_after_it():
    with interrupts.entry():
        with interrupts.raising():
            interrupts.keep()
            ctrl_c()  # asks, does not raise
        ctrl_c()
        assert interrupts.requested()


def test_a_deferred_block_runs_to_its_end():
    done = []
    with interrupts.entry(), interrupts.raising():
        with interrupts.deferred():
            ctrl_c()
            done.append("rest of the block")
        assert done and interrupts.requested()


def test_without_an_entry_point_nothing_changes():
    interrupts.keep()
    interrupts.request()
    assert not interrupts.requested()
    with pytest.raises(KeyboardInterrupt):
        ctrl_c()


def test_a_handler_someone_else_installed_is_left_alone():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda *_: calls.append(1))
    try:
        with interrupts.entry():
            interrupts.keep()
            ctrl_c()
            assert calls == [1] and not interrupts.requested()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_other_threads_keep_no_state():
    seen = []

    def worker():
        with interrupts.entry():
            interrupts.request()
            seen.append(interrupts.requested())

    with interrupts.entry():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert seen == [False] and not interrupts.requested()


def raised(kind):
    try:
        raise kind("raised")
    except kind:
        return sys.exc_info()


def test_an_interrupted_import_prints_one_line_not_a_traceback(capsys, monkeypatch):
    hook = descend._interrupted_while_starting
    assert sys.excepthook is not hook  # descend has started: Python's own hook is back
    monkeypatch.setattr(sys, "excepthook", hook)
    hook(*raised(KeyboardInterrupt))
    assert capsys.readouterr().err == "descend: interrupted while starting; nothing was written.\n"
    assert sys.excepthook is descend._previous_hook  # once: a session's next error is its own
    hook(*raised(ValueError))  # any other error: Python's traceback, as before
    assert "ValueError: raised" in capsys.readouterr().err


def test_an_error_a_swallowed_ctrl_c_caused_while_starting_is_one_line_too(capsys, monkeypatch):
    """NumPy turns a Ctrl-C during its C extension's import into an ImportError; the hook
    knows a Ctrl-C came (descend's own SIGINT handler while it starts noted it)."""
    monkeypatch.setattr(descend, "_ctrl_c", [signal.SIGINT])
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)  # interactive: no exit
    descend._interrupted_while_starting(*raised(ImportError))
    assert capsys.readouterr().err == "descend: interrupted while starting; nothing was written.\n"


def test_the_hook_comes_before_every_import_but_sys():
    """Ctrl-C while Python imports descend's first module (descend.interrupts, NumPy) is one
    line only if the hook is in place before: nothing but ``sys`` may be imported above it."""
    tree = ast.parse(Path(descend.__file__).read_text())
    before = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and ast.unparse(statement) == (
            "_sys.excepthook = _interrupted_while_starting"
        ):
            break
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            before.append(ast.unparse(statement))
    else:
        raise AssertionError("descend/__init__.py never installs the hook")
    assert before == ["import sys as _sys"]


def test_a_request_is_cut_short_only_once_someone_heeds_it():
    with interrupts.entry():
        interrupts.keep()
        ctrl_c()  # while the files are written, say: nothing stops
        assert interrupts.requested(heed=False) and not interrupts.cut_short()
        assert interrupts.requested()  # a step that skips itself because of it
        assert interrupts.cut_short()
    with interrupts.entry():
        interrupts.keep()
        ctrl_c()
        with pytest.raises(KeyboardInterrupt), interrupts.raising():  # raises at once: heeded
            pass
        assert interrupts.cut_short()
    with interrupts.entry():
        interrupts.request()  # a KeyboardInterrupt caught: what it interrupted is cut short
        assert interrupts.cut_short()
    assert not interrupts.cut_short()  # forgotten when the entry point returns
