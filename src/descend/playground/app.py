"""The playground's web server: a Starlette app on 127.0.0.1, served by uvicorn.

Routes (nothing else is served; any other path is a 404 that says so):

========================  =================================================
``GET /``                  the page; its URL parameters are the form's
``GET /plotly.js``         plotly.js, from the plotly package (no CDN)
``POST /api/train``        queue a run of the form's settings -> 202 {run}
``GET /api/runs/ID``       the run: state, settings, losses, diagnosis
                           (``?wait=1``: once it has finished)
``GET /api/runs/ID/events`` server-sent events: surface, epochs, done
``GET /api/runs/ID/explain`` explain's four steps for its latest weights
========================  =================================================

The server reads only the data file it was started with (once, at start),
answers only requests whose Host is the address and port it listens on and
whose Origin, when the browser sends one, is its own page's (so another site
cannot make a visitor's browser train or read runs here), reads at most
MAX_BODY bytes of a Train request, checks every parameter with the form's
checks (400 with the message), and stops on Ctrl-C or after ``idle_timeout``
seconds without a request or a run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import webbrowser
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._validation import Boolean, Interval, positive, validate_params
from ..errors import InputError
from ..understand import figures
from .page import page_html
from .runs import Trainer, TrainingRun
from .settings import defaults, read_settings

MAX_BODY = 8192
"""Bytes a Train request's body may hold (the form is a few hundred)."""
WAIT_LIMIT = 600.0
"""Seconds ``GET /api/runs/ID?wait=1`` waits for a run at most."""
POLL = 0.05
"""Seconds between two looks at a run, for the event stream."""


def create_app(table: Any, target: str, task: str, data_name: str, port: int) -> Any:
    """The Starlette app for ``table`` (already read and checked); ``app.state.trainer``."""
    api = _Api(table, target, task, data_name)
    app = Starlette(
        routes=[
            Route("/", api.page),
            Route("/plotly.js", api.plotly),
            Route("/api/train", api.train, methods=["POST"]),
            Route("/api/runs/{run}", api.result),
            Route("/api/runs/{run}/events", api.events),
            Route("/api/runs/{run}/explain", api.explain),
        ],
        middleware=[
            Middleware(_Guard, port=port),
            Middleware(_Touch, trainer=api.trainer),
        ],
        exception_handlers={InputError: api.bad_input, HTTPException: api.http_error},
    )
    app.state.trainer = api.trainer
    return app


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _only(request: Request, allowed: tuple[str, ...] = ()) -> None:
    """Refuse a query parameter that the address does not take."""
    extra = sorted({k for k, _ in request.query_params.multi_items() if k not in allowed})
    if extra:
        raise InputError(
            f"This address takes no parameter {extra[0]!r}"
            + (f"; only {', '.join(allowed)}." if allowed else ".")
        )


async def _form(request: Request) -> list[tuple[str, str]]:
    """The (name, value) pairs of a Train request: its urlencoded body and its query."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("", "application/x-www-form-urlencoded"):
        raise InputError(f"Train takes the form's fields, urlencoded; got {kind!r}.")
    body = await _body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InputError("Train takes the form's fields, urlencoded as name=value&...") from None
    return pairs + request.query_params.multi_items()


async def _body(request: Request) -> bytes:
    """The body of a request, refused (without reading on) once it is over MAX_BODY bytes:
    by its Content-Length, or, sent in chunks, by what has come so far."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _BodyTooLarge(f"declares {int(declared):,}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _BodyTooLarge(f"sent more ({len(body):,} so far)")
    return bytes(body)


class _BodyTooLarge(InputError):
    """A Train request's body over MAX_BODY bytes; the rest of it is left unread."""

    def __init__(self, got: str) -> None:
        super().__init__(
            f"A Train request holds the form's fields, at most {MAX_BODY:,} bytes; this one {got}."
        )


