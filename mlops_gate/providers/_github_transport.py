"""How the GitHub client sends and counts its requests.

Transport: PyGithub's documented `Requester.injectConnectionClasses` swaps the classes it sends through;
it is called on a subclass of `Requester` made for this run's client (PyGithub's own class is left
alone), and our classes send through one `requests.Session` on the gate's bounded transport (deadlines,
size cap, credentials kept to the API's origin). One connection object per request also means threads
reading facts concurrently never share one.

Counting: requests are counted where every attempt passes, in the urllib3 `Retry` of that transport:
urllib3 asks `Retry.is_retry()` once per response and calls `Retry.increment(error=...)` once per failed
connection. The counter adds to the meter of the calling thread (facts are read concurrently through
one shared client).
"""

from __future__ import annotations

import copy
import threading
import urllib.parse
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.providers import Meter, http, netpolicy

MAX_REDIRECTS = 5
current = threading.local()  # .meter: the Meter of the fact this thread is reading


def _count_attempt() -> None:
    meter: Meter | None = getattr(current, "meter", None)
    if meter is not None:
        meter.requests += 1


class _CountingRetry(http.BoundedRetry):
    """`http.retry()` that also counts every attempt into the calling thread's meter."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        _count_attempt()  # urllib3 asks this once for every response it receives
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, *args: Any, **kwargs: Any) -> _CountingRetry:
        if kwargs.get("error") is not None:  # an attempt that got no response at all
            _count_attempt()
        return super().increment(*args, **kwargs)


def counting_retry() -> _CountingRetry:
    retry = copy.copy(http.retry())  # the shared policy, whatever its parameters ...
    retry.__class__ = _CountingRetry  # ... plus counting (same fields: a subclass adding only methods)
    return retry  # type: ignore[return-value]


def requester_class(session: Any) -> type[Any]:
    """A `Requester` subclass whose connections send through `session` (see the module docstring)."""
    from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester, RequestsResponse

    class Connection:
        protocol = "https"

        def __init__(
            self,
            host: str,
            port: int | None = None,
            strict: bool = False,
            timeout: Any = None,
            retry: Any = None,
            pool_size: Any = None,
            **kwargs: Any,
        ) -> None:
            self.host, self.port = host, port or (443 if self.protocol == "https" else 80)
            self.verify = kwargs.get("verify", True)

        def request(self, verb: str, url: str, input: Any, headers: dict[str, str], stream: bool = False) -> None:
            self.verb, self.url, self.input, self.headers = verb, url, input, headers

        def getresponse(self) -> Any:
            """The answer, following redirects on the API's own origin (PyGithub itself follows only 301s
            and takes any other 3xx for an empty answer); a redirect to another host is an error, and so is
            a 202 (PyGithub would wait 2 s and ask again, for as long as the server says 202)."""
            url = f"{self.protocol}://{self.host}:{self.port}{self.url}"
            for _ in range(MAX_REDIRECTS + 1):
                response = session.request(
                    self.verb, url, headers=self.headers, data=self.input, verify=self.verify, allow_redirects=False
                )
                if response.status_code == 202:  # PyGithub would sleep and ask again, without end
                    raise FactError(
                        f"{self.verb} {netpolicy.shown(url)} answered 202 Accepted (not ready yet); not waited for",
                        "retry later",
                    )
                if not response.is_redirect:
                    return RequestsResponse(response)
                target = urllib.parse.urljoin(url, response.headers["Location"])
                if netpolicy.origin(target) != netpolicy.origin(url):
                    raise FactError(
                        f"{self.verb} {netpolicy.shown(url)} answered {response.status_code}, a redirect "
                        f"to {netpolicy.shown(target)} on another host: not followed",
                        "the GitHub API answers from its own host; check --api-url",
                    )
                url = target
            raise FactError(
                f"{self.verb} {netpolicy.shown(url)}: more than {MAX_REDIRECTS} redirects", "check --api-url"
            )

        def close(self) -> None:  # the session outlives one request: its pool keeps the connection alive
            pass

    class HTTPS(Connection, HTTPSRequestsConnectionClass):
        protocol = "https"

    class HTTP(Connection, HTTPRequestsConnectionClass):
        protocol = "http"

    class BoundRequester(Requester):
        pass

    BoundRequester.injectConnectionClasses(HTTP, HTTPS)
    return BoundRequester
