"""monitoring.live: the running Prometheus (and Alertmanager) watch the model, not only its files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mlops_gate.checks._common import glob_match, matching
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles
from mlops_gate.facts.prometheus import AlertmanagerState, LoadedRule, PrometheusState, Silence
from mlops_gate.lang import promrules as pr
from mlops_gate.lang import regexes
from mlops_gate.lang.alertmanager import match, notifies
from mlops_gate.lang.source import loc
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

RULE_TYPE = {"alert": "alerting", "record": "recording"}


@dataclass(frozen=True)
class LiveParams:
    """The params of monitoring.live.

    required_alerts: alerts (names or globs) the live Prometheus must have loaded.
        e.g. [ChurnModelHighLatency]
    require_repo_rules_loaded: every rule of the repository's rule files must be loaded and healthy.
    rule_files: globs that narrow which repository rule files must be loaded.
        e.g. ["monitoring/*.yml"]
    targets: labels of the model's scrape target, which must be up.
        e.g. {job: churn-model}
    required_metrics: series selectors that must have a current sample.
        e.g. ['model_predictions_total{model="churn"}']
    block_on_severity: a firing model alert with one of these `severity` labels fails the check.
        e.g. [critical, page]
    """

    required_alerts: tuple[str, ...] = ()
    require_repo_rules_loaded: bool = True
    rule_files: tuple[str, ...] = ()
    targets: dict[str, str] = field(default_factory=dict)
    required_metrics: tuple[str, ...] = ()
    block_on_severity: tuple[str, ...] = ("critical", "page")


def _scope(params: LiveParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return {"prometheus_state": params.required_metrics}


@check(
    "monitoring.live",
    title="Prometheus watches the model in production",
    severity=Severity.HIGH,
    needs=("prometheus_state", "alertmanager_state", "rule_files"),
    params=LiveParams,
    requires_target=("prometheus_url",),
    scope=_scope,
)
def live(facts: Facts, params: LiveParams, target: Target) -> Iterator[Outcome]:
    """The live Prometheus (`--prometheus-url`) has the model's rules loaded, scrapes it and sees no
    blocking alert; the live Alertmanager (`--alertmanager-url`, optional) routes and does not mute them.

    Credentials come from the environment: `MLOPS_GATE_PROMETHEUS_TOKEN` (bearer) or
    `MLOPS_GATE_PROMETHEUS_USERNAME`/`_PASSWORD` (basic auth); `MLOPS_GATE_ALERTMANAGER_*` likewise.

    One result for Prometheus (`prometheus:<url>`) fails when:
    - an alert named in `required_alerts` (names or globs) is not loaded (`/api/v1/rules`), or, with
      `require_repo_rules_loaded` (default true), a rule of the repository's rule files (narrowed by
      `rule_files` globs) is not; or one of those rules is unhealthy (`health` not `ok`: its
      `lastError`, or never evaluated);
    - no active scrape target carries every label of `targets` (e.g. `{job: churn-model}`), or one
      that does is not `up` (`/api/v1/targets`);
    - a series selector in `required_metrics` has no current sample (`count(<metric>)` is empty:
      never exported, or not scraped for 5 minutes) or is not valid PromQL;
    - a model alert whose `severity` label is in `block_on_severity` (default critical, page) is
      firing (`/api/v1/alerts`). The model's alerts are the required and repository alerts, and
      any alert carrying every label of `targets`; with neither, every firing alert counts.

    With an Alertmanager URL, a second result (`alertmanager:<url>`) routes each model alert (its name
    as `alertname` plus its rule's static labels; the `targets` labels when there is no alert) through
    the running configuration (`/api/v2/status`) the way Alertmanager does: each must reach a receiver
    with a notifier, not a null receiver. It also fails when active silences (`/api/v2/silences`)
    mute every model alert. Without an Alertmanager URL that part is skipped (and says so).

    With no required alert, no repository rule, no `targets` and no `required_metrics`, there is
    nothing to verify: the result is an error, never a pass.
    """
    prom = facts.prometheus_state
    repo = facts.rule_files
    wanted = _repo_rules(repo, params) if params.require_repo_rules_loaded else []
    subject = f"prometheus:{prom.url}"
    if not (params.required_alerts or wanted or params.targets or params.required_metrics):
        yield Outcome(
            subject,
            "nothing to verify",
            error="nothing to verify: no required alert, repository rule, target selector or required metric; "
            "set checks.monitoring.live.params.required_alerts, targets or required_metrics",
        )
        return
    rules = _Findings(f"{prom.url}/api/v1/rules")
    model = _check_rules(prom, params, wanted, rules)
    targets = _check_targets(prom, params)
    metrics = _check_metrics(prom, params)
    firing = _check_alerts(prom, params, {str(r["alertname"]) for r in model})
    violations = (*rules.violations, *targets.violations, *metrics.violations, *firing.violations)
    parts = [p for f in (rules, targets, metrics, firing) for p in f.summary]
    yield Outcome(
        subject,
        ("; ".join(parts) if not violations else f"{len(violations)} problem(s): " + "; ".join(parts)),
        violations,
        (*rules.evidence, *targets.evidence, *metrics.evidence, *firing.evidence),
    )
    am = facts.alertmanager_state
    if am.configured:
        yield _alertmanager(am, model or [dict(params.targets)])


class _Findings:
    def __init__(self, url: str) -> None:
        self.at = Location(url)
        self.violations: list[Violation] = []
        self.summary: list[str] = []
        self.evidence: list[str] = []

    def add(self, message: str, at: Location | None = None) -> None:
        self.violations.append(Violation(message, at or self.at))


def _repo_rules(repo: RepoFiles, params: LiveParams) -> list[tuple[pr.Rule, Location]]:
    out = []
    for f in matching(repo.files, params.rule_files):
        doc = f.documents[0] if f.documents and not f.error else None
        out += [(rule, loc(f, *rule.path)) for rule in pr.rules_of(doc)]
    return out


def _check_rules(
    prom: PrometheusState, params: LiveParams, wanted: list[tuple[pr.Rule, Location]], out: _Findings
) -> list[dict[str, str]]:
    """Required and repository rules loaded and healthy; returns the model alerts' label sets."""
    alerting = [r for r in prom.rules if r.type == "alerting"]
    checked: dict[tuple[str, str], LoadedRule] = {}
    model: dict[str, dict[str, str]] = {}
    for pattern in params.required_alerts:
        found = [r for r in alerting if glob_match(r.name, (pattern,))]
        if not found:
            out.add(f"required alert {pattern} is not loaded in Prometheus")
        for r in found:
            checked[(r.type, r.name)] = r
    for rule, at in wanted:
        loaded = [r for r in prom.rules if r.type == RULE_TYPE[rule.kind] and r.name == rule.name]
        if not loaded:
            out.add(f"{rule.kind} {rule.name} from {at.path} is not loaded in Prometheus", at)
        elif rule.kind == "alert":
            model.setdefault(rule.name, {**rule.labels, "alertname": rule.name})
        for r in loaded:
            checked[(r.type, r.name)] = r
    unhealthy = 0
    for r in checked.values():
        if r.type == "alerting":
            model[r.name] = {**r.labels, "alertname": r.name}
        if r.health != "ok" or r.last_error:
            unhealthy += 1
            why = r.last_error or ("not evaluated yet" if r.health == "unknown" else f"health {r.health}")
            out.add(f"{r.type} rule {r.name} (group {r.group}) is unhealthy: {why}")
    missing = len(out.violations) - unhealthy
    out.summary.append(
        f"{len(checked)} rule(s) loaded"
        + (f", {unhealthy} unhealthy" if unhealthy else " and healthy")
        + (f", {missing} not loaded" if missing else "")
    )
    out.evidence.append(f"{len(prom.rules)} rule(s) loaded in Prometheus ({out.at.path})")
    return list(model.values())


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _has(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _check_targets(prom: PrometheusState, params: LiveParams) -> _Findings:
    out = _Findings(f"{prom.url}/api/v1/targets")
    if not params.targets:
        out.evidence.append("no `targets` selector: scrape targets not checked")
        return out
    found = [t for t in prom.targets if _has(t.labels, params.targets)]
    if not found:
        out.add(f"no active scrape target matches {_labels(params.targets)} ({len(prom.targets)} active)")
    down = [t for t in found if t.health != "up"]
    for t in down:
        why = t.last_error or ("not scraped yet" if t.health == "unknown" else t.health)
        out.add(f"target {t.scrape_url} {_labels(t.labels)} is {t.health}: {why}")
    out.summary.append(f"{len(found) - len(down)} of {len(found)} target(s) {_labels(params.targets)} up")
    out.evidence += [f"target {t.scrape_url}: {t.health}" for t in found]
    return out


def _check_metrics(prom: PrometheusState, params: LiveParams) -> _Findings:
    out = _Findings(f"{prom.url}/api/v1/query")
    samples = {s.metric: s for s in prom.samples}
    for metric in params.required_metrics:
        s = samples.get(metric)
        if s is None:
            out.add(f"metric {metric} was not queried (facts collected under another policy)")
        elif s.error:
            out.add(f"metric {metric}: the query failed: {s.error}")
        elif s.series == 0:
            out.add(f"metric {metric} has no sample (never exported, or not scraped for 5 minutes)")
        else:
            out.evidence.append(f"metric {metric}: {s.series} series")
    if params.required_metrics:
        have = len(params.required_metrics) - len(out.violations)
        out.summary.append(f"{have} of {len(params.required_metrics)} required metric(s) have samples")
    return out


def _check_alerts(prom: PrometheusState, params: LiveParams, names: set[str]) -> _Findings:
    out = _Findings(f"{prom.url}/api/v1/alerts")
    block = {s.lower() for s in params.block_on_severity}

    def ours(labels: Mapping[str, str]) -> bool:
        if not names and not params.targets:
            return True
        return labels.get("alertname") in names or bool(params.targets and _has(labels, params.targets))

    firing = [a for a in prom.alerts if a.state == "firing" and ours(a.labels)]
    blocking = [a for a in firing if a.labels.get("severity", "").lower() in block]
    for a in blocking:
        since = f" since {a.active_at}" if a.active_at else ""
        out.add(f"alert {a.labels.get('alertname', '?')} is firing{since}: {_labels(a.labels)}")
    out.summary.append(f"{len(blocking)} blocking alert(s) firing" if blocking else "no blocking alert firing")
    out.evidence.append(f"{len(firing)} model alert(s) firing, {len(prom.alerts)} pending or firing in all")
    return out


# --- Alertmanager --------------------------------------------------------------------------------------


def _alertmanager(am: AlertmanagerState, label_sets: list[dict[str, str]]) -> Outcome:
    subject = f"alertmanager:{am.url}"
    at = Location(f"{am.url}/api/v2/status")
    config = am.config or {}
    route = config.get("route")
    receivers = {str(r.get("name")): r for r in config.get("receivers") or [] if isinstance(r, dict)}
    if am.config_error or not isinstance(route, dict):
        why = am.config_error or "it has no root route"
        return Outcome(subject, f"cannot read the running configuration: {why}", (Violation(why, at),))
    violations, reached = [], set()
    for labels in label_sets:
        names = [n for _, n in match(route, labels, ("route",), str(route.get("receiver") or ""))]
        reached.update(names)
        if not any(notifies(receivers.get(n, {})) for n in names):
            violations.append(
                Violation(f"alert {_labels(labels)} routes to {', '.join(names)}, which notifies no one", at)
            )
    active = [s for s in am.silences if s.state == "active"]
    muted = {i: [s for s in active if _silences(s, labels)] for i, labels in enumerate(label_sets)}
    evidence = [f"{len(label_sets)} model alert(s) reach {', '.join(sorted(reached))}"]
    evidence += [f"{_labels(label_sets[i])} silenced by {', '.join(s.id for s in ss)}" for i, ss in muted.items() if ss]
    if label_sets and all(muted.values()):
        by = {s.id: s for ss in muted.values() for s in ss}.values()
        shown = "; ".join(f"{s.id} by {s.created_by or '?'} until {s.ends_at} ({s.comment})" for s in by)
        at = Location(f"{am.url}/api/v2/silences")
        violations.append(Violation(f"every model alert is muted by an active silence: {shown}", at))
    silent = sum(1 for ss in muted.values() if ss)
    if violations:
        message = f"{len(violations)} problem(s) routing {len(label_sets)} model alert(s)"
    else:
        message = f"all {len(label_sets)} model alert(s) reach a notifying receiver ({', '.join(sorted(reached))})"
        message += f"; {silent} silenced" if silent else "; none silenced"
    return Outcome(subject, message, tuple(violations), tuple(evidence))


def _silences(silence: Silence, labels: Mapping[str, str]) -> bool:
    """Alertmanager's silence matching: every matcher holds (regexes anchored, absent label = "")."""
    for m in silence.matchers:
        value = labels.get(m.name, "")
        # RE2, as Alertmanager (Go's regexp) matches: linear time, whatever the silence's author wrote
        hit = regexes.fullmatch(m.value, value) if m.is_regex else value == m.value
        if hit is None or hit != m.is_equal:  # None: a pattern RE2 refuses matches nothing
            return False
    return bool(silence.matchers)
