"""monitoring.alert-routing: the Alertmanager configuration routes the model's alerts to someone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.checks._common import file_subject, glob_match, repo_subject, unread
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.lang import alertmanager as am
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.source import error_loc, loc
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

MAX_MATCHES = 1_000_000  # route matches evaluated for one configuration: more fails, never a pass


@dataclass(frozen=True)
class AlertRoutingParams:
    """The params of monitoring.alert-routing.

    alertmanager_config: the Alertmanager configuration's path in the repository; empty means every discovered one.
        e.g. monitoring/alertmanager.yml
    match_labels: route only the alerts that carry these labels (or this label set itself when none does).
        e.g. {severity: critical}
    alerts: route only the alerts whose names match these globs.
        e.g. ["ChurnModel*"]
    """

    alertmanager_config: str | None = None
    match_labels: dict[str, str] = field(default_factory=dict)
    alerts: tuple[str, ...] = ()


@check(
    "monitoring.alert-routing",
    title="Alerts are routed to someone",
    severity=Severity.HIGH,
    needs=("alertmanager_config", "rule_files"),
    params=AlertRoutingParams,
)
def alert_routing(facts: Facts, params: AlertRoutingParams, target: Target) -> Iterator[Outcome]:
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
    am = facts.alertmanager_config
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
    label_sets = _label_sets(facts.rule_files, params)
    for f in files:
        yield _routing(f, label_sets)


def _label_sets(rules: RepoFiles, params: AlertRoutingParams) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for f in rules.files:
        for rule in pr.rules_of_file(f):
            labels = {**rule.labels, "alertname": rule.name}
            if (
                rule.kind == "alert"
                and (not params.alerts or glob_match(rule.name, params.alerts))
                and all(labels.get(k) == v for k, v in params.match_labels.items())
            ):
                out.append(labels)
    return out or [dict(params.match_labels)]


def _routing(f: SourceFile, label_sets: list[dict[str, str]]) -> Outcome:
    """One configuration file's result: valid, and each label set reaches a receiver that notifies."""
    if f.error:
        return unread(f) or Outcome(
            file_subject(f),
            f"not a valid Alertmanager configuration: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        )
    doc: Any = f.documents[0] if f.documents else None  # only the first document counts
    problems = [Violation(p.message, loc(f, *p.path)) for p in am.config_problems(doc)]
    route = doc.get("route") if isinstance(doc, dict) else None
    if not isinstance(route, dict) or problems:
        return Outcome(
            file_subject(f), f"{len(problems)} problem(s) in the Alertmanager configuration", tuple(problems)
        )
    routes = am.route_count(route)
    if routes * len(label_sets) > MAX_MATCHES:  # each alert walks the tree: bounded, and never a pass
        return Outcome(
            file_subject(f),
            f"{routes} routes for {len(label_sets)} alert label sets",
            (
                Violation(
                    f"routing {len(label_sets)} alerts through {routes} routes is more than the gate evaluates "
                    f"({MAX_MATCHES:,} route matches): split the configuration, or narrow `alerts`/`match_labels`",
                    loc(f, "route"),
                ),
            ),
        )
    receivers = {pr.scalar(r.get("name")) or "": i for i, r in enumerate(doc["receivers"])}
    silent, reached = [], set()
    for labels in label_sets:
        names = [name for _, name in am.match(route, labels, ("route",), pr.scalar(route["receiver"]) or "")]
        reached.update(names)
        if not any(am.notifies(doc["receivers"][receivers[n]]) for n in names):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
            silent.append(
                Violation(
                    f"alert {{{shown}}} routes to {', '.join(names)}, which notifies no one",
                    loc(f, "receivers", receivers[names[0]]),
                )
            )
    evidence = (
        f"{f.path}: {len(receivers)} receiver(s); {len(label_sets)} label set(s) reach {', '.join(sorted(reached))}",
    )
    if silent:
        message = f"{len(silent)} of {len(label_sets)} alert(s) reach no receiver that notifies"
    else:
        message = f"all {len(label_sets)} alert(s) reach a notifying receiver ({', '.join(sorted(reached))})"
    return Outcome(file_subject(f), message, tuple(silent), evidence)
