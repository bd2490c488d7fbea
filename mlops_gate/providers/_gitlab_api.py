"""GitLab REST access through python-gitlab: bounded retries, counted requests, the project read once
per run, and HTTP failures turned into errors that name the token, scope or tier that would fix them.

Every call addresses the project by its URL-encoded path (GitLab accepts it wherever `:id` is), so no
call waits for `GET /projects/:id` and the independent reads of one fact can run concurrently.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mlops_gate.errors import FactError
from mlops_gate.providers import Context, Meter, Shared, http, netpolicy

PUBLIC_URL = "https://gitlab.com"
JOB_TOKEN_HINT = "set GITLAB_TOKEN to a token with read_api (a project access token)"
TOKEN_HINT = "set GITLAB_TOKEN to a valid token with the read_api scope (it is missing, expired or revoked)"
ROLE_HINT = "give GITLAB_TOKEN the read_api scope and a role that can read project settings (Maintainer)"
REACH_HINT = "check the GitLab URL (--api-url, CI_API_V4_URL or CI_SERVER_URL) and the network"


class Unavailable(Exception):
    """An endpoint answered 401/403/404 where a tier or token, not the project, is the likely cause."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"{url} answered {status}")
        self.status = status
        self.url = url


def base_url(api_url: str | None) -> str:
    """The instance URL python-gitlab wants: CI_API_V4_URL ends in /api/v4, CI_SERVER_URL does not."""
    url = (api_url or PUBLIC_URL).rstrip("/")
    return url[: -len("/api/v4")] if url.endswith("/api/v4") else url


