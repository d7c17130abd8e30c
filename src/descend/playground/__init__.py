"""The playground: train descend on your own table in the browser, and watch it learn.

``descend playground DATA --target COL`` (or ``descend.playground.serve``)
serves a page on 127.0.0.1 where you pick the features, the model, the
optimizer, the learning rate, the batch size, the epochs and alpha, press
Train and watch the loss curve and the descent path as the server trains. It
needs the ``playground`` extras (starlette, uvicorn, plotly).
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError


def serve(data: str, target: str, **options: Any) -> None:
    """Serve the playground on the table ``data`` (see ``descend.playground.app.serve``)."""
    try:
        from .app import serve as run
    except ImportError as error:
        raise InputError(
            f"The playground needs starlette, uvicorn and plotly ({error.name} is missing): "
            "pip install 'descend[playground]' (or 'descend[cli]')."
        ) from None
    run(data, target, **options)


__all__ = ["serve"]
