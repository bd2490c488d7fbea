"""Azure DevOps through the azure-devops SDK: one configured set of clients per run, JSON pages, and
every failure turned into a FactError that says how to fix it.

Why `Client._send` rather than the typed methods: in azure-devops 7.1.0b4 the typed list methods
(`get_builds`, `get_policy_configurations`, `get_refs`, ...) return the deserialized list and drop the
`X-MS-ContinuationToken` header, so a second page can never be asked for. `_send` is the SDK's own
generic call: we give it the location id and api version its typed method uses, and the SDK still does
the work — resource-area and location (OPTIONS) discovery, api-version negotiation, auth, its error
types. We read the JSON ourselves, so a malformed body is reported as such and the facts are built
from the documented REST shapes.

Every client is built by us (not by `Connection.get_client`) so that its msrest configuration sends
through the gate's bounded transport (deadlines, size cap, bounded retries, credentials stripped from
redirects to another origin) with a response hook that counts requests into the meter of the fact being
read; `Connection` would look up resource areas through an internal client we could not configure.
The token goes to the collection URL and to the resource-area hosts it names (organisation services such
as vssps.dev.azure.com) only when they are under the same domain and reached over HTTPS (loopback aside).
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast
from urllib.parse import quote

from mlops_gate.errors import FactError
from mlops_gate.providers import Context, netpolicy
from mlops_gate.providers import _azure_rest as rest
from mlops_gate.providers import http as _http
from mlops_gate.providers._transport import TransportError
from mlops_gate.secrets import redact_values

T = TypeVar("T")


class AzureApi:
    """One organisation/project/repository on one collection URL, with its SDK clients."""

    def __init__(self, base_url: str, org: str, project: str, repo: str, token: str | None, ctx: Context):
        self.base_url, self.org, self.project, self.repo = base_url.rstrip("/"), org, project, repo
        self._token, self._env = token, ctx.env
        limits = netpolicy.limits(ctx.env)
        self._timeout, self.max_pages = limits.attempt_s, limits.max_pages
        self._adapter = _http.adapter(ctx, pool_maxsize=16)
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._areas: dict[str, str] | None = None

    def _creds(self) -> Any:
        from msrest.authentication import Authentication, BasicAuthentication

        return BasicAuthentication("", self._token) if self._token else Authentication()

    def _configure(self, client: Any) -> Any:
        """Our transport and counting hook on the client's msrest configuration. msrest builds its
        (thread-local) requests session when the client is made, so the transport is mounted on the session
        at every send through msrest's public `session_configuration_callback`."""
        adapter = self._adapter

        def configure_session(session: Any, global_config: Any, local_config: Any, **kwargs: Any) -> Any:
            if session.adapters.get("https://") is not adapter:
                session.mount("https://", adapter)
                session.mount("http://", adapter)
            return kwargs

        client.config.session_configuration_callback = configure_session
        client.config.connection.timeout = self._timeout
        client.config.hooks.append(rest.hook)
        return client

    def _area_urls(self) -> dict[str, str]:
        """Resource area id -> its URL (GET _apis/ResourceAreas); empty on Azure DevOps Server."""
        if self._areas is None:
            from azure.devops.v7_1.location.location_client import LocationClient

            client = self._configure(LocationClient(self.base_url, self._creds()))
            areas = self.call(client.get_resource_areas, "resource areas", f"{self.base_url}/_apis/ResourceAreas")
            self._areas = {str(a.id).lower(): str(a.location_url) for a in areas or () if a.id and a.location_url}
            for url in self._areas.values():
                self._check_area(url)
        return self._areas

    def _check_area(self, url: str) -> None:
        """The token may go to a resource area the collection names only over HTTPS and under its domain."""
        netpolicy.require_secure(url, self._env, "Azure DevOps resource area", "the server's ResourceAreas")
        base, area = netpolicy.origin(self.base_url)[1], netpolicy.origin(url)[1]
        labels = base.split(".")
        domain = ".".join(labels[1:]) if len(labels) >= 3 and not base.replace(".", "").isdigit() else base
        if area != base and not area.endswith("." + domain):
            raise FactError(
                f"resource areas: {self.base_url} names {netpolicy.shown(url)}, outside {domain}: the "
                "token is not sent there",
                "check --api-url (or SYSTEM_COLLECTIONURI): it must be the "
                "collection URL, e.g. https://dev.azure.com/ORG/",
            )

    def client(self, kind: str) -> Any:
        with self._lock:
            if kind not in self._clients:
                module, _, name = rest.CLIENTS[kind].rpartition(".")
                cls = getattr(importlib.import_module(module), name)
                url = self._area_urls().get(str(cls.resource_area_identifier).lower(), self.base_url)
                self._clients[kind] = self._configure(cls(url, self._creds()))
            return self._clients[kind]

    def call(self, fn: Callable[[], T], what: str, url: str, hint_404: str | None = None) -> T:
        """Run one SDK call, translating every failure into a FactError that names the fix."""
        from azure.core.exceptions import DeserializationError
        from azure.devops.exceptions import AzureDevOpsClientRequestError
        from msrest.exceptions import AuthenticationError, ClientException

        rest.LAST.status, rest.LAST.url = None, url
        try:
            return fn()
        except TransportError as exc:  # a deadline, a size cap, a refused redirect
            raise FactError(f"{what}: {exc.message}", exc.hint) from None
        except FactError:
            raise
        except RecursionError:
            raise _malformed(what, getattr(rest.LAST, "url", None) or url, "JSON nested too deeply") from None
        except DeserializationError:
            raise _malformed(what, getattr(rest.LAST, "url", None) or url) from None
        except (AzureDevOpsClientRequestError, AuthenticationError) as exc:
            status = getattr(rest.LAST, "status", None)
            where = getattr(rest.LAST, "url", None) or url
            if status is None or status < 300:
                raise _malformed(what, where) from None
            err = _http.http_failure(
                status, what, where, rest.SCOPES, f"the token lacks a permission: {rest.SCOPES}", hint_404
            )
            detail = _redact(str(getattr(exc, "message", "") or ""), self._token)
            if detail and status not in (401, 429) and status < 500:
                raise FactError(f"{err.message}: {detail}", err.hint) from None
            raise err from None
        except ClientException as exc:  # no HTTP answer: refused, DNS, TLS, timeout (after the bounded retries)
            if "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
                raise FactError(
                    f"{what}: {url} did not answer within {self._timeout:g} s",
                    "check the URL (--api-url) and the network, or raise MLOPS_GATE_HTTP_TIMEOUT",
                ) from None
            raise _http.http_failure(None, what, url, rest.SCOPES, rest.SCOPES) from None
        except ValueError as exc:  # the SDK: "API resource location ... is not registered on ..."
            raise FactError(
                f"{what}: {_redact(str(exc), self._token)}",
                "the server does not offer this API (an old Azure DevOps Server?); check --api-url",
            ) from None

    def get(
        self,
        location: rest.Location,
        what: str,
        route: dict[str, str],
        query: dict[str, Any] | None = None,
        hint_404: str | None = None,
    ) -> tuple[Any, str | None, str]:
        """One GET: (parsed JSON, continuation token, URL read)."""
        kind, location_id, version = location
        client = self.client(kind)
        route = {"project": self.project, **route}
        params = {
            k: quote(str(v).lower() if isinstance(v, bool) else str(v), safe="")
            for k, v in (query or {}).items()
            if v is not None
        }
        url = f"{self.base_url}/{self.project}/_apis"

        def send() -> Any:
            return client._send(
                http_method="GET",
                location_id=location_id,
                version=version,
                route_values={k: quote(v, safe="") for k, v in route.items()},
                query_parameters=params,
            )

        response = self.call(send, what, url, hint_404)
        url = rest.clean(response.url)
        try:
            body = json.loads(response.text)
        except RecursionError:
            raise _malformed(what, url, "JSON nested too deeply") from None
        except ValueError:
            raise _malformed(what, url) from None
        return body, response.headers.get("X-MS-ContinuationToken") or None, url

    def pages(
        self,
        location: rest.Location,
        what: str,
        route: dict[str, str],
        query: dict[str, Any] | None = None,
        notes: list[str] | None = None,
        newest: int | None = None,
    ) -> Iterator[tuple[list[Any], str]]:
        """Every page of a list that pages with continuation tokens. More pages than the cap is an error
        (the list is never judged on a part), except for a newest-first walk that stops on purpose after
        `newest` pages: that is noted."""
        token: str | None = None
        seen: set[str] = set()
        for _ in range(newest or self.max_pages):
            body, token, url = self.get(location, what, route, {**(query or {}), "continuationToken": token})
            yield values(body, what, url), url
            if not token:
                return
            if token in seen and newest is None:
                raise FactError(
                    f"{what}: the pages of {url} loop (a continuation token repeats)",
                    "the server answered an endless list; check --api-url",
                )
            seen.add(token)
        if newest is not None:
            if notes is not None:
                notes.append(f"{what}: stopped after {newest} pages; older items were not read")
            return
        raise FactError(
            f"{what}: more than {self.max_pages} pages; the rest was not read, so it is not judged",
            "raise MLOPS_GATE_HTTP_MAX_PAGES, or name fewer branches in the policy",
        )

    def repository(self) -> dict[str, Any]:
        body, _, url = self.get(
            rest.REPOSITORY,
            "repository",
            {"repositoryId": self.repo},
            hint_404=f"check the repository {self.org}/{self.project}/{self.repo} "
            "(--repository ORG/PROJECT/REPO) and that the token can read it",
        )
        if not isinstance(body, dict) or not body.get("id"):
            raise FactError(f"repository: malformed response from {url}", "expected a GitRepository object")
        body["_source"] = url
        return body


