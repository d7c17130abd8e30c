"""``python -m descend ...`` runs the command line exactly like ``descend ...``.

``main`` is also the ``descend`` command's entry point. It holds Ctrl-C
(``descend.interrupts``) from before the command line is imported until the
process ends: an interrupt while it is imported is one line and exit status 130,
and one that comes once the command has returned is ignored, so that none can
print a traceback while the interpreter shuts down. ``descend/__init__.py`` keeps
an interrupt during the package's own import to one line, with a hook that this
module puts back first thing, for the instants before ``main`` holds Ctrl-C.
"""

import sys

from . import _interrupted_while_starting

sys.excepthook = _interrupted_while_starting  # the command line's process: until it ends

import signal  # noqa: E402

from . import interrupts  # noqa: E402


def main() -> int:
    """The ``descend`` command: ``sys.exit(main())``."""
    with interrupts.entry():
        try:
            from .cli.main import main as command_line

            status = command_line()
        except KeyboardInterrupt:
            print("descend: interrupted; nothing was written.", file=sys.stderr)
            status = interrupts.INTERRUPTED
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process is ending
    return status


if __name__ == "__main__":
    sys.exit(main())