class _Api:
    """The routes' handlers, over one table and its Trainer."""

    def __init__(self, table: Any, target: str, task: str, data_name: str) -> None:
        self.trainer = Trainer(table, target, task)
        self.columns = [str(c) for c in table.columns]
        self.target, self.task, self.data_name = target, task, data_name
        self.form = defaults(self.columns, target, task)

    def find(self, request: Request) -> TrainingRun:
        run = self.trainer.runs.get(request.path_params["run"])
        if run is None:
            raise HTTPException(404, f"No run {request.path_params['run']!r} on this playground.")
        return run

    async def page(self, request: Request) -> Response:
        read_settings(request.query_params.multi_items(), self.columns, self.target, self.task)
        return HTMLResponse(
            page_html(self.data_name, self.columns, self.target, self.task, self.form)
        )

    async def plotly(self, request: Request) -> Response:
        _only(request)
        return Response(PLOTLY.get(), media_type="text/javascript")

    async def train(self, request: Request) -> Response:
        pairs = await _form(request)
        settings = read_settings(pairs, self.columns, self.target, self.task)
        try:
            run = self.trainer.submit(settings)
        except OverflowError as error:
            return _refuse(503, str(error))
        links = {"result": f"/api/runs/{run.id}", "events": f"/api/runs/{run.id}/events"}
        return JSONResponse({"run": run.id, **links}, status_code=202)

    async def result(self, request: Request) -> Response:
        _only(request, ("wait",))
        run = self.find(request)
        if request.query_params.get("wait") not in (None, "0", "1"):
            raise InputError("The 'wait' parameter takes 0 or 1.")
        if request.query_params.get("wait") == "1":
            waited = await asyncio.to_thread(run.finished.wait, WAIT_LIMIT)
            if not waited:
                return _refuse(504, f"Run {run.id} has not finished in {WAIT_LIMIT:g} s.")
        return JSONResponse(figures.json_ready(run.summary()))

    async def events(self, request: Request) -> Response:
        _only(request)
        run = self.find(request)
        return StreamingResponse(
            _stream(run, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def explain(self, request: Request) -> Response:
        _only(request)
        run = self.find(request)
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(self.trainer.worker, self.trainer.explain, run)
        return JSONResponse({"run": run.id, "epochs": len(run.epochs), "text": text})

    async def bad_input(self, request: Request, error: Exception) -> Response:
        refusal = _refuse(400, " ".join(str(error).split()))
        if isinstance(error, _BodyTooLarge):  # the server reads no more of it: hang up
            refusal.headers["Connection"] = "close"
        return refusal

    async def http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404 and not str(error.detail).startswith("No run"):
            return _refuse(
                404,
                f"Nothing at {request.url.path!r}: this playground serves its page and its own "
                f"API, and reads only its data file {self.data_name!r}.",
            )
        if error.status_code == 405:
            return _refuse(405, f"{request.method} is not accepted at {request.url.path!r}.")
        return _refuse(error.status_code, str(error.detail))


class _Guard:
    """ASGI middleware: only requests for this server (Host: its address and port) from its
    own page or from no page (Origin: its own, or none) get through. A browser sends the
    Origin of the page that made a cross-site request; a refused one gets a message."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.hosts = [f"127.0.0.1:{port}", f"localhost:{port}"]
        if port == 80:  # the default port, which browsers leave out
            self.hosts += ["127.0.0.1", "localhost"]
        self.origins = [f"http://{host}" for host in self.hosts]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        refusal = self.refusal(Headers(scope=scope)) if scope["type"] == "http" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, headers: Headers) -> Response | None:
        host, origin = headers.get("host", ""), headers.get("origin")
        if host.lower() not in self.hosts:
            return _refuse(
                400,
                f"This playground answers only requests for {' or '.join(self.hosts)}; this "
                f"one's Host is {host!r}. Open http://{self.hosts[0]}/.",
            )
        if origin is not None and origin.lower() not in self.origins:
            return _refuse(
                403,
                f"This playground takes requests only from its own page ({self.origins[0]}/); "
                f"this one came from Origin {origin!r}.",
            )
        return None


class _Touch:
    """ASGI middleware: every request counts as activity for the idle timeout."""

    def __init__(self, app: Any, trainer: Trainer) -> None:
        self.app, self.trainer = app, trainer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.trainer.last_activity = time.monotonic()
        await self.app(scope, receive, send)


class _Plotly:
    """plotly.js, read from the plotly package once, when first asked for."""

    def __init__(self) -> None:
        self.text: str | None = None

    def get(self) -> str:
        if self.text is None:
            self.text = figures.plotly_js()
        return self.text


PLOTLY = _Plotly()


async def _stream(run: TrainingRun, request: Any) -> Any:
    """The run as server-sent events: each new surface, the new epochs, then done."""
    surfaces = epochs = 0
    while True:
        finished = run.finished.is_set()  # before reading: what it recorded is complete
        for surface in run.surfaces[surfaces:]:
            surfaces += 1
            yield f"event: surface\ndata: {figures.to_json(surface)}\n\n"
        new = run.epochs[epochs:]
        if new:
            epochs += len(new)
            yield f"event: epochs\ndata: {figures.to_json(new)}\n\n"
        if finished:
            yield f"event: done\ndata: {figures.to_json(run.summary())}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL)


# ----- serving ------------------------------------------------------------------------------
def free_socket(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1:``port`` (0: a free port the system picks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)  # from now on, requests wait for the server instead of failing
    except OSError as error:
        sock.close()
        raise InputError(
            f"Cannot listen on 127.0.0.1:{port} ({error.strerror}): choose another port=..., "
            "or port=0 for a free one."
        ) from None
    return sock


@validate_params(
    {
        "port": [Interval(int, 0, 65535, "both")],
        "open_browser": [Boolean()],
        "idle_timeout": [positive()],
    }
)
def serve(
    data: str,
    target: str,
    *,
    port: int = 0,
    open_browser: bool = True,
    idle_timeout: float = 1800.0,
    say: Any = print,
) -> None:
    """Serve the playground on ``data`` until Ctrl-C or ``idle_timeout`` idle seconds."""
    from ..data import infer_task, read_table, select_columns

    table = read_table(data)
    select_columns(table, target)  # the target must be a column, with another beside it
    task = infer_task(table[target], name=target)
    sock = free_socket(port)
    chosen = sock.getsockname()[1]
    app = create_app(table, target, task, os.path.basename(data), chosen)
    trainer: Trainer = app.state.trainer
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="off")
    server = _Server(config, trainer)
    url = f"http://127.0.0.1:{chosen}/"
    say(f"descend playground on {data} (target {target!r}, {task}): {url}")
    say(f"Ctrl-C stops it; it stops by itself after {idle_timeout:g} s without use.")
    watcher = threading.Thread(target=_watch, args=(server, trainer, idle_timeout), daemon=True)
    watcher.start()
    if open_browser:
        threading.Timer(0.3, webbrowser.open, [url]).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has shut down: done
        pass
    finally:
        trainer.close()
        sock.close()
    say("descend playground stopped" + (" (idle)." if server.idle else "."))


def _watch(server: Any, trainer: Trainer, idle_timeout: float) -> None:
    """Stop the server once nothing has happened for ``idle_timeout`` seconds."""
    while not server.should_exit:
        time.sleep(min(1.0, idle_timeout / 4))
        quiet = time.monotonic() - trainer.last_activity
        if quiet >= idle_timeout and not trainer.busy():
            server.idle = True
            server.should_exit = True


class _Server(uvicorn.Server):
    """uvicorn's server that also stops the runs when it is asked to exit (Ctrl-C)."""

    def __init__(self, config: uvicorn.Config, trainer: Trainer) -> None:
        super().__init__(config)
        self.trainer = trainer
        self.idle = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.trainer.close()  # the event streams end, so the shutdown does not wait for them
        super().handle_exit(sig, frame)
