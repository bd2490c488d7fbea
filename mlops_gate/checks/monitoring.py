"""monitoring checks: Prometheus alert rules, their Alertmanager routing, drift monitors."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_gate.checks import _promrules as pr
from mlops_gate.checks._common import error_loc, file_subject, glob_match, loc, matching, repo_subject
from mlops_gate.facts import RepoFiles, SourceFile
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.registry import check
from mlops_gate.target import Target


@dataclass(frozen=True)
class AlertRulesParams:
    rule_files: tuple[str, ...] = ()
    required_alerts: tuple[str, ...] = ()
    required_labels: tuple[str, ...] = ("severity",)
    required_annotations: tuple[str, ...] = ("summary", "runbook_url")
    min_for: str = "1m"


def _first(f: SourceFile) -> Any:
    return f.documents[0] if f.documents else None  # promtool reads only the first document


@check(
    "monitoring.alert-rules",
    title="Prometheus alert rules are valid and complete",
    severity=Severity.HIGH,
    needs=("rule_files",),
    params=AlertRulesParams,
)
def alert_rules(facts: Mapping[str, Any], params: AlertRulesParams, target: Target) -> Iterator[Outcome]:
    """Prometheus rule files exist, are valid as `promtool check rules` sees them, and meet the policy.

    Rule files are the YAML files with a top-level `groups` list (and `*.rules`, or files named
    `*rules*`/`*alerts*` that do not parse), narrowed by `rule_files` (globs) when given. Each file
    is one result (`file:<path>`): its validation (groups named and unique, durations such as `5m` or
    `1h30m`, exactly one of `alert`/`record`, a non-empty PromQL `expr`, valid metric, label and
    annotation names, no `for`/`annotations` on recording rules, no unknown keys, balanced Go
    templates) and, for every alert, the `required_labels` (default: severity), the
    `required_annotations` (default: summary, runbook_url) and `for` of at least `min_for` (default
    1m; an alert without `for` fires on its first evaluation). PromQL is checked structurally
    (brackets, quotes, selectors, function names and argument kinds), not fully type-checked.

    One repository-wide result (`repo:<name>`) fails when no rule file or no alert is found, or
    when an alert named in `required_alerts` (names or globs, e.g. `ModelLatencyHigh`,
    `*Drift*`; default none) is defined in no rule file.
    """
    repo: RepoFiles = facts["rule_files"]
    subject = repo_subject(target, repo)
    min_for = pr.parse_duration(params.min_for)
    if min_for is None:
        yield Outcome(
            subject,
            f"min_for {params.min_for!r} is not a Prometheus duration",
            error="set checks.monitoring.alert-rules.params.min_for to a duration such as 1m",
        )
        return
    files = matching(repo.files, params.rule_files)
    alerts: list[str] = []
    for f in files:
        outcome, names = _rule_file(f, params, min_for)
        alerts += names
        yield outcome
    yield _rules_summary(subject, params, files, alerts)


def _rule_file(f: SourceFile, params: AlertRulesParams, min_for: float) -> tuple[Outcome, list[str]]:
    if f.error:
        return Outcome(
            file_subject(f),
            f"not a valid rule file: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        ), []
    doc = _first(f)
    problems = [Violation(p.message, loc(f, *p.path)) for p in pr.validate(doc)]
    rules = pr.rules_of(doc)
    alerts = [r for r in rules if r.kind == "alert"]
    unmet = [v for r in alerts for v in _requirements(f, r, params, min_for)]
    evidence = (f"{f.path}: {len(alerts)} alerting and {len(rules) - len(alerts)} recording rules",)
    if problems or unmet:
        message = (
            f"{len(problems)} validation problem(s) and {len(unmet)} unmet requirement(s) "
            f"in {len(rules)} rule(s)"
        )
    else:
        message = f"{len(rules)} rule(s) valid, {len(alerts)} alert(s) meet the requirements"
    return Outcome(file_subject(f), message, tuple(problems + unmet), evidence), [r.name for r in alerts]


def _requirements(
    f: SourceFile, rule: pr.Rule, params: AlertRulesParams, min_for: float
) -> Iterator[Violation]:
    at = loc(f, *rule.path)
    labels = [n for n in params.required_labels if not rule.labels.get(n, "").strip()]
    if labels:
        yield Violation(f"alert {rule.name} lacks required label(s): {', '.join(labels)}", at)
    notes = [n for n in params.required_annotations if not rule.annotations.get(n, "").strip()]
    if notes:
        yield Violation(f"alert {rule.name} lacks required annotation(s): {', '.join(notes)}", at)
    if rule.for_s is not None and rule.for_s < min_for:
        what = "its `for` is shorter than" if rule.has_for else "it has no `for`; policy wants at least"
        yield Violation(f"alert {rule.name}: {what} min_for {params.min_for}", loc(f, *rule.path, "for"))


def _rules_summary(
    subject: str, params: AlertRulesParams, files: list[SourceFile], alerts: list[str]
) -> Outcome:
    globs = f" matching rule_files ({', '.join(params.rule_files)})" if params.rule_files else ""
    evidence = tuple(f"rule file {f.path}" for f in files)
    if not files:
        return Outcome(
            subject,
            f"no Prometheus rule file found{globs}",
            (Violation(f"no Prometheus rule file (YAML with top-level `groups`){globs}"),),
        )
    if not alerts:
        return Outcome(
            subject,
            f"no alerting rule in {len(files)} rule file(s)",
            (Violation("the rule files define no alert"),),
            evidence,
        )
    missing = [name for name in params.required_alerts if not glob_match_any(name, alerts)]
    violations = tuple(Violation(f"required alert {name} is defined in no rule file") for name in missing)
    if missing:
        wanted = len(params.required_alerts)
        message = f"{len(missing)} of {wanted} required alert(s) missing: {', '.join(missing)}"
    else:
        wanted = len(params.required_alerts)
        required = f"; all {wanted} required alert(s) present" if wanted else ""
        message = f"{len(alerts)} alert(s) in {len(files)} rule file(s){required}"
    return Outcome(subject, message, violations, evidence)


def glob_match_any(pattern: str, names: list[str]) -> bool:
    return any(glob_match(n, (pattern,)) for n in names)


# --- monitoring.alert-routing ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRoutingParams:
    alertmanager_config: str | None = None
    match_labels: dict[str, str] = field(default_factory=dict)
    alerts: tuple[str, ...] = ()


AM_KEYS = {
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "mute_time_intervals",
    "time_intervals",
}
ROUTE_KEYS = {
    "receiver",
    "group_by",
    "continue",
    "match",
    "match_re",
    "matchers",
    "routes",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
}
_NOTIFIERS = (
    "email pagerduty slack webhook opsgenie wechat pushover victorops sns telegram discord webex "
    "msteams msteamsv2 jira rocketchat incidentio"
)
NOTIFIERS = {f"{n}_configs" for n in _NOTIFIERS.split()}
MATCHER_RE = re.compile(r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*("(?:[^"\\]|\\.)*"|[^"]*?)\s*')


@check(
    "monitoring.alert-routing",
    title="Alerts are routed to someone",
    severity=Severity.HIGH,
    needs=("alertmanager_config", "rule_files"),
    params=AlertRoutingParams,
)
def alert_routing(facts: Mapping[str, Any], params: AlertRoutingParams, target: Target) -> Iterator[Outcome]:
    """The Alertmanager configuration is valid and routes the model's alerts to a receiver that notifies.

    The configuration is `alertmanager_config` (a path in the repository) or every discovered
    Alertmanager file (YAML with `route` and `receivers`); each is one result (`file:<path>`). It
    must parse as `amtool check-config` would: a root route with a default receiver and no matchers,
    unique receiver names, every route's receiver defined, `match`/`match_re`/`matchers` well formed,
    no unknown keys. Then each alert is routed through the tree the way Alertmanager does (the first
    matching child route wins unless it sets `continue: true`; a route without a matching child
    handles the alert itself; receivers are inherited): at least one receiver it reaches must have
    a notifier (`email_configs`, `slack_configs`, `pagerduty_configs`, `webhook_configs`, ...). A
    receiver without one is a blackhole.

    The alerts routed are those of the rule files (their name as `alertname` plus their static
    labels), narrowed to names matching `alerts` (globs) and to alerts carrying every label of
    `match_labels` (e.g. `{severity: critical}`); when no alert carries `match_labels`, that label
    set itself is routed. Without alerts or `match_labels`, the root route's receiver must notify.
    """
    am: RepoFiles = facts["alertmanager_config"]
    files = list(am.files)
    if params.alertmanager_config:
        want = params.alertmanager_config.removeprefix("./")
        files = [f for f in files if f.path == want]
        if not files:
            found = ", ".join(f.path for f in am.files) or "none"
            yield Outcome(
                repo_subject(target, am),
                f"alertmanager_config {want} not found",
                (Violation(f"{want} is not an Alertmanager configuration (found: {found})"),),
            )
            return
    if not files:
        yield Outcome(
            repo_subject(target, am),
            "no Alertmanager configuration found",
            (Violation("no Alertmanager configuration (YAML with `route` and `receivers`)"),),
        )
        return
    label_sets = _label_sets(facts["rule_files"], params)
    for f in files:
        yield _routing(f, label_sets)


def _label_sets(rules: RepoFiles, params: AlertRoutingParams) -> list[dict[str, str]]:
    out = []
    for f in rules.files:
        for rule in pr.rules_of(_first(f)):
            labels = {**rule.labels, "alertname": rule.name}
            if (
                rule.kind == "alert"
                and (not params.alerts or glob_match(rule.name, params.alerts))
                and all(labels.get(k) == v for k, v in params.match_labels.items())
            ):
                out.append(labels)
    return out or [dict(params.match_labels)]


def _routing(f: SourceFile, label_sets: list[dict[str, str]]) -> Outcome:
    if f.error:
        return Outcome(
            file_subject(f),
            f"not a valid Alertmanager configuration: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        )
    doc = _first(f)
    problems = [Violation(p.message, loc(f, *p.path)) for p in _am_problems(doc)]
    route = doc.get("route") if isinstance(doc, dict) else None
    if not isinstance(route, dict) or problems:
        return Outcome(
            file_subject(f), f"{len(problems)} problem(s) in the Alertmanager configuration", tuple(problems)
        )
    receivers = {pr.scalar(r.get("name")) or "": i for i, r in enumerate(doc["receivers"])}
    silent, reached = [], set()
    for labels in label_sets:
        names = [name for _, name in _match(route, labels, ("route",), pr.scalar(route["receiver"]) or "")]
        reached.update(names)
        if not any(_notifies(doc["receivers"][receivers[n]]) for n in names):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
            silent.append(
                Violation(
                    f"alert {{{shown}}} routes to {', '.join(names)}, which notifies no one",
                    loc(f, "receivers", receivers[names[0]]),
                )
            )
    evidence = (
        f"{f.path}: {len(receivers)} receiver(s); {len(label_sets)} label set(s) reach "
        f"{', '.join(sorted(reached))}",
    )
    if silent:
        message = f"{len(silent)} of {len(label_sets)} alert(s) reach no receiver that notifies"
    else:
        message = f"all {len(label_sets)} alert(s) reach a notifying receiver ({', '.join(sorted(reached))})"
    return Outcome(file_subject(f), message, tuple(silent), evidence)


def _match(
    route: dict[str, Any], labels: dict[str, str], path: tuple[object, ...], receiver: str
) -> list[tuple[tuple[object, ...], str]]:
    """Alertmanager's Route.Match: the routes (and their receivers) an alert ends up in."""
    receiver = pr.scalar(route.get("receiver")) or receiver
    found: list[tuple[tuple[object, ...], str]] = []
    for i, child in enumerate(route.get("routes") or []):
        if isinstance(child, dict) and _matches(child, labels):
            found += _match(child, labels, (*path, "routes", i), receiver)
            if child.get("continue") is not True:
                break
    return found or [(path, receiver)]


