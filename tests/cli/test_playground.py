"""Tests for descend.cli.playground: ``descend playground`` hands its flags to the library's
server as parameters, and refuses a bad flag in one line. (The server and the page
themselves: tests/playground/.)"""

from __future__ import annotations

from descend.cli import playground
from descend.cli.main import main


def test_the_flags_become_the_servers_parameters(monkeypatch, capsys):
    served = []
    monkeypatch.setattr(playground, "serve", lambda *a, **k: served.append((a, k)))
    status = main(["playground", "t.csv", "--target", "y", "--port", "8123", "--no-browser",
                   "--idle-timeout", "60"])  # fmt: skip
    assert status == 0
    ((args, options),) = served
    assert args == ("t.csv", "y")
    say = options.pop("say")
    assert options == {"port": 8123, "open_browser": False, "idle_timeout": 60.0}
    say("Serving on http://127.0.0.1:8123/")
    assert capsys.readouterr().out == "Serving on http://127.0.0.1:8123/\n"


def test_the_defaults_are_a_free_port_a_browser_and_half_an_hour(monkeypatch):
    served = []
    monkeypatch.setattr(playground, "serve", lambda *a, **k: served.append(k))
    assert main(["playground", "t.csv", "--target", "y"]) == 0
    assert (served[0]["port"], served[0]["open_browser"], served[0]["idle_timeout"]) == (
        0,
        True,
        1800.0,
    )


def test_a_bad_timeout_is_one_line_and_serves_nothing(monkeypatch, capsys):
    monkeypatch.setattr(playground, "serve", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert main(["playground", "t.csv", "--target", "y", "--idle-timeout", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--idle-timeout: must be a number > 0; got '0'" in err
