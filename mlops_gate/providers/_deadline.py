"""Deadlines for the requests in flight: the run's clock, each request's deadline and attempts, and one
watchdog thread that shuts an attempt's socket down when its deadline passes.

Why shut a socket down: a socket timeout bounds one `recv`, so a server dripping a byte at a time holds a
"20 s timeout" for hours. `shutdown` (unlike `close`) is safe from another thread and wakes the thread
blocked on that socket at once; the request then fails as a timeout naming its elapsed time and attempts.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from mlops_gate import progress
from mlops_gate.errors import FactError
from mlops_gate.providers import netpolicy

TIMEOUT_HINT = (
    "check the URL and the network; a slow server can be given more time with MLOPS_GATE_HTTP_TIMEOUT "
    "(per attempt), MLOPS_GATE_HTTP_REQUEST_DEADLINE and MLOPS_GATE_HTTP_RUN_DEADLINE"
)


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
        if self.attempts > 1 and progress.active():  # a retry: the display says so as it starts
            what = progress.Event("retry", progress.kind(), f"{self.method} {self.url}", id(self))
            progress.emit(replace(what, seconds=now - self.started, attempt=self.attempts))
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
            return TransportError(
                f"{self.method} {self.url} timed out: the run's network deadline passed ({tries}; "
                f"MLOPS_GATE_HTTP_RUN_DEADLINE={self.limits.run_s:g} s)",
                TIMEOUT_HINT,
            )
        if why == "request":
            return TransportError(
                f"{self.method} {self.url} timed out: no complete answer within the request deadline "
                f"({tries}; MLOPS_GATE_HTTP_REQUEST_DEADLINE={self.limits.request_s:g} s)",
                TIMEOUT_HINT,
            )
        return TransportError(
            f"{self.method} {self.url} timed out: it did not answer within {self.limits.attempt_s:g} s "
            f"(MLOPS_GATE_HTTP_TIMEOUT, connect to last byte; {tries})",
            TIMEOUT_HINT,
        )


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
                    with contextlib.suppress(Exception):  # the watchdog must outlive any one socket
                        shutdown(req)

    def after_fork(self) -> None:
        """A forked child has no watchdog thread: the next arm starts one."""
        self._cond, self._heap, self._thread = threading.Condition(), [], None


WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=WATCHDOG.after_fork)
SENDING = threading.local()  # .request: the Request this thread is sending


def current() -> Request | None:
    req: Request | None = getattr(SENDING, "request", None)
    return req


def shutdown(req: Request) -> None:
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