def _matches(route: dict[str, Any], labels: dict[str, str]) -> bool:
    for name, value in (route.get("match") or {}).items():
        if labels.get(name, "") != pr.scalar(value):
            return False
    for name, value in (route.get("match_re") or {}).items():
        if not re.fullmatch(str(value), labels.get(name, "")):
            return False
    for text in route.get("matchers") or []:
        name, op, value = _parse_matcher(str(text)) or ("", "=", "")
        got = labels.get(name, "")
        ok = got == value if op in ("=", "!=") else re.fullmatch(value, got) is not None
        if ok == (op in ("!=", "!~")):
            return False
    return True


def _parse_matcher(text: str) -> tuple[str, str, str] | None:
    m = MATCHER_RE.fullmatch(text)
    if not m:
        return None
    value = m.group(3)
    if value.startswith('"'):
        value = re.sub(r"\\(.)", lambda c: {"n": "\n"}.get(c.group(1), c.group(1)), value[1:-1])
    return m.group(1), m.group(2), value


def _notifies(receiver: dict[str, Any]) -> bool:
    return any(k.endswith("_configs") and isinstance(v, list) and v for k, v in receiver.items())


def _am_problems(doc: Any) -> list[pr.Problem]:
    P = pr.Problem
    if not isinstance(doc, dict):
        return [P("the configuration is not a mapping", ())]
    out = [P(f"unknown field {k!r} at the top level", (k,)) for k in doc if k not in AM_KEYS]
    receivers = doc.get("receivers")
    names: set[str] = set()
    if not isinstance(receivers, list):
        out.append(P("`receivers` must be a list", ("receivers",)))
        receivers = []
    for i, r in enumerate(receivers):
        name = pr.scalar(r.get("name")) if isinstance(r, dict) else None
        if not isinstance(r, dict) or not name:
            out.append(P(f"receiver {i + 1} has no name", ("receivers", i)))
            continue
        if name in names:
            out.append(P(f"receiver name {name!r} is not unique", ("receivers", i, "name")))
        names.add(name)
        out += [
            P(f"receiver {name!r}: unknown field {k!r}", ("receivers", i, k))
            for k in r
            if k != "name" and k not in NOTIFIERS
        ]
    route = doc.get("route")
    if not isinstance(route, dict):
        return [*out, P("no root `route` mapping", ("route",))]
    if not route.get("receiver"):
        out.append(P("root route must specify a default receiver", ("route",)))
    if any(route.get(k) for k in ("match", "match_re", "matchers")):
        out.append(P("root route must not have any matchers", ("route",)))
    return out + _route_problems(route, ("route",), names)


