"""``python -m descend ...`` runs the command line exactly like ``descend ...``.

``main`` is also the ``descend`` command's entry point: it imports the command line
itself, so that a Ctrl-C while Python is still importing it is one line and exit
status 130 (``descend/__init__.py`` covers the package's own import), and ignores
Ctrl-C once the command has returned, while the interpreter shuts down.
"""

import signal
import sys


def main() -> int:
    """The ``descend`` command: ``sys.exit(main())``."""
    try:
        from .cli.main import main as command_line
    except KeyboardInterrupt:
        print("descend: interrupted while starting; nothing was written.", file=sys.stderr)
        return 130
    status = command_line()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process is ending: no late traceback
    return status


if __name__ == "__main__":
    sys.exit(main())
