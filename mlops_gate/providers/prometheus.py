"""Live Prometheus and Alertmanager over their HTTP APIs: plain `requests`, no SDK.

Credentials only from the environment: `MLOPS_GATE_PROMETHEUS_TOKEN` (bearer) or
`MLOPS_GATE_PROMETHEUS_USERNAME`/`_PASSWORD` (basic auth), and the same `MLOPS_GATE_ALERTMANAGER_*`
for Alertmanager; sent only to the configured URL's origin (https, loopback aside; the transport strips
them from a redirect to another origin). Each endpoint is read once, concurrently; every attempt (retries
included) is counted.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from mlops_gate import yamlio
from mlops_gate.errors import FactError
from mlops_gate.facts.prometheus import (
    ActiveAlert,
    AlertmanagerState,
    LoadedRule,
    MetricSamples,
    PrometheusState,
    ScrapeTarget,
    Silence,
    SilenceMatcher,
)
from mlops_gate.providers import Context, Meter, http, netpolicy

T = TypeVar("T")


class _Client:
    """One service: base URL, auth from the environment, bounded retries, counted attempts."""

    def __init__(self, ctx: Context, url: str, service: str, flag: str) -> None:
        self.base, self.service, self.flag, self.env = url.rstrip("/"), service, flag, ctx.env
        netpolicy.require_secure(self.base, ctx.env, service, flag)
        self.prefix = f"MLOPS_GATE_{service.upper()}"
        self.timeout = http.timeout(ctx.env)
        self.session = http.session(ctx)
        self.session.auth = http.no_netrc  # only the credentials set for this service, not ~/.netrc's
        self.session.headers["Accept"] = "application/json"
        token = http.first_env(ctx.env, f"{self.prefix}_TOKEN")
        user = http.first_env(ctx.env, f"{self.prefix}_USERNAME")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif user:
            self.session.auth = (user, ctx.env.get(f"{self.prefix}_PASSWORD", ""))
        self.has_auth = bool(token or user)
        _count(self.session, ctx.meter)
        self.meter = ctx.meter

    def get(self, path: str, what: str, params: Mapping[str, str] | None = None, ok: tuple[int, ...] = ()) -> Any:
        """The decoded JSON of GET base+path; statuses in `ok` return the body instead of failing."""
        import requests

        url = self.base + path
        try:
            resp = self.session.get(url, params=params, timeout=self.timeout)
        except FactError as exc:  # the transport: a deadline, a size cap, a refused redirect
            raise FactError(f"{what}: {exc.message}", exc.hint) from None
        except requests.RequestException as exc:
            raise FactError(
                f"{what}: cannot reach {self.base} ({type(exc).__name__})",
                f"check {self.flag} and that {self.service} is reachable from where the gate runs",
            ) from None
        if resp.status_code >= 400 and resp.status_code not in ok:
            raise self._failure(resp.status_code, what, url)
        try:
            data = resp.json()
        except RecursionError:
            raise FactError(
                f"{what}: {url} answered JSON nested too deeply",
                f"check {self.flag}: it must be {self.service}'s base URL",
            ) from None
        except ValueError:
            raise FactError(
                f"{what}: {url} did not answer JSON (HTTP {resp.status_code})",
                f"check {self.flag}: it must be {self.service}'s base URL, with any path prefix",
            ) from None
        with _lock:
            self.meter.sources.append(url)
        return data

    def _failure(self, status: int, what: str, url: str) -> FactError:
        creds = f"{self.prefix}_TOKEN (bearer) or {self.prefix}_USERNAME/_PASSWORD (basic auth)"
        if self.has_auth:
            hint_401 = f"the credentials in {creds} were rejected"
        else:
            hint_401 = f"{self.service} wants credentials: set {creds}"
        return http.http_failure(
            status,
            what,
            url,
            hint_401,
            f"the credentials in {creds} may not read {url}",
            f"check {self.flag}: it must be {self.service}'s base URL (e.g. http://host:9090), with any path prefix",
        )

    def close(self) -> None:
        self.session.close()


_lock = threading.Lock()


def _count(session: Any, meter: Meter) -> None:
    """Like http.count_requests, but safe when several threads share the session."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        retries = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        with _lock:
            meter.requests += 1 + len(retries)
        return response

    session.hooks.setdefault("response", []).append(hook)


def _data(payload: Any, what: str) -> Any:
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else None
        raise FactError(f"{what}: Prometheus answered {error or 'an unexpected payload'}")
    return payload.get("data")