def _route_problems(route: dict[str, Any], path: tuple[object, ...], names: set[str]) -> list[pr.Problem]:
    P = pr.Problem
    out = [P(f"unknown field {k!r} in route", (*path, k)) for k in route if k not in ROUTE_KEYS]
    receiver = route.get("receiver")
    if receiver and pr.scalar(receiver) not in names:
        out.append(P(f"undefined receiver {receiver!r} used in route", (*path, "receiver")))
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in route and pr.parse_duration(route[key]) is None:
            out.append(P(f"{key} {route[key]!r} is not a valid duration", (*path, key)))
    if "continue" in route and not isinstance(route["continue"], bool):
        out.append(P("`continue` must be true or false", (*path, "continue")))
    for key in ("match", "match_re"):
        value = route.get(key)
        if value is not None and not isinstance(value, dict):
            out.append(P(f"`{key}` must be a mapping of label names to values", (*path, key)))
            continue
        for name, text in (value or {}).items():
            if not pr.LABEL_RE.fullmatch(name):
                out.append(P(f"invalid label name {name!r} in {key}", (*path, key, name)))
            elif key == "match_re" and not _regex_ok(str(text)):
                out.append(P(f"invalid regular expression {text!r} in match_re", (*path, key, name)))
    matchers = route.get("matchers")
    if matchers is not None and not isinstance(matchers, list):
        out.append(P("`matchers` must be a list", (*path, "matchers")))
        matchers = []
    for i, text in enumerate(matchers or []):
        parsed = _parse_matcher(str(text)) if isinstance(text, str) else None
        if parsed is None or (parsed[1] in ("=~", "!~") and not _regex_ok(parsed[2])):
            out.append(P(f"bad matcher {text!r} (want label=value, !=, =~ or !~)", (*path, "matchers", i)))
    children = route.get("routes")
    if children is not None and not isinstance(children, list):
        return [*out, P("`routes` must be a list", (*path, "routes"))]
    for i, child in enumerate(children or []):
        if not isinstance(child, dict):
            out.append(P(f"route {i + 1} is not a mapping", (*path, "routes", i)))
        else:
            out += _route_problems(child, (*path, "routes", i), names)
    return out