@dataclass
class _Once:
    """A value computed by the first caller; concurrent callers wait for it instead of asking again."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None
    done: bool = False

    def get(self, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if not self.done:
                self.value, self.done = compute(), True
            return self.value


@dataclass
class Api:
    """GitLab's REST API for one project, as one fact reads it: the client, the token it sends, and the meter."""

    gl: Any  # gitlab.Gitlab
    base: str  # https://host/api/v4
    repository: str  # group/sub/project
    auth: str  # GITLAB_TOKEN | CI_JOB_TOKEN | anonymous
    meter: Meter
    shared: Shared
    needed_by: str = ""  # the checks that need this fact, named when CI_JOB_TOKEN cannot read it
    max_pages: int = netpolicy.Limits.max_pages

    @property
    def project_path(self) -> str:
        return "/projects/" + quote(self.repository, safe="")

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def job_token(self) -> bool:
        return self.auth == "CI_JOB_TOKEN"

    def get(self, path: str, what: str, query: Mapping[str, str] | None = None) -> Any:
        url = self.url(path)
        result = self._call(
            lambda: self.gl.http_get(path, query_data=dict(query or {}), obey_rate_limit=False), what, url
        )
        if result is not None and not isinstance(result, (dict, list)):  # a non-JSON body: requests.Response
            raise FactError(f"GitLab {what}: malformed response from {url} (not JSON)", REACH_HINT)
        self.meter.read(url)
        return result

    def list(self, path: str, what: str, query: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every page, following the `Link: rel="next"` headers GitLab sends, on the API's own origin only.
        A list longer than the page cap, or whose next links loop, is an error: never judged on a part."""
        url = self.url(path)
        target, data = path, {"per_page": "100", **(query or {})}
        items: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for _ in range(self.max_pages):
            fetch = functools.partial(self.gl.http_request, "get", target, query_data=data, obey_rate_limit=False)
            response = self._call(fetch, what, url)
            page = self._json(response, what, url)
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                raise FactError(
                    f"GitLab {what}: malformed response from {url} (expected a list of objects)", REACH_HINT
                )
            items.extend(page)
            seen.add(netpolicy.page_key(str(response.url)))
            following = (response.links.get("next") or {}).get("url")
            if not following:
                self.meter.read(url)
                return items
            if netpolicy.origin(following) != netpolicy.origin(self.base):
                raise FactError(
                    f"GitLab {what}: the next page of {url} is on another host "
                    f"({netpolicy.shown(following)}); not followed",
                    REACH_HINT,
                )
            if netpolicy.page_key(following) in seen:
                raise FactError(
                    f"GitLab {what}: the pages of {url} loop (the next link repeats {netpolicy.shown(following)})",
                    "the API answered an endless list; " + REACH_HINT,
                )
            target, data = following, {}  # the next link carries its own query
        raise FactError(
            f"GitLab {what}: {url} has more than {self.max_pages} pages of 100; the rest was not read, "
            "so it is not judged",
            "raise MLOPS_GATE_HTTP_MAX_PAGES, or name fewer branches in the policy",
        )

    def _json(self, response: Any, what: str, url: str) -> Any:
        try:
            return response.json()
        except RecursionError:
            raise FactError(
                f"GitLab {what}: malformed response from {url} (JSON nested too deeply)", REACH_HINT
            ) from None
        except ValueError:
            raise FactError(f"GitLab {what}: malformed response from {url} (not JSON)", REACH_HINT) from None

    def optional(self, fetch: Callable[[], Any]) -> Any:
        """Run a read of a feature that a tier or the job token may hide: 401/403/404 raise Unavailable."""
        try:
            return fetch()
        except _Denied as e:
            if e.status == 401 and not self.job_token:
                raise  # a bad token fails every read: say so rather than blame the tier
            raise Unavailable(e.status, e.url) from None

    def project(self) -> dict[str, Any]:
        """`GET /projects/:id`, once per run (shared by every GitLab fact)."""
        key = f"gitlab:project:{self.base}:{self.repository}"
        with self.shared.lock:
            once = self.shared.cache.setdefault(key, _Once())
        assert isinstance(once, _Once)
        value = once.get(lambda: self.get(self.project_path, "project settings"))
        if not isinstance(value, dict):
            raise FactError(
                f"GitLab project settings: malformed response from {self.url(self.project_path)}", REACH_HINT
            )
        return value

    def _call(self, fetch: Callable[[], Any], what: str, url: str) -> Any:
        import gitlab.exceptions as gle
        import requests

        try:
            return fetch()
        except RecursionError:
            raise FactError(
                f"GitLab {what}: malformed response from {url} (JSON nested too deeply)", REACH_HINT
            ) from None
        except gle.GitlabParsingError:
            raise FactError(f"GitLab {what}: malformed response from {url}", REACH_HINT) from None
        except gle.GitlabError as e:  # GitlabHttpError, GitlabAuthenticationError
            raise self._failure(e.response_code, what, url) from None
        except requests.exceptions.RequestException:
            raise FactError(f"GitLab {what}: cannot reach {url}", REACH_HINT) from None
        except _Denied:
            raise
        except FactError as e:  # the transport: a deadline, a size cap, a refused redirect
            raise FactError(f"GitLab {what}: {e.message}", e.hint) from None

    def _failure(self, status: int | None, what: str, url: str) -> FactError:
        if status not in (401, 403, 404):
            return http.http_failure(status, f"GitLab {what}", url, TOKEN_HINT, ROLE_HINT)
        if self.job_token:
            needed = f", needed by {self.needed_by}" if self.needed_by else ""
            return _Denied(
                f"GitLab {what}: CI_JOB_TOKEN cannot read {what}{needed} ({url} answered {status})",
                JOB_TOKEN_HINT,
                status,
                url,
            )
        if status == 404 and url == self.url(self.project_path):
            return _Denied(
                f"GitLab {what}: {url} answered 404: project {self.repository} not found or the token cannot see it",
                "check --repository (group/subgroup/project) and that the token's user is a member of the project",
                status,
                url,
            )
        error = http.http_failure(status, f"GitLab {what}", url, TOKEN_HINT, ROLE_HINT)
        return _Denied(error.message, error.hint, status, url)


class _Denied(FactError):
    """401/403/404: an error for a required read, Unavailable for an optional one."""

    def __init__(self, message: str, hint: str | None, status: int, url: str) -> None:
        super().__init__(message, hint)
        self.status = status
        self.url = url


def connect(ctx: Context, needed_by: str = "") -> Api:
    """A python-gitlab client for this fact, counting its requests into the fact's own meter; the
    connection pool (and the project read) are shared by every GitLab fact of the run. The token goes to
    the configured instance only (https, loopback aside): the transport strips it from redirects to
    another origin, and `list` follows next links on the instance's origin only."""
    import gitlab
    import requests

    base = base_url(ctx.target.api_url)
    netpolicy.require_secure(base, ctx.env, "GitLab API", "--api-url (or CI_API_V4_URL / CI_SERVER_URL)")
    with ctx.shared.lock:
        adapter = ctx.shared.cache.get(f"gitlab:adapter:{base}")
    if adapter is None:  # http.adapter reads the run's clock, which takes no lock of ctx.shared's
        made = http.adapter(ctx, pool_maxsize=16)
        with ctx.shared.lock:
            adapter = ctx.shared.cache.setdefault(f"gitlab:adapter:{base}", made)
    session = requests.Session()
    session.mount("https://", adapter)  # type: ignore[arg-type]
    session.mount("http://", adapter)  # type: ignore[arg-type]
    http.count_requests(session, ctx.meter)
    token = http.first_env(ctx.env, "GITLAB_TOKEN")
    job_token = None if token else http.first_env(ctx.env, "CI_JOB_TOKEN")
    gl = gitlab.Gitlab(
        base,
        private_token=token,
        job_token=job_token,
        timeout=http.timeout(ctx.env),
        session=session,
        retry_transient_errors=False,
        per_page=100,
    )
    auth = "GITLAB_TOKEN" if token else "CI_JOB_TOKEN" if job_token else "anonymous"
    return Api(
        gl,
        base + "/api/v4",
        ctx.target.repository or "",
        auth,
        ctx.meter,
        ctx.shared,
        needed_by,
        netpolicy.limits(ctx.env).max_pages,
    )
