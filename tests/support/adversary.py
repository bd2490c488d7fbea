"""Hostile HTTP servers on loopback for the transport tests: each records which request (and which headers)
it saw, and answers what a test tells it to: JSON, a redirect, a body dripped a byte at a time, a huge
body, or nothing at all.

"Another host" without a network: a server can bind to 127.0.0.2. The gate treats only `localhost`,
`127.0.0.1` and `::1` as loopback (see mlops_gate/providers/netpolicy.py), so to the gate 127.0.0.2 is a
remote host: a different origin from 127.0.0.1, and plain HTTP to it is refused unless listed in
MLOPS_GATE_INSECURE_HOSTS. That is the gate's documented rule, not a test-only switch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CREDENTIAL_HEADERS = ("authorization", "private-token", "job-token", "cookie", "proxy-authorization")
Handler = Callable[["Request"], None]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lowercased names

    @property
    def credentials(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k in CREDENTIAL_HEADERS}


class Request(BaseHTTPRequestHandler):
    """What a route handler gets: the request, and helpers to answer it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server: _Server

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        seen = Seen(
            self.command,
            parts.path,
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            {k.lower(): v for k, v in self.headers.items()},
        )
        adversary = self.server.adversary
        with adversary.lock:
            adversary.seen.append(seen)
            handler = adversary.routes.get((self.command, parts.path)) or adversary.routes.get(("*", parts.path))
        try:
            if handler is None:
                self.json(404, {"message": "Not Found"})
            else:
                handler(self)
        except (BrokenPipeError, ConnectionResetError):
            adversary.hung_up.set()  # the client went away mid-answer: what a bound is for

    do_GET = do_HEAD = do_POST = do_OPTIONS = _serve

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    adversary: Adversary


@dataclass
class Adversary:
    host: str = "127.0.0.1"
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hung_up: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    sent: int = 0  # bytes a drip or stream handler managed to send
    _server: _Server | None = None

    @property
    def netloc(self) -> str:
        assert self._server is not None
        return f"{self.host}:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def on(self, path: str, handler: Handler, method: str = "GET") -> Adversary:
        self.routes[(method, path)] = handler
        return self

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """tests/support/replay.py's way to add a JSON route (the query is not matched here), so the helpers that
        serve Azure DevOps discovery to a ReplayServer serve it here too."""
        self.on(path, self.reply(status, body, headers), method.upper())

    def start(self) -> Adversary:
        self._server = _Server((self.host, 0), Request)
        self._server.adversary = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def requests(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if path is None or s.path == path]

    def credentials_seen(self) -> list[dict[str, str]]:
        return [s.credentials for s in self.seen if s.credentials]

    # --- answers ---------------------------------------------------------------------------------

    def reply(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
        def answer(req: Request) -> None:
            req.json(status, body, {k: v.replace("{url}", self.url) for k, v in (headers or {}).items()})

        return answer

    def redirect(self, location: str, status: int = 302) -> Handler:
        def answer(req: Request) -> None:
            req.send_response(status)
            req.send_header("Location", location)
            req.send_header("Content-Length", "0")
            req.end_headers()

        return answer

    def drip(self, head: bytes, byte: bytes = b" ", every_s: float = 0.05, count: int = 100_000) -> Handler:
        """Send `head` (status line and headers, or only part of them), then `byte` every `every_s`."""

        def answer(req: Request) -> None:
            req.wfile.write(head)
            req.wfile.flush()
            for _ in range(count):
                if self.stopping.is_set():
                    return
                time.sleep(every_s)
                req.wfile.write(byte)
                req.wfile.flush()
                with self.lock:
                    self.sent += len(byte)

        return answer

    def stream(self, total: int, declared: bool = False, chunk: int = 1 << 20) -> Handler:
        """A 200 JSON-typed body of `total` bytes (`declared`: with its Content-Length; else chunked)."""

        def answer(req: Request) -> None:
            req.send_response(200)
            req.send_header("Content-Type", "application/json")
            if declared:
                req.send_header("Content-Length", str(total))
            else:
                req.send_header("Transfer-Encoding", "chunked")
            req.end_headers()
            block = b"[" + b"0," * (chunk // 2 - 1) + b"0]"
            left = total
            while left > 0 and not self.stopping.is_set():
                piece = block[:left]
                req.wfile.write(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
                left -= len(piece)
                with self.lock:
                    self.sent += len(piece)
            if not declared:
                req.wfile.write(b"0\r\n\r\n")

        return answer

    def silent(self) -> Handler:
        """Accept the request and never answer (until the server stops)."""

        def answer(req: Request) -> None:
            self.stopping.wait(60)

        return answer


def nested(depth: int = 100_000) -> bytes:
    """JSON too deeply nested for Python's parser (valid JSON all the same)."""
    return b"[" * depth + b"]" * depth


@dataclass
class Servers:
    """Started adversaries, stopped together."""

    started: list[Adversary] = field(default_factory=list)

    def __call__(self, host: str = "127.0.0.1") -> Adversary:
        server = Adversary(host).start()
        self.started.append(server)
        return server

    def stop(self) -> None:
        for server in self.started:
            server.stop()


def servers() -> Iterator[Servers]:
    made = Servers()
    try:
        yield made
    finally:
        made.stop()