def _regex_ok(text: str) -> bool:
    try:
        re.compile(text)
    except re.error:
        return False
    return True


# --- monitoring.drift-monitor ---------------------------------------------------------------------

DriftKind = Literal["prometheus", "azureml", "databricks", "evidently", "nannyml", "alibi-detect", "whylogs"]
LIBRARIES: dict[str, DriftKind] = {
    "evidently": "evidently",
    "nannyml": "nannyml",
    "alibi_detect": "alibi-detect",
    "whylogs": "whylogs",
}
AZURE_SIGNALS = {"data_drift", "prediction_drift", "feature_attribution_drift"}
LOOKED_FOR = (
    "a Prometheus alert whose name or expr mentions drift",
    "an Azure ML monitor with a data_drift or prediction_drift signal",
    "a Databricks bundle quality monitor",
    "an Evidently, NannyML, alibi-detect or whylogs drift config or usage",
)


@dataclass(frozen=True)
class DriftMonitorParams:
    kinds: tuple[DriftKind, ...] = ()


@check(
    "monitoring.drift-monitor",
    title="Drift monitoring is configured",
    severity=Severity.MEDIUM,
    needs=("drift_config", "rule_files"),
    params=DriftMonitorParams,
)
def drift_monitor(facts: Mapping[str, Any], params: DriftMonitorParams, target: Target) -> Iterator[Outcome]:
    """Something watches the model's inputs and predictions for drift.

    Any of these passes (narrowed by `kinds` when set): a Prometheus alert whose name or `expr`
    mentions drift (`prometheus`); an Azure ML model monitor whose `monitoring_signals` include a
    `data_drift`, `prediction_drift` or `feature_attribution_drift` signal (`azureml`); a Databricks
    bundle with `resources.quality_monitors` (`databricks`); a YAML/JSON config naming Evidently,
    NannyML, alibi-detect or whylogs and drift, or Python code importing one of them and mentioning
    drift (`evidently`, `nannyml`, `alibi-detect`, `whylogs`). One repository-wide result.
    """
    drift: RepoFiles = facts["drift_config"]
    found = [
        (kind, what, where)
        for kind, what, where in _drift_found(facts["rule_files"], drift)
        if not params.kinds or kind in params.kinds
    ]
    subject = repo_subject(target, drift)
    if found:
        shown = "; ".join(
            f"{what} ({where.path}:{where.line})" if where.line else f"{what} ({where.path})"
            for _, what, where in found
        )
        yield Outcome(
            subject,
            f"{len(found)} drift monitor(s) found: {shown}",
            evidence=tuple(f"{kind}: {what} in {where.path}" for kind, what, where in found),
        )
        return
    kinds = f" of kinds {', '.join(params.kinds)}" if params.kinds else ""
    yield Outcome(
        subject,
        f"no drift monitor{kinds} found",
        (Violation(f"no drift monitor{kinds}; looked for {'; '.join(LOOKED_FOR)}"),),
    )


