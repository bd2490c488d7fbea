"""The GitHub REST transport the three GitHub facts share: one PyGithub requester and one repository
read per run, bounded retries, request counting, pagination, and failures turned into FactErrors.

Requests go through PyGithub's public `Requester.requestJsonAndCheck` (auth, base URL prefix for GitHub
Enterprise Server, error mapping); payloads are read as plain JSON so a missing field never makes
PyGithub fetch an object lazily behind our back.

How requests are sent and counted: _github_transport.py.
"""

from __future__ import annotations

import math
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.providers import Context, Meter, http, netpolicy
from mlops_gate.providers import _github_transport as counting
from mlops_gate.providers._github_transport import counting_retry, requester_class
from mlops_gate.secrets import redact_values

DEFAULT_API = "https://api.github.com"
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")


def _redact_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class NotFound(FactError):
    """A 404 nobody allowed: callers that can do without the resource catch it."""


@dataclass(frozen=True)
class Reply:
    """One answer of the GitHub REST API: status, JSON body and headers (an allowed failure, such as a 404, too)."""

    status: int
    data: Any
    headers: dict[str, Any]

    @property
    def message(self) -> str:
        msg = self.data.get("message") if isinstance(self.data, dict) else None
        return msg if isinstance(msg, str) else ""

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or (self.status == 403 and self.headers.get("x-ratelimit-remaining") == "0")


@dataclass
class Api:
    """One authenticated PyGithub client for one repository on one API base URL."""

    base: str  # the API base URL, without credentials, for messages and sources
    slug: str
    token: str | None
    requester: Any
    max_pages: int = netpolicy.Limits.max_pages
    _repo_lock: threading.Lock = field(default_factory=threading.Lock)
    _repo: dict[str, Any] | None = None
    _repo_error: FactError | None = None

    def url(self, path: str) -> str:
        return self.base + path

    def scrub(self, text: str) -> str:
        return redact_values(text, (self.token,))

    def fail(self, message: str, hint: str | None = None) -> FactError:
        return FactError(self.scrub(message), self.scrub(hint) if hint else None)

    def get(
        self,
        meter: Meter,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        what: str,
        hint_403: str = "the token lacks the permission to read this",
        hint_404: str | None = None,
        allow: tuple[int, ...] = (),
    ) -> Reply:
        """GET `path` (relative to the base, or an absolute next-page URL). Statuses in `allow` are
        returned as facts (e.g. 404 "Branch not protected"); any other failure raises a FactError."""
        import github
        import requests

        shown = path if path.startswith("http") else self.url(path)
        counting.current.meter = meter
        try:
            headers, data = self.requester.requestJsonAndCheck("GET", path, parameters=params)
        except github.GithubException as exc:
            reply = Reply(exc.status, exc.data, {k.lower(): v for k, v in (exc.headers or {}).items()})
            if exc.status in allow and not reply.rate_limited:
                return reply
            error = self.http_error(reply, what, shown, hint_403, hint_404)
            raise (NotFound(error.message, error.hint) if exc.status == 404 else error) from None
        except ValueError as exc:  # json.JSONDecodeError, or a body PyGithub could not take apart
            raise self.malformed(what, shown, str(exc)) from None
        except RecursionError:
            raise self.malformed(what, shown, "JSON nested too deeply") from None
        except requests.exceptions.RequestException as exc:
            raise self.fail(
                f"{what}: cannot reach {self.base} ({type(exc).__name__})",
                "check the API URL (--api-url, GITHUB_API_URL) and the network",
            ) from None
        except FactError as exc:  # the transport: a deadline, a size cap, a wait too long to sit out
            raise self.fail(f"{what}: {exc.message}", exc.hint) from None
        except AssertionError:  # PyGithub refuses a next-page URL on another host
            raise self.fail(f"{what}: {shown} points outside {self.base}", "check --api-url") from None
        except RuntimeError as exc:  # PyGithub refuses a 301 to another host or scheme
            raise self.fail(f"{what}: {shown}: {exc}", "check --api-url") from None
        finally:
            counting.current.meter = None
        if isinstance(data, dict) and "data" in data and set(data) <= {"data", "url"}:
            raise self.malformed(what, shown, "not JSON")  # PyGithub wraps a non-JSON body as {"data": text}
        return Reply(200, data, headers)

    def malformed(self, what: str, url: str, why: str) -> FactError:
        return self.fail(
            f"{what}: malformed response from {url}: {why}",
            "the API answered something that is not GitHub's REST JSON; check --api-url",
        )

    def http_error(self, reply: Reply, what: str, url: str, hint_403: str, hint_404: str | None) -> FactError:
        status = reply.status
        detail = f" ({reply.message})" if reply.message else ""
        if reply.rate_limited:
            reset = reply.headers.get("x-ratelimit-reset")
            when = f"; it resets at epoch {reset}" if reset else ""
            return self.fail(
                f"{what}: rate limited by {self.base}{when}",
                "retry later, or use a token with a higher rate limit (GITHUB_TOKEN / GH_TOKEN)",
            )
        if status == 401:
            hint = (
                "set GITHUB_TOKEN (or GH_TOKEN) to a valid token: the one given was rejected"
                if self.token
                else "set GITHUB_TOKEN (or GH_TOKEN): this endpoint needs authentication"
            )
            return self.fail(f"{what}: {url} answered 401 Unauthorized{detail}", hint)
        failure = http.http_failure(status, what, url, hint_401="", hint_403=hint_403, hint_404=hint_404)
        return self.fail(failure.message + detail, failure.hint)

    def paginate(
        self,
        meter: Meter,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        what: str,
        hint_403: str = "the token lacks the permission to read this",
        hint_404: str | None = None,
    ) -> list[Any]:
        """Every item of a paginated list, following `Link: rel="next"` on the API's own origin; `key` names
        the list in an object-shaped page (`check_runs`, `branch_policies`). A list longer than the page cap,
        or one whose next links loop, is an error: never judged on the pages that were read."""
        items: list[Any] = []
        url = path
        query: dict[str, Any] | None = {**(params or {}), "per_page": 100}
        seen: set[tuple[Any, ...]] = set()
        for _ in range(self.max_pages):
            reply = self.get(meter, url, query, what=what, hint_403=hint_403, hint_404=hint_404)
            data = reply.data
            page = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(page, list):
                raise self.fail(
                    f"{what}: malformed response from {self.url(path)}: expected a list"
                    + (f" under {key!r}" if key else "")
                )
            items.extend(page)
            following = _next_link(reply.headers.get("link"))
            if following is None:
                return items
            if netpolicy.origin(following) != netpolicy.origin(self.base):
                raise self.fail(
                    f"{what}: the next page of {self.url(path)} is on another host "
                    f"({netpolicy.shown(following)}); not followed",
                    "check --api-url",
                )
            if netpolicy.page_key(following) in seen:
                raise self.fail(
                    f"{what}: the pages of {self.url(path)} loop (the next link repeats {netpolicy.shown(following)})",
                    "the API answered an endless list; check --api-url",
                )
            seen.add(netpolicy.page_key(following))
            url, query = following, None  # the next URL carries its own query
        raise self.fail(
            f"{what}: {self.url(path)} has more than {self.max_pages} pages of 100; the rest was not "
            "read, so it is not judged",
            "raise MLOPS_GATE_HTTP_MAX_PAGES, or name fewer items in the policy (a narrower branch glob)",
        )

    def repo(self, meter: Meter) -> dict[str, Any]:
        """`GET /repos/{owner}/{name}`, read once per run whichever fact asks first."""
        with self._repo_lock:
            if self._repo_error is not None:
                raise self._repo_error
            if self._repo is None:
                url = self.url(f"/repos/{self.slug}")
                try:
                    reply = self.get(meter, f"/repos/{self.slug}", what=f"repository {self.slug}", allow=(404,))
                    if reply.status == 404:
                        raise self.fail(
                            f"repository {self.slug} not found or the token cannot see it ({url} answered 404)",
                            "check --repository, and that GITHUB_TOKEN (or GH_TOKEN) "
                            "is set to a token that can read this repository",
                        )
                    if not isinstance(reply.data, dict) or "default_branch" not in reply.data:
                        raise self.malformed(f"repository {self.slug}", url, "no default_branch")
                except FactError as exc:
                    self._repo_error = exc
                    raise
                self._repo = reply.data
        meter.read(self.url(f"/repos/{self.slug}"))
        return self._repo


