"""What every network provider shares: credentials, the bounded transport (`_transport`) and its clock,
bounded retries, request counting, and HTTP failures turned into errors that say how to fix them.
Imported only by providers that talk HTTP."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from urllib3.util.retry import Retry

from mlops_gate.errors import FactError
from mlops_gate.providers import Context, Meter, _transport, netpolicy
from mlops_gate.providers._transport import BoundedAdapter, Clock

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRIES = 4
CLOCK_KEY = "http:clock"


def first_env(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` set in the environment (credentials never come from the policy)."""
    for name in names:
        if env.get(name):
            return env[name]
    return None


def timeout(env: Mapping[str, str]) -> float:
    """Seconds one attempt may take, connect to last byte (MLOPS_GATE_HTTP_TIMEOUT)."""
    return netpolicy.limits(env).attempt_s


def clock(ctx: Context) -> Clock:
    """The run's network deadline, shared by every provider of the run (started by the first to ask)."""
    found = ctx.shared.cache.get(CLOCK_KEY)  # no lock: callers may hold ctx.shared.lock; setdefault is atomic
    if not isinstance(found, Clock):
        found = ctx.shared.cache.setdefault(CLOCK_KEY, Clock(netpolicy.limits(ctx.env)))
    assert isinstance(found, Clock)
    return found


def adapter(ctx: Context, policy: Retry | None = None, max_bytes: int | None = None, **kwargs: Any) -> BoundedAdapter:
    """The transport every session of the gate is mounted on (see `_transport`)."""
    adapter = BoundedAdapter(clock(ctx), ctx.env, max_bytes, max_retries=policy or retry(), **kwargs)
    adapter.exchange = ctx.inputs.exchange
    return adapter


def session(ctx: Context, policy: Retry | None = None, max_bytes: int | None = None) -> Any:
    """A requests.Session on the bounded transport, for both schemes (which URLs may be plain HTTP is decided
    before a request: `netpolicy.require_secure`)."""
    import requests

    s = requests.Session()
    mounted = adapter(ctx, policy, max_bytes)
    s.mount("https://", mounted)
    s.mount("http://", mounted)
    return s


def no_netrc(request: Any) -> Any:
    """A session's `auth` that adds nothing: set, it stops requests reading ~/.netrc, so a session sends only
    the credentials the gate gives it (as PyGithub does for its own)."""
    return request


class BoundedRetry(Retry):
    """urllib3 Retry whose waits (Retry-After, X-RateLimit-Reset, backoff) must fit in what is left of the
    request's deadline and the run's: a longer wait fails now, with a clear message, instead of sleeping
    into a CI job's timeout."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        reset = response.headers.get("X-RateLimit-Reset") if response is not None else None
        if after is None and reset and response.headers.get("X-RateLimit-Remaining") == "0":
            try:
                after = max(0.0, float(reset) - time.time())
            except ValueError:
                after = None
        if after is not None:
            _must_fit(
                after,
                f"rate limited by {response.geturl() or 'the API'} for another {int(after)} s",
                "wait, or use a token with a higher rate limit (an app or PAT rather than an anonymous call)",
            )
        return after

    def get_backoff_time(self) -> float:
        wait = float(super().get_backoff_time())
        if wait > 0:
            _must_fit(
                wait,
                f"the server keeps failing; the next retry would start after {wait:g} s",
                "the service fails; retry later",
                after_timeout=True,
            )
        return wait


def _must_fit(wait: float, what: str, hint: str, after_timeout: bool = False) -> None:
    req = _transport.current()
    limit = netpolicy.Limits().request_s
    if req is None:
        if wait <= limit:
            return
        raise FactError(f"{what}: more than the {limit:g} s a request may wait", hint)
    if req.budget(wait) >= 0:
        return
    if after_timeout and req.expired:  # the attempts timed out: say that, not that the retries ran out
        raise req.timeout()
    which = (
        "the run's network deadline (MLOPS_GATE_HTTP_RUN_DEADLINE)"
        if req.run_deadline <= req.deadline
        else f"the request deadline ({req.limits.request_s:g} s, MLOPS_GATE_HTTP_REQUEST_DEADLINE)"
    )
    raise FactError(f"{what}: past {which}; {req.method} {req.url} made {req.attempts} attempt(s)", hint)


def retry() -> Retry:
    return BoundedRetry(
        total=MAX_RETRIES,
        connect=2,
        read=2,
        status=MAX_RETRIES,
        backoff_factor=0.5,
        backoff_max=8,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def count_requests(session: Any, meter: Meter) -> None:
    """Count every HTTP response a requests.Session receives (retries included) into the meter."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        meter.count(1 + len(getattr(getattr(response.raw, "retries", None), "history", ()) or ()))
        return response

    session.hooks.setdefault("response", []).append(hook)


def http_failure(
    status: int | None, what: str, url: str, hint_401: str, hint_403: str, hint_404: str | None = None
) -> FactError:
    """A FactError for an HTTP failure reading `what` from `url`, naming the fix."""
    if status == 401:
        return FactError(f"{what}: {url} answered 401 Unauthorized", hint_401)
    if status == 403:
        return FactError(f"{what}: {url} answered 403 Forbidden", hint_403)
    if status == 404:
        return FactError(
            f"{what}: {url} answered 404 Not Found",
            hint_404 or "check the repository name and that the token can see it",
        )
    if status == 429:
        return FactError(f"{what}: {url} kept answering 429 Too Many Requests", "retry later or use another token")
    if status is not None and status >= 500:
        return FactError(f"{what}: {url} answered {status} after {MAX_RETRIES} retries", "the service fails; retry")
    if status is None:
        return FactError(f"{what}: cannot reach {url}", "check the URL (--api-url) and the network")
    return FactError(f"{what}: {url} answered HTTP {status}")
