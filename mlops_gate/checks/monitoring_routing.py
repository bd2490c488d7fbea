"""monitoring.alert-routing: the Alertmanager configuration routes the model's alerts to someone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_gate.checks._authority import decide
from mlops_gate.checks._common import file_subject, glob_match, repo_subject, skipped, unread
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.facts.promtool import ToolVerdicts
from mlops_gate.lang import alertmanager as am
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.source import error_loc, loc
from mlops_gate.lang.versions import ALERTMANAGER_DEFAULT, Version, label, parse, supported
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target
from mlops_gate.typed import DataError

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
    alertmanager_version: the Alertmanager release the configuration must load in (default the newest the gate has
        read), so fields, notifiers and template functions are judged as that release reads them.
        e.g. "0.27"
    """

    alertmanager_config: str | None = None
    match_labels: dict[str, str] = field(default_factory=dict)
    alerts: tuple[str, ...] = ()
    alertmanager_version: str = ALERTMANAGER_DEFAULT

    def __post_init__(self) -> None:
        why = supported(self.alertmanager_version, "alertmanager")
        if why:
            raise DataError("checks.monitoring.alert-routing.params.alertmanager_version", why)


@check(
    "monitoring.alert-routing",
    title="Alerts are routed to someone",
    severity=Severity.HIGH,
    needs=("alertmanager_config", "rule_files", "amtool_check"),
    params=AlertRoutingParams,
)
def alert_routing(facts: Facts, params: AlertRoutingParams, target: Target) -> Iterator[Outcome]:
    """The Alertmanager configuration loads in the Alertmanager release you run and routes the model's
    alerts to a receiver that notifies.

    The configuration is `alertmanager_config` (a path in the repository) or every discovered
    Alertmanager file (YAML with `route` and `receivers`); each is one result (`file:<path>`).

    It must load in `alertmanager_version` (default 0.34, the newest release the gate has read; set the
    release you run, e.g. `"0.27"`), as Alertmanager's strict decode and its own checks see it: no key
    the release does not know, anywhere (a notifier's misspelt key included; `tracing:`, route `labels`,
    `mattermost_configs` only from the release that added them), values of the right type (durations,
    http(s) URLs with a host, `host:port`), a secret and its `_file` twin never both set (SMTP password,
    Slack, OpsGenie, VictorOps, WeChat, Telegram, Rocket.Chat, Mattermost, Discord, MS Teams, webhook,
    PagerDuty, Pushover, incident.io, the HTTP client's credentials), what each notifier needs to send
    set inline or in `global` (a Rocket.Chat token, a Slack URL or app token, ...), Slack
    `update_message` only with a bot token, a root route with a default receiver and no matchers,
    unique receiver names, every receiver and time interval a route names defined, `match`/`match_re`/
    `matchers` well formed. The message names the release judged. Where `amtool` is available (on PATH
    outside the repository, or `MLOPS_GATE_AMTOOL`; `off` turns it off) `amtool check-config` is the
    authority, as promtool is for monitoring.alert-rules: an amtool of another release (Debian 12: 0.25)
    decides what does not depend on the release, the gate's reading of `alertmanager_version` what does.

    Then each alert is routed through the tree the way Alertmanager does (the first
    matching child route wins unless it sets `continue: true`; a route without a matching child
    handles the alert itself; receivers are inherited): at least one receiver it reaches must have
    a notifier (`email_configs`, `slack_configs`, `pagerduty_configs`, `webhook_configs`, ...). A
    receiver without one is a blackhole. amtool cannot judge routing against a policy: this is the
    gate's own reading.

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
    note, left_out = skipped(am)
    if not files:
        yield Outcome(
            repo_subject(target, am),
            "no Alertmanager configuration found" + note,
            (Violation("no Alertmanager configuration (YAML with `route` and `receivers`)" + note),),
            left_out,
        )
        return
    label_sets = _label_sets(facts.rule_files, params)
    for f in files:
        o = _routing(f, label_sets, parse(params.alertmanager_version), facts.amtool_check)
        yield replace(o, evidence=o.evidence + left_out)


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


def _routing(f: SourceFile, label_sets: list[dict[str, str]], version: Version, tool: ToolVerdicts) -> Outcome:
    """One configuration file's result: valid, and each label set reaches a receiver that notifies."""
    if f.error:
        return unread(f) or Outcome(
            file_subject(f),
            f"not a valid Alertmanager configuration: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        )
    doc: Any = f.documents[0] if f.documents else None  # only the first document counts
    judged = label("alertmanager", version)
    decided = decide(f.path, "Alertmanager", version, lambda v: _load_problems(doc, v), tool)
    problems = [Violation(p.message, loc(f, *p.path)) for p in decided.problems]
    if decided.refused:
        problems.append(Violation(decided.refused, Location(f.path)))
    rendering = [Violation(p.message, loc(f, *p.path)) for p in am.config_problems(doc, version) if p.runtime]
    evidence = (f"{f.path}: judged as {judged}", *decided.evidence)
    route = doc.get("route") if isinstance(doc, dict) else None
    if problems:
        more = f"; {len(rendering)} notification template(s) would not render" if rendering else ""
        return Outcome(
            file_subject(f),
            f"{judged} refuses the configuration: {len(problems)} problem(s){more}",
            tuple(problems + rendering),
            evidence,
        )
    if not isinstance(route, dict) or not isinstance(doc.get("receivers"), list):
        return Outcome(
            file_subject(f),
            f"{judged} refuses the configuration: no route",
            (Violation("no route provided in config", Location(f.path)),),
            evidence,
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
    receivers = {pr.scalar(r.get("name")) or "": i for i, r in enumerate(doc["receivers"]) if isinstance(r, dict)}
    silent, reached = [], set()
    for labels in label_sets:
        names = [name for _, name in am.match(route, labels, ("route",), pr.scalar(route["receiver"]) or "")]
        reached.update(names)
        if not any(n in receivers and am.notifies(doc["receivers"][receivers[n]]) for n in names):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
            silent.append(
                Violation(
                    f"alert {{{shown}}} routes to {', '.join(names)}, which notifies no one",
                    loc(f, "receivers", receivers[names[0]]) if names[0] in receivers else loc(f, "route"),
                )
            )
    evidence = (
        *evidence,
        f"{f.path}: {len(receivers)} receiver(s); {len(label_sets)} label set(s) reach {', '.join(sorted(reached))}",
    )
    if silent:
        message = f"{len(silent)} of {len(label_sets)} alert(s) reach no receiver that notifies"
    else:
        message = f"all {len(label_sets)} alert(s) reach a notifying receiver ({', '.join(sorted(reached))})"
    if rendering:  # it loads; these fail when a notification is sent
        message = f"{len(rendering)} notification template(s) would not render in {judged}; {message}"
    return Outcome(file_subject(f), message, tuple(rendering + silent), evidence)


def _load_problems(doc: Any, version: Version) -> list[pr.Problem]:
    """What keeps the release from loading the file (what amtool judges); not the templates it renders later."""
    return [p for p in am.config_problems(doc, version) if not p.runtime]
