"""Our rule-file validation against the real `promtool check rules` (Debian package `prometheus`).

Each case is written to a file and judged by both: promtool's exit code 0 must match "the check
reports no validation problem" (the policy's own requirements are switched off here).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_gate import yamlio
from mlops_gate.checks.monitoring import AlertRulesParams, alert_rules
from mlops_gate.facts import Facts
from mlops_gate.facts.promtool import RuleTests, ToolVerdicts
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.promql_lex import Dialect
from mlops_gate.lang.versions import parse
from mlops_gate.target import Target
from tests.support.trees import read_facts

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not on PATH: install Debian's `prometheus` package to run the oracle",
)


def _release() -> str:
    """promtool's release: the oracle judges as that release (Debian 12: 2.42)."""
    if PROMTOOL is None:
        return "3.14"
    out = subprocess.run([PROMTOOL, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"version (\d+\.\d+)", out)
    return m.group(1) if m else "3.14"


RELEASE = _release()
DIALECT = Dialect(parse(RELEASE))


def rules(*rules: str, head: str = "groups:\n  - name: g\n    rules:\n") -> str:
    return head + "".join("      " + "\n      ".join(r.strip().splitlines()) + "\n" for r in rules)


def _indent(extra: str) -> str:
    return "".join(f"  {line}\n" for line in extra.splitlines())


def alert(expr: str = "up == 0", extra: str = "") -> str:
    return f"- alert: A\n  expr: {expr}\n{_indent(extra)}"


def record(expr: str = "up", extra: str = "", name: str = "job:up:sum") -> str:
    return f"- record: {name}\n  expr: {expr}\n{_indent(extra)}"


GOOD = {
    "empty": "",
    "no-groups": "groups: []\n",
    "group-without-rules": "groups:\n  - name: g\n",
    "null-rule": "groups:\n  - name: g\n    rules:\n      - null\n",
    "full-alert": rules(
        alert(
            'up{job="churn"} == 0',
            "for: 5m\nkeep_firing_for: 10m\nlabels: {severity: page}\n"
            "annotations: {summary: 'down {{ $labels.instance }}', runbook_url: 'https://x'}",
        )
    ),
    "interval-limit": rules(record(), head="groups:\n  - name: g\n    interval: 30s\n    limit: 10\n    rules:\n"),
    "two-groups": "groups:\n  - name: a\n    rules: []\n  - name: b\n    rules: []\n",
    "durations": rules(
        alert(extra="for: 1h30m"),
        alert(extra="for: 1d"),
        alert(extra="for: 0s"),
        alert(extra="for: 10ms"),
        alert(extra="for: 0"),
        alert(extra="for: 1w2d"),
    ),
    "subquery": rules(record("max_over_time(rate(http_requests_total[1m])[30m:1m])")),
    "offset-at": rules(record("sum(rate(x[5m] offset 1h))"), record("x @ 1609746000"), record("x @ start()")),
    "histogram": rules(record("histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m])))")),
    "vector-matching": rules(
        record("a * on(job) group_left(team) b"),
        record("a > bool 1"),
        record("a and on() b"),
        record("a unless ignoring(x) b"),
    ),
    "aggregations": rules(
        record("topk(3, x)"),
        record('count_values("v", x)'),
        record("sum(x) without (a)"),
        record("quantile(0.9, x)"),
    ),
    "functions": rules(
        record('label_replace(up, "a", "$1", "b", "(.*)")'),
        record('absent(up{job="x"})'),
        record("time() - max(last_success_timestamp) > 3600"),
        record("vector(1)"),
        record("round(x, 0.5)"),
        record("clamp(x, 0, 1)"),
        record("predict_linear(x[1h], 3600)"),
    ),
    "scalars-and-unary": rules(record("1 + 2 * 3"), record("-x"), record("+x"), record("Inf"), record("5")),
    "name-matcher": rules(record('\'{__name__=~"http_.*", job!=""}\''), record('x{a="b",}')),
    "multiline-expr": rules(
        "- alert: A\n  expr: |\n    sum(rate(errors_total[5m]))\n      /\n"
        "    sum(rate(requests_total[5m])) > 0.05  # five percent"
    ),
    "template-control": rules(
        alert(
            extra="annotations:\n  summary: '{{ if gt $value 1.0 }}high{{ else }}low{{ end }}'"
            "\n  d: '{{ $value | humanizePercentage }} {{ printf \"%.2f\" $value }}'"
        )
    ),
    "template-range": rules(alert(extra="annotations: {s: '{{ range $k, $v := $labels }}{{ $k }}{{ end }}'}")),
    "scalar-values": rules(alert("5", "labels: {severity: 1, page: true, x: null}")),
    "underscore-label": rules(alert(extra="labels: {_team: ml}")),
    "record-labels": rules(record(extra="labels: {team: ml}")),
    "group-name-number": "groups:\n  - name: 5\n    rules: []\n",
    "second-doc-ignored": "groups: []\n---\ngroups: {bad: 1}\n",
    "caseless-keywords": rules(
        record("'SUM(a) BY (job) != ON(job) b OFFSET 5m'"),
        record("'a - a offset 10m >= 1 AND ignoring (reason) b == 1'"),
    ),
    "real-world-style": rules(
        record(
            '\'histogram_quantile(0.99, sum(rate(h_bucket{verb!~"^(?:WATCH|PROXY)$"} [10m])) WITHOUT (pod)) '
            "/ 1e+06 > 1'"
        ),
        record("'sum by (instance) ((up == 0) * on (instance) group_left(__name__) (a - b > 600))'"),
        record("'a < 7*24*60*60'"),
        record("'x != y > 0'"),
        record('\'label_replace(count by(__name__) ({__name__=~".+"}), "n", "$1", "__name__", "(.+)")\''),
    ),
    "keywords-as-metrics": rules(record("sum(offset)"), record("'unless{a=\"b\"}'"), record("sum + topk")),
    "alert-name-punctuation": rules("- alert: BloatHigh(>80%)\n  expr: x > 80"),
}

BAD = {
    "for-words": rules(alert(extra="for: 5 minutes")),
    "for-fraction": rules(alert(extra="for: 1.5h")),
    "for-uppercase": rules(alert(extra="for: 5M")),
    "for-negative": rules(alert(extra="for: -5m")),
    "for-empty": rules(alert(extra="for: ''")),
    "for-number": rules(alert(extra="for: 5")),
    "for-order": rules(alert(extra="for: 1h1d")),
    "interval-bad": rules(record(), head="groups:\n  - name: g\n    interval: 1 min\n    rules:\n"),
    "limit-bad": rules(record(), head="groups:\n  - name: g\n    limit: many\n    rules:\n"),
    "duplicate-group": "groups:\n  - name: g\n  - name: g\n",
    "empty-group-name": "groups:\n  - rules: []\n",
    "alert-and-record": rules("- alert: A\n  record: a\n  expr: up"),
    "neither": rules("- expr: up"),
    "no-expr": rules("- alert: A"),
    "empty-expr": rules(alert("''")),
    "expr-list": rules(alert("[up]")),
    "unclosed-paren": rules(record("sum(rate(x[5m])")),
    "unclosed-string": rules(record("'up{job=\"x} == 0'")),
    "trailing-operator": rules(record("up ==")),
    "unknown-function": rules(record("rates(x[5m])")),
    "range-function-on-instant": rules(record("rate(x)")),
    "empty-selector": rules(record("'{}'")),
    "range-on-aggregate": rules(record("sum(x)[5m]")),
    "set-op-on-scalars": rules(record("1 and 2")),
    "range-in-binary": rules(record("x[5m] + 1")),
    "bad-range": rules(record("x[5 m]")),
    "unbalanced-brace": rules(record("'x{a=\"b\"'")),
    "bad-record-name": rules(record(name="job-up")),
    "record-annotations": rules(record(extra="annotations: {a: b}")),
    "record-for": rules(record(extra="for: 5m")),
    "record-keep-firing": rules(record(extra="keep_firing_for: 5m")),
    "bad-label-name": rules(alert(extra="labels: {team-name: ml}")),
    "name-label": rules(alert(extra="labels: {__name__: x}")),
    "bad-annotation-name": rules(alert(extra="annotations: {runbook-url: x}")),
    "labels-list": rules(alert(extra="labels: [severity]")),
    "label-value-map": rules(alert(extra="labels: {severity: {a: b}}")),
    "unknown-rule-key": rules(alert(extra="severity: page")),
    "unknown-group-key": "groups:\n  - name: g\n    rule: []\n",
    "unknown-top-key": "groups: []\nrule_files: []\n",
    "template-unclosed": rules(alert(extra="annotations: {s: '{{ $value '}")),
    "template-unknown-func": rules(alert(extra="annotations: {s: '{{ humanise $value }}'}")),
    "template-stray-end": rules(alert(extra="annotations: {s: 'x {{ end }}'}")),
    "template-empty-if": rules(alert(extra="annotations: {s: '{{ if }}x{{ end }}'}")),
    "template-unclosed-if": rules(alert(extra="labels: {s: '{{ if $value }}x'}")),
    "yaml-syntax": "groups:\n  - name: [g\n",
    "function-case": rules(record("Rate(x[5m])")),
    "keyword-as-metric": rules(record("'sum(on)'")),
}


def ours_valid(tmp_path: Path, name: str, text: str) -> bool:
    """No validation problem, as the check reports it (or, for shapes discovery skips, the validator)."""
    (tmp_path / f"{name}.rules").write_text(text, encoding="utf-8")
    facts = Facts(
        {**read_facts(tmp_path, "rule_files"), "promtool_check": ToolVerdicts("promtool"), "rule_tests": RuleTests(".")}
    )
    params = AlertRulesParams(required_labels=(), required_annotations=(), min_for="0s", prometheus_version=RELEASE)
    files = [o for o in alert_rules(facts, params, Target()) if o.subject.startswith("file:")]
    if files:
        return not files[0].violations
    docs = yamlio.load(text).documents
    return not [p for p in pr.validate(docs[0] if docs else None, pr.RuleFormat(parse(RELEASE))) if not p.runtime]


def promtool_valid(path: Path) -> tuple[bool, str]:
    assert PROMTOOL is not None
    proc = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("name", "expected"), [*((n, True) for n in GOOD), *((n, False) for n in BAD)])
