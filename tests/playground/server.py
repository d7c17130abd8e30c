"""A playground server in its own process, as a person starts it: ``descend playground``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Server:
    """``python -m descend playground DATA --target COL --no-browser ...`` and its URL."""

    def __init__(self, data: str, target: str, *flags: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "descend", "playground", data, "--target", target,
             "--no-browser", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline()
        if "http://127.0.0.1:" not in self.first_line:
            self.process.kill()
            raise RuntimeError(f"the playground did not start: {self.first_line}")
        self.url = self.first_line.split()[-1]

    def call(self, path: str, data: str | None = None) -> tuple[int, Any]:
        """(status, parsed JSON) of one request; ``data``: a urlencoded POST body."""
        body = data.encode() if data is not None else None
        request = urllib.request.Request(self.url.rstrip("/") + path, data=body)
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def send(self, head: str, body: bytes = b"") -> tuple[int, Any]:
        """(status, parsed JSON) of a request written by hand: ``head`` without its Host line
        and the blank line after it, then ``body``, however much of it; read until the server
        hangs up (or the socket's 120 s pass: a server that waits for more never answers)."""
        host, port = self.url.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=120) as conn:
            host_line = f"Host: {host}:{port}\r\nConnection: close"
            conn.sendall(f"{head}\r\n{host_line}\r\n\r\n".encode() + body)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])

    def interrupt(self, timeout: float = 60) -> tuple[int, str]:
        """Ctrl-C: (exit status, everything it printed)."""
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, self.first_line + out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.interrupt()