def _next_link(link: str | None) -> str | None:
    for part in (link or "").split(","):
        segs = part.split(";")
        if len(segs) > 1 and any(s.strip() in ('rel="next"', "rel=next") for s in segs[1:]):
            return segs[0].strip().strip("<>")
    return None


def api(ctx: Context) -> Api:
    """The run's client for the target repository (created once, shared by the three facts)."""
    base = (ctx.target.api_url or ctx.env.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    slug = (ctx.target.repository or "").strip("/")
    if slug.count("/") != 1:
        raise FactError(f"GitHub repository {slug!r} is not owner/name", "set --repository OWNER/NAME")
    key = f"github:api:{base}:{slug}"
    with ctx.shared.lock:
        found = ctx.shared.cache.get(key)
        if isinstance(found, Api):
            return found
        created = _create(base, slug, ctx)
        ctx.shared.cache[key] = created
        return created


def _create(base: str, slug: str, ctx: Context) -> Api:
    from github import Auth, Consts

    token = http.first_env(ctx.env, *TOKEN_VARS)
    netpolicy.require_secure(base, ctx.env, "GitHub API", "--api-url (or GITHUB_API_URL)")
    requester = requester_class(http.session(ctx, counting_retry()))(
        auth=Auth.Token(token) if token else None,
        base_url=base,
        timeout=max(1, math.ceil(http.timeout(ctx.env))),  # the transport bounds every attempt itself
        user_agent=Consts.DEFAULT_USER_AGENT,
        per_page=100,
        verify=True,
        retry=None,  # the transport retries (counting_retry)
        pool_size=None,
        seconds_between_requests=None,  # PyGithub's default pacing (0.25 s) is for writes; we only read
        seconds_between_writes=None,
    )
    return Api(_redact_url(base), slug, token, requester, netpolicy.limits(ctx.env).max_pages)