def _run_all(calls: list[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(max_workers=min(8, len(calls))) as pool:
        return list(pool.map(lambda call: call(), calls))


def _strs(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


# --- Prometheus --------------------------------------------------------------------------------------


def prometheus_state(ctx: Context) -> PrometheusState:
    """Rules, active targets, pending/firing alerts, and one `count()` query per required metric."""
    url = ctx.target.prometheus_url
    if not url:
        raise FactError("no Prometheus URL", "set --prometheus-url or target.prometheus_url")
    client = _Client(ctx, url, "Prometheus", "--prometheus-url")
    metrics = sorted(ctx.scope)
    try:
        calls: list[Callable[[], Any]] = [
            lambda: _data(client.get("/api/v1/rules", "Prometheus rules"), "Prometheus rules"),
            lambda: _data(
                client.get("/api/v1/targets", "Prometheus targets", {"state": "active"}), "Prometheus targets"
            ),
            lambda: _data(client.get("/api/v1/alerts", "Prometheus alerts"), "Prometheus alerts"),
            *(functools.partial(_samples, client, m) for m in metrics),
        ]
        rules, targets, alerts, *samples = _run_all(calls)
    finally:
        client.close()
    return PrometheusState(
        url=client.base,
        rules=tuple(_rules(rules)),
        targets=tuple(_targets(targets)),
        samples=tuple(samples),
        alerts=tuple(_alerts(alerts)),
    )


def _samples(client: _Client, metric: str) -> MetricSamples:
    what = f"Prometheus query for {metric}"
    payload = client.get("/api/v1/query", what, {"query": f"count(({metric}))"}, ok=(400, 422))
    if isinstance(payload, dict) and payload.get("status") == "error":
        return MetricSamples(metric, 0, str(payload.get("error") or payload.get("errorType") or "query failed"))
    result = (_data(payload, what) or {}).get("result") or []
    try:
        return MetricSamples(metric, int(float(result[0]["value"][1])) if result else 0)
    except (KeyError, IndexError, TypeError, ValueError):
        raise FactError(f"{what}: unexpected result {result!r:.200}") from None


def _rules(data: Any) -> list[LoadedRule]:
    out = []
    for group in (data or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            out.append(
                LoadedRule(
                    name=str(rule.get("name", "")),
                    type=str(rule.get("type", "")),
                    group=str(group.get("name", "")),
                    file=str(group.get("file", "")),
                    health=str(rule.get("health") or "unknown"),
                    last_error=str(rule.get("lastError") or ""),
                    labels=_strs(rule.get("labels")),
                    query=str(rule.get("query", "")),
                )
            )
    return out


def _targets(data: Any) -> list[ScrapeTarget]:
    return [
        ScrapeTarget(
            labels=_strs(t.get("labels")),
            health=str(t.get("health") or "unknown"),
            scrape_url=str(t.get("scrapeUrl", "")),
            last_error=str(t.get("lastError") or ""),
            scrape_pool=str(t.get("scrapePool", "")),
        )
        for t in (data or {}).get("activeTargets") or []
    ]


def _alerts(data: Any) -> list[ActiveAlert]:
    return [
        ActiveAlert(
            labels=_strs(a.get("labels")),
            state=str(a.get("state", "")),
            active_at=str(a.get("activeAt") or ""),
            value=str(a.get("value") or ""),
        )
        for a in (data or {}).get("alerts") or []
    ]


# --- Alertmanager ------------------------------------------------------------------------------------


def alertmanager_state(ctx: Context) -> AlertmanagerState:
    """The loaded configuration and the silences; `configured=False` (nothing read) without a URL."""
    url = ctx.target.alertmanager_url
    if not url:
        return AlertmanagerState(url="", configured=False)
    client = _Client(ctx, url, "Alertmanager", "--alertmanager-url")
    try:
        status, silences = _run_all(
            [
                lambda: client.get("/api/v2/status", "Alertmanager status"),
                lambda: client.get("/api/v2/silences", "Alertmanager silences"),
            ]
        )
    finally:
        client.close()
    original = (status.get("config") or {}).get("original") if isinstance(status, dict) else None
    if not isinstance(original, str) or not isinstance(silences, list):
        raise FactError(
            f"{client.base} did not answer like Alertmanager's v2 API",
            "check --alertmanager-url: it must be Alertmanager's base URL (e.g. http://host:9093)",
        )
    config, error = _parse_config(original)
    return AlertmanagerState(
        url=client.base, config=config, config_error=error, silences=tuple(_silence(s) for s in silences)
    )


def _parse_config(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        docs = yamlio.load(text).documents
    except yamlio.YamlSyntaxError as exc:
        return None, str(exc)
    doc = docs[0] if docs else None
    return (doc, "") if isinstance(doc, dict) else (None, "the configuration is not a YAML mapping")


def _silence(s: Any) -> Silence:
    return Silence(
        id=str(s.get("id", "")),
        state=str((s.get("status") or {}).get("state", "")),
        matchers=tuple(
            SilenceMatcher(
                str(m.get("name", "")),
                str(m.get("value", "")),
                bool(m.get("isRegex", False)),
                bool(m.get("isEqual", True)),
            )
            for m in s.get("matchers") or []
        ),
        created_by=str(s.get("createdBy", "")),
        comment=str(s.get("comment", "")),
        ends_at=str(s.get("endsAt", "")),
    )
