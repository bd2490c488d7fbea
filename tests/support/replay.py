"""A loopback HTTP server that replays hand-written payloads to the real SDKs, and records requests.

    server.add("GET", "/repos/acme/churn/branches/main/protection", 404, {"message": "Branch not protected"})
    server.add("GET", "/api/v4/projects/1/pipelines", 200, [...], query={"sha": "abc"})
    server.add("GET", "/x", responses=[(500, {}), (200, {"ok": True})])   # consumed in order, last repeats

No SDK internals are patched: the SDK under test is pointed at `server.url` as its API base URL.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Body = Any  # JSON-able value, or bytes sent as they are (malformed payloads)


@dataclass
class Route:
    method: str
    path: str
    query: dict[str, str]
    responses: list[tuple[int, Body, dict[str, str]]]
    hits: int = 0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    matched: bool


@dataclass
class ReplayServer:
    delay_s: float = 0.0  # added to every response (benchmarks: proves independent calls overlap)
    host: str = "127.0.0.1"  # another loopback address (127.0.0.2) stands for a remote host
    # answers what no route matches: (method, path, query) -> (status, body, headers), or None for a 404
    resolver: Callable[[str, str, dict[str, str]], tuple[int, Body, dict[str, str]] | None] | None = None
    etags: bool = False  # send an ETag with every 200, and answer a matching If-None-Match with 304
    routes: list[Route] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Body = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        responses: list[tuple[int, Body]] | list[tuple[int, Body, dict[str, str]]] | None = None,
    ) -> None:
        seq = (
            [(r[0], r[1], dict(r[2]) if len(r) > 2 else {}) for r in responses]
            if responses
            else [(status, body, dict(headers or {}))]
        )
        self.routes.insert(0, Route(method.upper(), path, dict(query or {}), seq))  # later additions win

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if (method is None or s.method == method) and (path is None or s.path == path)]

    def unmatched(self) -> list[Seen]:
        return [s for s in self.seen if not s.matched]

    def start(self) -> ReplayServer:
        handler = _handler(self)
        self._server = ThreadingHTTPServer((self.host, 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def respond(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, Body, dict[str, str]]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self.lock:
            for route in self.routes:
                if (
                    route.method == method
                    and route.path == parts.path
                    and all(query.get(k) == v for k, v in route.query.items())
                ):
                    reply = route.responses[min(route.hits, len(route.responses) - 1)]
                    route.hits += 1
                    self.seen.append(Seen(method, parts.path, query, headers, True))
                    return reply
            if self.resolver is not None:
                found = self.resolver(method, parts.path, query)
                if found is not None:
                    self.seen.append(Seen(method, parts.path, query, headers, True))
                    return found
            self.seen.append(Seen(method, parts.path, query, headers, False))
        return 404, {"message": "Not Found (no replay route)", "path": parts.path}, {}


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, body, headers = server.respond(self.command, self.path, dict(self.headers.items()))
            if server.delay_s:
                time.sleep(server.delay_s)
            data = (
                body
                if isinstance(body, bytes)
                else b""
                if body is None and status == 204
                else json.dumps(body).encode()
            )
            if server.etags and status == 200:
                etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
                headers = {**headers, "ETag": etag}
                if self.headers.get("If-None-Match") == etag:
                    status, data = 304, b""
            self.send_response(status)
            if not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "application/json; charset=utf-8")
            for k, v in headers.items():
                self.send_header(k, v.replace("{url}", server.url))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