def test_agrees_with_promtool(tmp_path: Path, name: str, expected: bool) -> None:
    text = (GOOD if expected else BAD)[name]
    ours = ours_valid(tmp_path, name, text)
    theirs, output = promtool_valid(tmp_path / f"{name}.rules")
    assert theirs is expected, f"the case itself is wrong; promtool says:\n{output}"
    assert ours is theirs, f"promtool {'accepts' if theirs else 'rejects'} it:\n{output}"


# --- differential: many generated PromQL expressions in one rule file, one promtool run ---------------

PIECES = [
    "up",
    "rate(",
    "x[5m]",
    ")",
    "(",
    "sum",
    "by (job)",
    "+",
    "==",
    "and",
    '{job="a"}',
    "offset 5m",
    "1",
    '"s"',
    "[5m:]",
    ",",
    "topk(",
    "histogram_quantile(",
    "bool",
    "on(job)",
    "group_left",
    "@ 100",
    "-",
    "Inf",
    "[5m]",
    "abs(",
    "vector(",
    "scalar(",
    "time()",
    "without (a)",
    "*",
    "/",
    "unless",
    "or",
    "> 0.5",
    "absent(",
    "max_over_time(",
    'y{a=~"b.*"}',
    "ignoring(a)",
    "^",
    "clamp(",
    "round(",
]


