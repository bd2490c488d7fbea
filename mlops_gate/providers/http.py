"""What every network provider shares: credentials, timeouts, bounded retries, request counting, and
HTTP failures turned into errors that say how to fix them. Imported only by providers that talk HTTP."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from urllib3.util.retry import Retry

from mlops_gate.errors import FactError
from mlops_gate.providers import Meter

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRIES = 4
MAX_WAIT_S = 60.0  # longest single wait (Retry-After / rate-limit reset) we accept before failing clearly
DEFAULT_TIMEOUT_S = 20.0


def first_env(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` set in the environment (credentials never come from the policy)."""
    for name in names:
        if env.get(name):
            return env[name]
    return None


def timeout(env: Mapping[str, str]) -> float:
    try:
        return float(env.get("MLOPS_GATE_HTTP_TIMEOUT", DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S


class BoundedRetry(Retry):
    """urllib3 Retry that honours Retry-After and X-RateLimit-Reset, but never waits past MAX_WAIT_S:
    a longer wait fails now with a clear message instead of hanging a CI job."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        reset = response.headers.get("X-RateLimit-Reset") if response is not None else None
        if after is None and reset and response.headers.get("X-RateLimit-Remaining") == "0":
            try:
                after = max(0.0, float(reset) - time.time())
            except ValueError:
                after = None
        if after is not None and after > MAX_WAIT_S:
            raise FactError(
                f"rate limited by {response.geturl() or 'the API'} for another {int(after)} s",
                "wait, or use a token with a higher rate limit (an app or PAT rather than an anonymous call)",
            )
        return after


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


def http_failure(status: int | None, what: str, url: str, hint_401: str, hint_403: str,
                 hint_404: str | None = None) -> FactError:
    """A FactError for an HTTP failure reading `what` from `url`, naming the fix."""
    if status == 401:
        return FactError(f"{what}: {url} answered 401 Unauthorized", hint_401)
    if status == 403:
        return FactError(f"{what}: {url} answered 403 Forbidden", hint_403)
    if status == 404:
        return FactError(f"{what}: {url} answered 404 Not Found",
                         hint_404 or "check the repository name and that the token can see it")
    if status == 429:
        return FactError(f"{what}: {url} kept answering 429 Too Many Requests", "retry later or use another token")
    if status is not None and status >= 500:
        return FactError(f"{what}: {url} answered {status} after {MAX_RETRIES} retries", "the service fails; retry")
    if status is None:
        return FactError(f"{what}: cannot reach {url}", "check the URL (--api-url) and the network")
    return FactError(f"{what}: {url} answered HTTP {status}")