def values(body: Any, what: str, url: str) -> list[Any]:
    """The `value` list of a VssJsonCollectionWrapper ({count, value})."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise FactError(f"{what}: malformed response from {url}", "expected a JSON object with a 'value' list")
    return items


def _malformed(what: str, url: str, why: str = "") -> FactError:
    return FactError(
        f"{what}: malformed response from {url}" + (f" ({why})" if why else ""),
        "the server did not answer Azure DevOps JSON; check that --api-url (or SYSTEM_COLLECTIONURI) "
        "is the collection URL, e.g. https://dev.azure.com/ORG/",
    )


def _redact(text: str, token: str | None) -> str:
    return redact_values(text, (token,))


def api(ctx: Context) -> AzureApi:
    """The run's AzureApi (shared by the three facts), built from the target and the environment."""
    parts = (ctx.target.repository or "").strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        raise FactError(
            f"Azure DevOps repository {ctx.target.repository!r} is not ORG/PROJECT/REPO",
            "set --repository ORG/PROJECT/REPO (in Azure Pipelines it is detected)",
        )
    org, project, repo = parts
    base = ctx.target.api_url or f"https://dev.azure.com/{org}"
    netpolicy.require_secure(base, ctx.env, "Azure DevOps", "--api-url (or SYSTEM_COLLECTIONURI)")
    token = _http.first_env(ctx.env, *rest.TOKEN_VARS)
    return once(ctx, f"azure:api:{base}:{org}/{project}/{repo}", lambda: AzureApi(base, org, project, repo, token, ctx))


def once(ctx: Context, key: str, make: Callable[[], T]) -> T:
    """`make()` at most once per run (its FactError too): concurrent facts wait for the first call."""
    with ctx.shared.lock:
        lock = cast(threading.Lock, ctx.shared.cache.setdefault(f"{key}#lock", threading.Lock()))
    with lock:
        if key not in ctx.shared.cache:
            try:
                ctx.shared.cache[key] = make()
            except FactError as exc:
                ctx.shared.cache[key] = exc
        value = ctx.shared.cache[key]
    if isinstance(value, FactError):
        raise FactError(value.message, value.hint)
    return cast(T, value)
