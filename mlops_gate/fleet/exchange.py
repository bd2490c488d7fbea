"""What the fleet adds to every HTTP request the providers send (mlops_gate.providers.Exchange): conditional
requests from the on-disk cache, the hosts' rate limits respected, the request budget, and the count.

Counted requests are those the platform charges to the token's rate limit: every answer but a `304 Not
Modified` to a conditional request (GitHub documents that such a 304 is not counted against the primary rate
limit; the fleet counts GitLab and Azure DevOps the same way and says so in its report). Retries are counted.

The budget (`--budget N`) is a number of counted requests for the whole run: a request is sent only when a
slot is free (a 304 gives its slot back), so the run never spends more than N. A repository whose request was
refused is reported as not judged, never as passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.fleet.cache import Cache, Entry, credential_of
from mlops_gate.providers import netpolicy

SECONDARY_PAUSE_S = 60.0  # GitHub: "wait at least one minute" when a secondary limit answers without Retry-After


class Stopped(FactError):
    """A request the fleet refused to send: the budget is spent, or a host's rate limit would be waited past
    what the run may wait."""


@dataclass
class Budget:
    """Counted requests the whole run may spend (None: no limit)."""

    limit: int | None = None
    spent: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.limit is not None and self.spent >= self.limit:
                self.refused += 1
                return False
            self.spent += 1
            return True

    def give_back(self, n: int = 1) -> None:
        with self.lock:
            self.spent -= n

    def charge(self, n: int) -> None:
        """Retries the transport made inside one request: counted even past the limit (they were sent)."""
        with self.lock:
            self.spent += n

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit


@dataclass
class _Host:
    """What one host last said about its rate limit: requests left, when they reset, and a pause it asked for."""

    remaining: int | None = None
    reset: float | None = None  # epoch seconds
    pause_until: float = 0.0  # a secondary limit: nothing is sent to the host before this


@dataclass
class RateLimits:
    """What each host said about its rate limit, respected before every request to it: when the host says
    nothing is left, requests wait for its reset, if that fits in `max_wait_s`; otherwise they are refused."""

    max_wait_s: float = 60.0
    reserve: int = 0  # requests left untouched (for other jobs sharing the token)
    hosts: dict[str, _Host] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    waited_s: float = 0.0

    def wait_for(self, host: str) -> None:
        with self.lock:
            state = self.hosts.get(host)
            if state is None:
                return
            now = self.now()
            until = state.pause_until
            if state.remaining is not None and state.remaining <= self.reserve and state.reset and state.reset > now:
                until = max(until, state.reset)
        wait = until - now
        if wait <= 0:
            return
        if wait > self.max_wait_s:
            raise Stopped(
                f"the rate limit of {host} is spent for another {int(wait)} s "
                f"(more than --max-wait {self.max_wait_s:g} s)",
                "run again after the reset, with --cache-dir so unchanged answers cost nothing, or raise --max-wait",
            )
        with self.lock:
            self.waited_s += wait
        self.sleep(wait)

    def record(self, host: str, status: int, headers: Any, body: bytes) -> None:
        remaining = _number(headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset"))
        retry_after = _number(headers.get("retry-after"))
        secondary = status in (403, 429) and (
            retry_after is not None or b"secondary rate limit" in body[:4096].lower() or remaining == 0
        )
        with self.lock:
            state = self.hosts.setdefault(host, _Host())
            if remaining is not None:
                state.remaining = int(remaining)
            if reset is not None:
                state.reset = reset
            if secondary and remaining != 0:
                state.pause_until = max(state.pause_until, self.now() + (retry_after or SECONDARY_PAUSE_S))


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class Counter:
    """Requests of one repository (or of the enumeration)."""

    sent: int = 0  # answers received, retries included
    not_modified: int = 0  # 304s to conditional requests: not charged
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def counted(self) -> int:
        return self.sent - self.not_modified


@dataclass
class FleetExchange:
    """One repository's view of the shared cache, limits and budget (mlops_gate.providers.Exchange)."""

    cache: Cache | None
    limits: RateLimits
    budget: Budget
    counter: Counter = field(default_factory=Counter)
    stopped: str | None = None  # why a request was refused: the repository is then not judged

    def before(self, request: Any) -> None:
        host = netpolicy.origin(str(request.url))[1]
        try:
            self.limits.wait_for(host)
        except Stopped as exc:
            self.stopped = self.stopped or exc.message
            raise
        if not self.budget.take():
            self.stopped = self.stopped or f"the request budget (--budget {self.budget.limit}) is spent"
            raise Stopped(self.stopped, "raise --budget, or run again with --cache-dir: unchanged answers cost nothing")
        if self.cache is not None and request.method == "GET":
            entry = self.cache.get("GET", str(request.url), credential_of(request.headers))
            if entry is not None:
                request.headers["If-None-Match"] = entry.etag

    def after(self, request: Any, response: Any) -> None:
        retries = len(getattr(getattr(response.raw, "retries", None), "history", ()) or ())
        host = netpolicy.origin(str(request.url))[1]
        self.limits.record(host, response.status_code, response.headers, response.content or b"")
        with self.counter.lock:
            self.counter.sent += 1 + retries
            if response.status_code == 304:
                self.counter.not_modified += 1
        if retries:
            self.budget.charge(retries)
        if self.cache is None or request.method != "GET":
            if response.status_code == 304:
                self.budget.give_back()
            return
        credential = credential_of(request.headers)
        if response.status_code == 304:
            self.budget.give_back()
            entry = self.cache.get("GET", str(request.url), credential)
            if entry is not None:
                _replay(response, entry)
            return
        etag = response.headers.get("ETag")
        if etag and response.status_code == 200 and getattr(response, "spool", None) is None:  # not an archive
            headers = {str(k): str(v) for k, v in response.headers.items()}
            self.cache.put("GET", str(request.url), credential, Entry(etag, 200, headers, response.content))


def _replay(response: Any, entry: Entry) -> None:
    """The cached answer in place of the 304, with the fresh headers (rate limits, dates) on top."""
    from requests.structures import CaseInsensitiveDict

    merged = CaseInsensitiveDict(entry.headers)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "content-type"):
            merged[name] = value
    response.status_code = entry.status
    response.reason = "OK (not modified: cached)"
    response.headers = merged
    response._content = entry.body