def _drift_found(rules: RepoFiles, drift: RepoFiles) -> Iterator[tuple[DriftKind, str, Location]]:
    for f in rules.files:
        for rule in pr.rules_of(_first(f)):
            if rule.kind == "alert" and ("drift" in rule.name.lower() or "drift" in rule.expr.lower()):
                yield "prometheus", f"alert {rule.name}", loc(f, *rule.path)
    for f in drift.files:
        if f.error:
            continue
        if f.format == "python":
            text = f.text or ""
            for module, kind in LIBRARIES.items():
                if re.search(rf"^\s*(?:import|from)\s+{module}\b", text, re.M) and "drift" in text.lower():
                    yield kind, f"{module} drift code", Location(f.path)
            continue
        for i, doc in enumerate(f.documents):
            yield from _drift_doc(f, i, doc)


def _drift_doc(f: SourceFile, i: int, doc: Any) -> Iterator[tuple[DriftKind, str, Location]]:
    if not isinstance(doc, dict):
        return
    resources = doc.get("resources")
    monitors = resources.get("quality_monitors") if isinstance(resources, dict) else None
    if isinstance(monitors, dict) and monitors:
        at = loc(f, "resources", "quality_monitors", doc=i)
        yield "databricks", f"Databricks quality monitor {', '.join(monitors)}", at
    for path, signals in _find_key(doc, "monitoring_signals", ()):
        items = signals.items() if isinstance(signals, dict) else enumerate(_list(signals))
        for name, signal in items:
            if isinstance(signal, dict) and str(signal.get("type", "")).lower() in AZURE_SIGNALS:
                yield "azureml", f"Azure ML {signal['type']} signal {name}", loc(f, *path, name, doc=i)
    blob = repr(doc).lower()
    if "drift" in blob or "drift" in f.path.lower():
        for module, kind in LIBRARIES.items():
            if module in blob or module in f.path.lower():
                yield kind, f"{module} drift config", loc(f, doc=i)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _find_key(
    node: Any, key: str, path: tuple[object, ...], depth: int = 0
) -> Iterator[tuple[tuple[object, ...], Any]]:
    if depth > 20:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield (*path, k), v
            yield from _find_key(v, key, (*path, k), depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _find_key(v, key, (*path, i), depth + 1)
