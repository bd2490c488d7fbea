"""Fact types read from a live Prometheus and Alertmanager (filled in by the Prometheus provider).

Plain, frozen and JSON-ready: `--facts-out` writes them and `--facts-in` judges them with no server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedRule:
    """One rule as Prometheus evaluates it (`GET /api/v1/rules`)."""

    name: str
    type: str  # alerting | recording
    group: str = ""
    file: str = ""  # the rule file on the Prometheus server
    health: str = "unknown"  # ok | err | unknown (not evaluated yet)
    last_error: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    query: str = ""


@dataclass(frozen=True)
class ScrapeTarget:
    """One active scrape target (`GET /api/v1/targets?state=active`)."""

    labels: dict[str, str]  # after relabelling: job, instance and the target's own labels
    health: str  # up | down | unknown (not scraped yet)
    scrape_url: str = ""
    last_error: str = ""
    scrape_pool: str = ""


@dataclass(frozen=True)
class MetricSamples:
    """How many series of one required metric have a current sample (`count(<metric>)`)."""

    metric: str  # the series selector, as the policy names it
    series: int = 0
    error: str = ""  # the query failed: not valid PromQL


@dataclass(frozen=True)
class ActiveAlert:
    """One pending or firing alert instance (`GET /api/v1/alerts`)."""

    labels: dict[str, str]
    state: str  # pending | firing
    active_at: str = ""
    value: str = ""


@dataclass(frozen=True)
class PrometheusState:
    """The running Prometheus at `url`: its loaded rules, active targets, required metrics' samples and alerts."""

    url: str
    rules: tuple[LoadedRule, ...] = ()
    targets: tuple[ScrapeTarget, ...] = ()
    samples: tuple[MetricSamples, ...] = ()
    alerts: tuple[ActiveAlert, ...] = ()


@dataclass(frozen=True)
class SilenceMatcher:
    """One matcher of a silence: label `name` equals `value` (`is_equal` false: does not), a regex if `is_regex`."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@dataclass(frozen=True)
class Silence:
    """One silence as Alertmanager lists it (`GET /api/v2/silences`); only `active` ones mute."""

    id: str
    state: str  # active | pending | expired
    matchers: tuple[SilenceMatcher, ...] = ()
    created_by: str = ""
    comment: str = ""
    ends_at: str = ""


@dataclass(frozen=True)
class AlertmanagerState:
    """The running Alertmanager: its loaded configuration (`GET /api/v2/status`, `config.original`
    parsed from YAML; secrets arrive redacted) and its silences.

    `configured` is false when no Alertmanager URL was given (--alertmanager-url or
    target.alertmanager_url): nothing was read, and checks skip the Alertmanager part.
    """

    url: str
    configured: bool = True
    config: dict[str, Any] | None = None
    config_error: str = ""  # the configuration text could not be parsed
    silences: tuple[Silence, ...] = ()