def soup(rng: random.Random) -> str:
    """Token soup: mostly invalid, probing the error paths."""
    return " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 7)))


def grammar(rng: random.Random, depth: int = 0) -> str:
    """Grammar-shaped: mostly valid, probing false alarms (types, precedence, modifiers)."""
    r = rng.random() if depth < 4 else 0.0
    sel = rng.choice(["up", 'http_requests_total{job="api",code=~"5.."}', 'x{a!="b"}', '{__name__="y"}', "sum"])
    sub = lambda: grammar(rng, depth + 1)  # noqa: E731
    if r < 0.25:
        return sel + rng.choice(["", " offset 5m", " @ 100", " offset -1h"])
    if r < 0.32:
        return rng.choice(["1", "0.5", "1e3", "Inf", "-2", "0x1f"])
    if r < 0.45:
        func = rng.choice(["rate", "increase", "avg_over_time", "changes"])
        return f"{func}({sel}[{rng.choice(['5m', '1h30m'])}])"
    if r < 0.55:
        grouping = rng.choice(["by (job)", "without (a, b)", ""])
        return f"{rng.choice(['sum', 'max', 'count'])} {grouping} ({sub()})"
    if r < 0.6:
        return f"topk({rng.choice(['3', 'scalar(x)'])}, {sub()})"
    if r < 0.8:
        op = rng.choice(
            [
                "+",
                "-",
                "*",
                "/",
                "^",
                "==",
                ">",
                "and",
                "or",
                "unless",
                "atan2",
                "> bool",
                "* on(job)",
                "* ignoring(a) group_left(b)",
                "+ on() group_right",
                "and on(job)",
            ]
        )
        return f"{sub()} {op} {sub()}"
    if r < 0.87:
        return f"({sub()})"
    if r < 0.93:
        return f"max_over_time(({sub()})[10m:1m])"
    func = rng.choice(["abs(", "absent(", "sort(", "histogram_quantile(0.9, "])
    return f"{func}{sub()})"


def test_generated_expressions_agree_with_promtool(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    exprs = [soup(rng) for _ in range(600)] + [grammar(rng) for _ in range(600)]
    body = "".join(f"  - record: r{i}\n    expr: {json.dumps(e)}\n" for i, e in enumerate(exprs))
    path = tmp_path / "generated.rules"
    path.write_text("groups:\n- name: g\n  rules:\n" + body, encoding="utf-8")
    assert PROMTOOL is not None
    proc = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    rejected = {int(n) - 1 for n in re.findall(r'rule (\d+), "r\d+": could not parse', proc.stdout + proc.stderr)}
    assert 100 < len(rejected) < len(exprs) - 100  # both sides of the line are exercised
    disagree = [
        (e, i in rejected)
        for i, e in enumerate(exprs)
        if (pr.promql_problem(e, DIALECT) is not None) != (i in rejected)
    ]
    assert disagree == []
