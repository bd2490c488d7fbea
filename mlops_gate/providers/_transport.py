"""The one HTTP transport every SDK session of the gate is mounted on: bounded in time and size, and
credentials kept to the origin they were sent to.

Why an adapter and a watchdog: a socket timeout bounds one `recv`, so a server dripping a byte at a time
holds a "20 s timeout" for hours. Each attempt (connect to last byte) gets a deadline; a single watchdog
thread shuts the attempt's socket down when it passes, which wakes the blocked read at once, and the
request fails as a timeout naming its elapsed time and attempts. Retries and their waits count against the
request's deadline and the run's (see `http.BoundedRetry`). Bodies are read here, always, in chunks and
up to `max_bytes`: callers that asked to stream get the bounded body back through `iter_content`.

Redirects: requests copies the request it sent to build the next hop; when the next hop is another origin
(scheme, host, port), every header but a few harmless ones is removed from that request first, so no SDK's
credential (Authorization, PRIVATE-TOKEN, JOB-TOKEN, Cookie, ...) follows. A redirect to plain HTTP on a
host not allowed cleartext (see `netpolicy`) is refused.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout

from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

SAFE_ON_REDIRECT = frozenset({"accept", "accept-encoding", "accept-language", "user-agent", "connection",
                              "content-type", "x-github-api-version"})
TIMEOUT_HINT = ("check the URL and the network; a slow server can be given more time with MLOPS_GATE_HTTP_TIMEOUT "
                "(per attempt), MLOPS_GATE_HTTP_REQUEST_DEADLINE and MLOPS_GATE_HTTP_RUN_DEADLINE")


class Clock:
    """The run's deadline: every request of one run shares it (started by the first network read)."""

    def __init__(self, limits: netpolicy.Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.run_s


class TransportError(FactError):
    """A request the transport ended: deadline passed, body too large, or a redirect refused."""


@dataclass(eq=False)
class Request:
    """One request in flight (with its retries), as the watchdog and the retry policy see it."""

    method: str
    url: str
    limits: netpolicy.Limits
    started: float
    deadline: float  # the request's own, or the run's if sooner
    run_deadline: float
    attempts: int = 0
    attempt_deadline: float = 0.0
    expired: str = ""  # "attempt" | "request" | "run" once the watchdog fired
    conn: Any = None  # the connection of the current attempt
    fd: int = -1  # its socket before TLS wraps it (the handshake is bounded too)
    gen: int = 0  # bumped on every (re)arm and disarm: a stale watchdog entry does nothing

    def left(self) -> float:
        """Seconds left in the current attempt (0: over)."""
        return max(0.0, min(self.attempt_deadline or self.deadline, self.deadline) - time.monotonic())

    def start_attempt(self) -> None:
        now = time.monotonic()
        if now >= self.deadline:
            raise self.timeout("run" if now >= self.run_deadline else "request")
        self.attempts += 1
        self.attempt_deadline = min(now + self.limits.attempt_s, self.deadline)
        WATCHDOG.arm(self, self.attempt_deadline)

    def budget(self, wait: float) -> float:
        """Seconds this request may still sleep before its next attempt."""
        return self.deadline - time.monotonic() - wait

    def timeout(self, why: str = "") -> TransportError:
        why = why or self.expired or "attempt"
        elapsed = time.monotonic() - self.started
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}, {elapsed:.1f} s in all"
        if why == "run":
            return TransportError(f"{self.method} {self.url}: the run's network deadline passed ({tries}; "
                                  f"MLOPS_GATE_HTTP_RUN_DEADLINE={self.limits.run_s:g} s)", TIMEOUT_HINT)
        if why == "request":
            return TransportError(f"{self.method} {self.url}: no complete answer within the request deadline "
                                  f"({tries}; MLOPS_GATE_HTTP_REQUEST_DEADLINE={self.limits.request_s:g} s)",
                                  TIMEOUT_HINT)
        return TransportError(f"{self.method} {self.url} did not answer within {self.limits.attempt_s:g} s "
                              f"(MLOPS_GATE_HTTP_TIMEOUT, connect to last byte; {tries})", TIMEOUT_HINT)


class _Watchdog:
    """One daemon thread holding the attempts' deadlines in a heap; shuts a socket down when one passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, int, Request]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, req: Request, when: float) -> None:
        with self._cond:  # a new attempt: earlier entries of this request go stale
            req.gen += 1
            req.expired, req.conn, req.fd = "", None, -1
            entry = (when, next(self._seq), req.gen, req)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mlops-gate-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0] is entry:
                self._cond.notify()

    def disarm(self, req: Request) -> None:
        with self._cond:
            req.gen += 1

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                when, _, gen, req = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(min(delay, 3600.0))
                    continue
                heapq.heappop(self._heap)
                if gen == req.gen:
                    now = time.monotonic()
                    req.expired = "run" if now >= req.run_deadline else "request" if now >= req.deadline else "attempt"
                    _shutdown(req)


WATCHDOG = _Watchdog()
_LOCAL = threading.local()  # .request: the Request this thread is sending


def current() -> Request | None:
    req: Request | None = getattr(_LOCAL, "request", None)
    return req


def _shutdown(req: Request) -> None:
    """Wake the thread blocked on this attempt's socket: shutdown (not close) is safe across threads."""
    sock = getattr(req.conn, "sock", None)
    try:
        if sock is not None and sock.fileno() != -1:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        elif req.fd != -1:  # TLS handshake in progress: the wrapped socket is not stored yet, its descriptor is
            with socket.socket(fileno=os.dup(req.fd)) as dup:
                dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing blocks on it


class _Watched:
    """Mixed into urllib3's connections: tell the current request which socket its attempt uses."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        req = current()
        if req is not None:
            req.conn, req.fd = self, sock.fileno()
            if req.expired:
                _shutdown(req)
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
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> Any:
        import requests

        now = time.monotonic()
        req = Request(str(request.method), netpolicy.shown(str(request.url)), self.limits, now,
                      min(now + self.limits.request_s, self.clock.deadline), self.clock.deadline)
        if now >= self.clock.deadline:
            raise req.timeout("run")
        outer, _LOCAL.request = current(), req
        try:
            try:
                response = super().send(request, stream=True, timeout=_AttemptTimeout(req),  # type: ignore[arg-type]
                                        verify=verify,
                                        cert=cert, proxies=proxies)
                self._redirect(request, response)
                self._read(req, response)
            except requests.exceptions.RequestException as exc:
                if req.expired or isinstance(exc, requests.exceptions.Timeout) or _timed_out(exc):
                    raise req.timeout() from None
                raise
            return response
        finally:
            WATCHDOG.disarm(req)
            _LOCAL.request = outer

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
        return TransportError(f"{req.method} {req.url}: the response is {size} the gate reads "
                              "(MLOPS_GATE_HTTP_MAX_BYTES)",
                              "check the URL; if the answer really is this large, raise MLOPS_GATE_HTTP_MAX_BYTES")

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
            raise TransportError(f"{request.method} {netpolicy.shown(str(request.url))} redirected to "
                                 f"{netpolicy.shown(target)}: refusing to follow it to plain HTTP",
                                 "the server must redirect to https://; list the host in MLOPS_GATE_INSECURE_HOSTS "
                                 "only if it really serves plain HTTP on a network you trust")
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
