"""``descend playground DATA --target COL``: train on your own table in the browser."""

from __future__ import annotations

import argparse
from typing import Any

from .. import interrupts
from ..playground import serve
from .flags import COUNT, POSITIVE


def add(commands: Any) -> None:
    """``descend playground DATA --target COL [--port N] [--no-browser] [--idle-timeout S]``."""
    parser = commands.add_parser(
        "playground",
        help="a page on 127.0.0.1 to train on your own table and watch it learn",
        description="Serve a page on 127.0.0.1 where you pick the features, model, optimizer, "
        "learning rate, batch size, epochs and alpha, press Train and watch the loss curve and "
        "the descent path as descend trains; the diagnosis appears when it stops. The settings "
        "are in the page's URL, so a link reproduces the run. The server reads only DATA.",
    )
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    parser.add_argument(
        "--port", type=COUNT, default=0, metavar="N", help="the port (default: a free one)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--idle-timeout", type=POSITIVE, default=1800.0, metavar="S",
        help="stop after S seconds without a request or a run (default: %(default)g)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or the idle timeout."""
    serve(
        args.data, args.target, port=args.port, open_browser=not args.no_browser,
        idle_timeout=args.idle_timeout, say=lambda line: print(line, flush=True),
    )  # fmt: skip
    interrupts.handled()  # Ctrl-C is how a person stops the server: exit 0
    return 0
