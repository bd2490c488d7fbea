"""The one HTTP transport every SDK session of the gate is mounted on: bounded in time and size, and
credentials kept to the origin they were sent to.

Time: each attempt (connect to last byte) is watched by `_deadline`'s watchdog; urllib3 starts an
attempt through the Timeout object given to it, and our connection classes tell the attempt which socket
it uses (before TLS wraps it, so the handshake is bounded too). Retries and their waits count against the
request's deadline and the run's (see `http.BoundedRetry`). Size: bodies are read here, always, in
chunks and up to `max_bytes`; callers that asked to stream get the bounded body back through
`iter_content`.

Redirects: requests copies the request it sent to build the next hop; when the next hop is another origin
(scheme, host, port), every header but a few harmless ones is removed from that request first, so no SDK's
credential (Authorization, PRIVATE-TOKEN, JOB-TOKEN, Cookie, ...) follows. A redirect to plain HTTP on a
host not allowed cleartext (see `netpolicy`) is refused.

Fleet runs: an `Exchange` (providers.RunInputs.exchange, mlops_gate.fleet) is told of every request before it
is sent and of its answer once read (conditional requests, rate limits, the request budget, the counts).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout

from mlops_gate import progress
from mlops_gate.providers import Exchange, netpolicy
from mlops_gate.providers._deadline import SENDING, WATCHDOG, Clock, Request, TransportError, current, shutdown

SAFE_ON_REDIRECT = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "connection", "content-type", "x-github-api-version"}
)
__all__ = ["BoundedAdapter", "Clock", "TransportError", "current"]


class _Watched:
    """Mixed into urllib3's connections: tell the current request which socket its attempt uses."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        req = current()
        if req is not None:
            req.conn, req.fd = self, sock.fileno()
            if req.expired:
                shutdown(req)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        req = current()
        if req is not None:
            req.conn = self
            if req.expired:
                raise req.timeout()
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _AttemptTimeout(Timeout):
    """urllib3 starts (a clone of) this at the start of every attempt: that starts the attempt's deadline,
    and every socket operation's timeout is what is left of it."""

    def __init__(self, req: Request) -> None:
        super().__init__(connect=req.limits.attempt_s, read=req.limits.attempt_s)
        self.req = req

    def clone(self) -> _AttemptTimeout:
        return _AttemptTimeout(self.req)

    def start_connect(self) -> float:
        self.req.start_attempt()
        return super().start_connect()

    @property
    def connect_timeout(self) -> float:
        if self._start_connect is None:  # urllib3 reads it once before the attempt starts
            return max(0.001, min(self.req.limits.attempt_s, self.req.deadline - time.monotonic()))
        return self.req.left()

    @property
    def read_timeout(self) -> float:
        return self.req.left()


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """requests' HTTPAdapter, with every request bounded (see the module docstring)."""

    def __init__(self, clock: Clock, env: Mapping[str, str], max_bytes: int | None = None, **kwargs: Any) -> None:
        self.clock, self.env = clock, dict(env)
        self.limits = clock.limits
        self.max_bytes = max_bytes or clock.limits.max_bytes
        self.exchange: Exchange | None = None  # told of every request (set by http.adapter for fleet runs)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        import requests

        if self.exchange is not None:  # before the request's clock starts: it may wait for a rate limit's reset
            self.exchange.before(request)
        now = time.monotonic()
        req = Request(
            str(request.method),
            netpolicy.shown(str(request.url)),
            self.limits,
            now,
            min(now + self.limits.request_s, self.clock.deadline),
            self.clock.deadline,
        )
        if now >= self.clock.deadline:
            raise req.timeout("run")
        outer, SENDING.request = current(), req
        said = progress.active()  # the CLI's display: each request as it is made (and retried, and answered)
        if said:
            progress.emit(progress.Event("request", progress.kind(), f"{req.method} {req.url}", id(req)))
        try:
            try:
                response = super().send(
                    request,
                    stream=True,
                    timeout=_AttemptTimeout(req),  # type: ignore[arg-type]
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
                self._redirect(request, response)
                self._read(req, response)
                if self.exchange is not None:
                    self.exchange.after(request, response)
            except requests.exceptions.RequestException as exc:
                if req.expired or isinstance(exc, requests.exceptions.Timeout) or _timed_out(exc):
                    raise req.timeout() from None
                raise
            if said:
                done = progress.Event("response", progress.kind(), f"{req.method} {req.url}", id(req))
                elapsed = time.monotonic() - req.started
                progress.emit(replace(done, status=response.status_code, seconds=elapsed, attempt=req.attempts))
            return response
        except Exception as exc:
            if said:
                failed = progress.Event("failed", progress.kind(), f"{req.method} {req.url}", id(req))
                error = exc.message if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
                elapsed = time.monotonic() - req.started
                progress.emit(replace(failed, seconds=elapsed, attempt=req.attempts, error=error))
            raise
        finally:
            WATCHDOG.disarm(req)
            SENDING.request = outer

    def _read(self, req: Request, response: Any) -> None:
        size = response.headers.get("Content-Length", "")
        if size.isdigit() and int(size) > self.max_bytes:
            response.close()
            raise self._too_large(req, f"{size} bytes, more than the {self.max_bytes}")
        chunks, total = [], 0
        for chunk in response.iter_content(64 << 10):
            total += len(chunk)
            if total > self.max_bytes:
                response.close()
                raise self._too_large(req, f"more than the {self.max_bytes} bytes")
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what requests' own Response.content stores
        if req.expired:  # the watchdog fired as the last byte came in
            raise req.timeout()

    def _too_large(self, req: Request, size: str) -> TransportError:
        return TransportError(
            f"{req.method} {req.url}: the response is {size} the gate reads (MLOPS_GATE_HTTP_MAX_BYTES)",
            "check the URL; if the answer really is this large, raise MLOPS_GATE_HTTP_MAX_BYTES",
        )

    def _redirect(self, request: Any, response: Any) -> None:
        """A redirect: refuse plain HTTP to a remote host; to another origin, strip every credential header
        from the request requests copies for the next hop."""
        location = response.headers.get("Location") if response.is_redirect else None
        if not location:
            return
        target = urljoin(str(request.url), location)
        scheme, host, port = netpolicy.origin(target)
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if scheme != "https" and not (scheme == "http" and netpolicy.cleartext_allowed(netloc, self.env)):
            response.close()
            raise TransportError(
                f"{request.method} {netpolicy.shown(str(request.url))} redirected to "
                f"{netpolicy.shown(target)}: refusing to follow it to plain HTTP",
                "the server must redirect to https://; list the host in MLOPS_GATE_INSECURE_HOSTS "
                "only if it really serves plain HTTP on a network you trust",
            )
        if netpolicy.origin(target) != netpolicy.origin(str(request.url)):
            for name in [n for n in request.headers if n.lower() not in SAFE_ON_REDIRECT]:
                del request.headers[name]


def _timed_out(exc: BaseException) -> bool:
    """urllib3 wraps socket timeouts (ReadTimeoutError, ConnectTimeoutError) in MaxRetryError in requests'
    ConnectionError."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError):  # a subclass of ConnectTimeoutError, for history's sake
            return False
        if isinstance(cause, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
            return True
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
    return False
