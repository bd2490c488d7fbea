"""monitoring.alert-rules: Prometheus alert rules are valid (as promtool sees them) and complete.

The other monitoring checks: monitoring_routing (Alertmanager), monitoring_drift, monitoring_live."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._authority import decide
from mlops_gate.checks._common import file_subject, glob_match, matching, repo_subject, skipped, unread
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.facts.promtool import RuleTests, ToolVerdicts
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.promql_lex import FEATURES
from mlops_gate.lang.source import error_loc, loc
from mlops_gate.lang.versions import PROMETHEUS_DEFAULT, label, parse, supported
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target
from mlops_gate.typed import DataError


@dataclass(frozen=True)
class AlertRulesParams:
    """The params of monitoring.alert-rules.

    rule_files: globs that narrow which files are the rule files; empty means every discovered one.
        e.g. ["monitoring/*.yml"]
    required_alerts: alerts (names or globs) some rule file must define.
        e.g. [ChurnModelHighLatency, "*Drift*"]
    required_labels: labels every alert must carry.
        e.g. [severity, team]
    required_annotations: annotations every alert must carry.
        e.g. [summary, runbook_url]
    min_for: the shortest `for` an alert may have (a Prometheus duration).
        e.g. 5m
    require_rule_tests: every required alert (every alert when none is named) must be exercised by a passing
        promtool unit test.
    prometheus_version: the Prometheus release the rule files must load in (2.x or 3.x; default the newest the gate
        has read), so PromQL, names and template functions are judged as that release parses them.
        e.g. "2.53"
    prometheus_features: Prometheus feature flags enabled where the rules run (--enable-feature), which allow
        experimental PromQL.
        e.g. [promql-experimental-functions]
    """

    rule_files: tuple[str, ...] = ()
    required_alerts: tuple[str, ...] = ()
    required_labels: tuple[str, ...] = ("severity",)
    required_annotations: tuple[str, ...] = ("summary", "runbook_url")
    min_for: str = "1m"
    require_rule_tests: bool = False
    prometheus_version: str = PROMETHEUS_DEFAULT
    prometheus_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        base = "checks.monitoring.alert-rules.params"
        why = supported(self.prometheus_version, "prometheus")
        if why:
            raise DataError(f"{base}.prometheus_version", why)
        unknown = [f for f in self.prometheus_features if f not in FEATURES]
        if unknown:
            raise DataError(
                f"{base}.prometheus_features", f"unknown feature {unknown[0]!r} (known: {', '.join(FEATURES)})"
            )

    def rule_format(self, version: str | None = None) -> pr.RuleFormat:
        return pr.RuleFormat(parse(version or self.prometheus_version), frozenset(self.prometheus_features))


def _rule_tests_scope(params: AlertRulesParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return {"rule_tests": ("run",)} if params.require_rule_tests else {}


def _first(f: SourceFile) -> Any:
    return f.documents[0] if f.documents else None  # promtool reads only the first document


@check(
    "monitoring.alert-rules",
    title="Prometheus alert rules are valid and complete",
    severity=Severity.HIGH,
    needs=("rule_files", "rule_tests", "promtool_check"),
    params=AlertRulesParams,
    scope=_rule_tests_scope,
)
def alert_rules(facts: Facts, params: AlertRulesParams, target: Target) -> Iterator[Outcome]:
    """Prometheus rule files exist, load in the Prometheus release you run, and meet the policy.

    Rule files are the YAML files with a top-level `groups` list (and `*.rules`, or files named
    `*rules*`/`*alerts*` that do not parse) and the `spec` of PrometheusRule manifests, narrowed by
    `rule_files` (globs) when given. Each file is one result (`file:<path>`).

    Validity is judged for `prometheus_version` (default 3.14, the newest release the gate has read;
    set the release you run, e.g. `"2.53"`, and `prometheus_features` for the `--enable-feature` flags
    it runs with, e.g. `[promql-experimental-functions]`): what Prometheus refuses to load — groups
    named and unique, durations such as `5m`, exactly one of `alert`/`record`, a PromQL `expr` that
    parses (UTF-8 quoted names from 3.0, functions by release, experimental ones only with their flag),
    valid names (UTF-8 from 3.0), no `for`/`annotations` on recording rules, no unknown keys, and label
    and annotation templates that Go's template parser accepts with Prometheus's functions and variables
    (`$labels`, `$value`, `$externalLabels`, `$externalURL`; `{{ $label.x }}` is refused). The message
    names the release judged. A template that parses but reaches a field the alert data does not have
    (`{{ .Lables.x }}`) fails as an unmet requirement: it would fail every time the alert fires.

    Where `promtool` is available (on PATH outside the repository, or `MLOPS_GATE_PROMTOOL`; `off` turns it
    off) it is the authority: `promtool check rules` runs on every rule file (bounded), and where it and
    the gate's reading disagree the result says so. A promtool of another release (Debian 12: 2.42)
    decides what does not depend on the release; the gate's reading of `prometheus_version` decides what
    does (the result's evidence says which way each file went).

    For every alert, the `required_labels` (default: severity), the `required_annotations` (default:
    summary, runbook_url) and `for` of at least `min_for` (default 1m; an alert without `for` fires on its
    first evaluation) are the policy's requirements.

    One repository-wide result (`repo:<name>`) fails when no rule file or no alert is found, or
    when an alert named in `required_alerts` (names or globs, e.g. `ModelLatencyHigh`,
    `*Drift*`; default none) is defined in no rule file.

    With `require_rule_tests`, every required alert (every alert when none is named) must be
    exercised by an `alert_rule_test` in a promtool unit-test file (YAML with `rule_files` and
    `tests`) that passes `promtool test rules`; a failing test file fails with promtool's output,
    and a missing promtool is an error. The runs share one time budget (120 s per gate run, 60 s per
    file, killed past it), run in 2 GiB of memory without the gate's environment, and a test file
    whose `rule_files` reach outside the repository is not run.
    """
    repo = facts.rule_files
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
        outcome, names = _rule_file(f, params, min_for, facts.promtool_check)
        alerts += names
        yield outcome
    yield _rules_summary(subject, params, files, alerts, facts.rule_files)
    if params.require_rule_tests:
        yield from _rule_tests(subject, params, facts.rule_tests, alerts)


def _rule_tests(subject: str, params: AlertRulesParams, tests: RuleTests, alerts: list[str]) -> Iterator[Outcome]:
    for t in tests.files:
        if t.passed is None:
            yield Outcome(f"file:{t.path}", "rule tests not run", error=t.note or "promtool did not run")
        elif not t.passed:
            detail = t.output.splitlines()[-1] if t.output else "failed"
            yield Outcome(
                f"file:{t.path}",
                "promtool test rules failed",
                (Violation(f"promtool test rules failed: {detail}", Location(t.path)),),
                (t.output,),
            )
        else:
            yield Outcome(f"file:{t.path}", f"promtool test rules passed ({len(t.alerts)} alert(s) exercised)")
    wanted = [a for a in alerts if not params.required_alerts or glob_match_any(a, list(params.required_alerts))]
    tested = {a for t in tests.files if t.passed for a in t.alerts}
    untested = sorted(set(wanted) - tested)
    not_run = [t for t in tests.files if t.passed is None]
    if untested and not_run:  # unknown, not untested: the files that could not run may cover them
        yield Outcome(
            f"{subject}#rule-tests",
            f"{len(not_run)} rule test file(s) could not run",
            error=f"cannot tell whether {', '.join(untested)} are tested: {not_run[0].note}",
        )
        return
    yield Outcome(
        f"{subject}#rule-tests",
        f"{len(wanted) - len(untested)} of {len(wanted)} alert(s) exercised by passing rule tests",
        tuple(Violation(f"alert {a} is exercised by no passing promtool rule test") for a in untested),
        tuple(f"rule test file {t.path}" for t in tests.files),
    )


def _rule_file(
    f: SourceFile, params: AlertRulesParams, min_for: float, tool: ToolVerdicts
) -> tuple[Outcome, list[str]]:
    if f.error:
        return unread(f) or Outcome(
            file_subject(f),
            f"not a valid rule file: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        ), []
    doc = _first(f)
    fmt = params.rule_format()
    judged = label("prometheus", fmt.version) + (f" with {', '.join(sorted(fmt.features))}" if fmt.features else "")

    validated: dict[pr.RuleFormat, list[pr.Problem]] = {}  # each release's reading once (it is pure)

    def reading(as_format: pr.RuleFormat) -> list[pr.Problem]:
        if as_format not in validated:
            validated[as_format] = pr.validate(doc, as_format)
        return validated[as_format]

    def read(version: object) -> list[pr.Problem]:
        return [p for p in reading(params.rule_format(str(version))) if not p.runtime]

    decided = decide(f.path, "Prometheus", fmt.version, read, tool)
    problems = [Violation(p.message, loc(f, *p.path)) for p in decided.problems]
    if decided.refused:
        problems.append(Violation(decided.refused, Location(f.path)))
    rules = pr.rules_of(doc)
    alerts = [r for r in rules if r.kind == "alert"]
    runtime = [Violation(p.message, loc(f, *p.path)) for p in reading(fmt) if p.runtime]
    unmet = runtime + [v for r in alerts for v in _requirements(f, r, params, min_for)]
    evidence = (
        f"{f.path}: {len(alerts)} alerting and {len(rules) - len(alerts)} recording rules, judged as {judged}",
        *decided.evidence,
    )
    if problems:
        message = f"{judged} refuses it: {len(problems)} problem(s) in {len(rules)} rule(s)"
        message += f"; {len(unmet)} unmet requirement(s)" if unmet else ""
    elif unmet:
        message = f"valid for {judged}; {len(unmet)} unmet requirement(s) in {len(rules)} rule(s)"
    else:
        message = f"{len(rules)} rule(s) valid for {judged}, {len(alerts)} alert(s) meet the requirements"
    return Outcome(file_subject(f), message, tuple(problems + unmet), evidence), [r.name for r in alerts]


def _requirements(f: SourceFile, rule: pr.Rule, params: AlertRulesParams, min_for: float) -> Iterator[Violation]:
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
    subject: str, params: AlertRulesParams, files: list[SourceFile], alerts: list[str], found: RepoFiles
) -> Outcome:
    globs = f" matching rule_files ({', '.join(params.rule_files)})" if params.rule_files else ""
    note, left_out = skipped(found)
    evidence = tuple(f"rule file {f.path}" for f in files) + left_out
    if not files:
        return Outcome(
            subject,
            f"no Prometheus rule file found{globs}{note}",
            (Violation(f"no Prometheus rule file (YAML with top-level `groups`){globs}{note}"),),
            left_out,
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
