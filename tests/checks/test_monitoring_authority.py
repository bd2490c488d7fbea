"""promtool and amtool as the authority on validity, next to the gate's own reading of the release judged
(checks/_authority.py): hand-built tool verdicts, then the real Debian tools (promtool 2.42, amtool 0.25)
when installed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.checks.monitoring import AlertRulesParams, alert_rules
from mlops_gate.checks.monitoring_routing import AlertRoutingParams, alert_routing
from mlops_gate.facts import Facts
from mlops_gate.facts.promtool import RuleTests, ToolCheck, ToolVerdicts
from mlops_gate.model import Outcome
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

TRACING = """
route: {receiver: team}
receivers:
  - name: team
    webhook_configs: [{url: 'http://hooks.example.com/x'}]
tracing:
  endpoint: localhost:4317
  insecure: true
"""
HOLT = "groups:\n  - name: g\n    rules:\n      - record: smooth\n        expr: holt_winters(x[5m], 0.5, 0.5)\n"
PLAIN = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(up)\n"
NO_RULES = {"promtool_check": ToolVerdicts("promtool"), "rule_tests": RuleTests(".")}


def routing(tmp_path: Path, text: str, tool: ToolVerdicts, **params: Any) -> Outcome:
    facts = read_facts(write_tree(tmp_path, {"alertmanager.yml": text}), "rule_files", "alertmanager_config")
    out = list(alert_routing(Facts({**facts, "amtool_check": tool}), AlertRoutingParams(**params), Target()))
    return out[0]


def rules(tmp_path: Path, text: str, tool: ToolVerdicts, **params: Any) -> Outcome:
    facts = read_facts(write_tree(tmp_path, {"alerts.rules.yml": text}), "rule_files")
    p = AlertRulesParams(required_labels=(), required_annotations=(), min_for="0s", **params)
    return next(iter(alert_rules(Facts({**NO_RULES, **facts, "promtool_check": tool}), p, Target())))


def amtool(version: str, ok: bool, output: str = "") -> ToolVerdicts:
    return ToolVerdicts("amtool", version, "", (ToolCheck("alertmanager.yml", ok, output),))


def promtool(version: str, ok: bool, output: str = "") -> ToolVerdicts:
    return ToolVerdicts("promtool", version, "", (ToolCheck("alerts.rules.yml", ok, output),))


REFUSED_TRACING = "yaml: unmarshal errors:\n  line 6: field tracing not found in type config.plain"


def test_an_older_tool_refusing_what_the_judged_release_reads_does_not_fail_it(tmp_path: Path) -> None:
    out = routing(tmp_path, TRACING, amtool("0.25.0", False, REFUSED_TRACING))
    assert (out.violations, out.message) == ((), "all 1 alert(s) reach a notifying receiver (team)")
    assert out.evidence[:3] == (
        "alertmanager.yml: judged as Alertmanager 0.34",
        "amtool 0.25.0 refuses it, as the gate's reading of Alertmanager 0.25 does",
        "judged as Alertmanager 0.34; amtool 0.25.0 is another release: where the two releases differ, "
        "the gate's reading of 0.34 decides",
    )


def test_judged_as_the_users_release_the_same_file_fails(tmp_path: Path) -> None:
    out = routing(tmp_path, TRACING, amtool("0.25.0", False, REFUSED_TRACING), alertmanager_version="0.25")
    assert out.message == "Alertmanager 0.25 refuses the configuration: 1 problem(s)"
    assert [v.message for v in out.violations] == [
        "field tracing not found in type Config (Alertmanager 0.30 reads it)"
    ]


def test_the_tool_of_the_judged_release_decides_against_the_gates_reading(tmp_path: Path) -> None:
    accepted = routing(tmp_path / "a", TRACING.replace("tracing:", "tracing_x:"), amtool("0.34.0", True))
    assert accepted.violations == ()
    assert "amtool 0.34.0 accepts it; the gate's reading of Alertmanager 0.34 refuses it" in accepted.evidence[1]
    refused = routing(tmp_path / "b", TRACING, amtool("0.34.0", False, "  FAILED: templates: bad glob\n"))
    assert refused.message == "Alertmanager 0.34 refuses the configuration: 1 problem(s)"
    assert [v.message for v in refused.violations] == ["amtool 0.34.0 refuses it: templates: bad glob"]


def test_an_older_tool_accepting_what_the_judged_release_removed_does_not_pass_it(tmp_path: Path) -> None:
    out = rules(tmp_path, HOLT, promtool("2.42.0", True))
    assert out.message == "Prometheus 3.14 refuses it: 1 problem(s) in 1 rule(s)"
    assert "removed in Prometheus 3.0" in out.violations[0].message
    assert rules(tmp_path / "old", HOLT, promtool("2.42.0", True), prometheus_version="2.53").violations == ()


def test_an_older_tool_refusing_for_a_reason_the_gate_missed_fails(tmp_path: Path) -> None:
    out = rules(
        tmp_path, PLAIN, promtool("2.42.0", False, 'alerts.rules.yml: 3:7: group "g": something the gate missed')
    )
    assert [v.message for v in out.violations] == [
        'promtool 2.42.0 refuses it: alerts.rules.yml: 3:7: group "g": something the gate missed'
    ]
    assert "the gate's reading of Prometheus 2.42 accepts it: promtool decides" in out.evidence[1]


def test_without_a_verdict_the_gates_reading_stands_and_says_why(tmp_path: Path) -> None:
    out = rules(
        tmp_path, HOLT, ToolVerdicts("promtool", None, "promtool is not on PATH (or MLOPS_GATE_PROMTOOL names it)")
    )
    assert out.violations and out.evidence[1] == (
        "promtool not used: promtool is not on PATH (or MLOPS_GATE_PROMTOOL names it); judged by the gate's own reading"
    )


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool not installed (Debian: prometheus-alertmanager)")
def test_with_the_real_amtool(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"alertmanager.yml": TRACING})
    facts = read_facts(root, "rule_files", "alertmanager_config", "amtool_check")
    out = next(iter(alert_routing(facts, AlertRoutingParams(), Target())))
    assert out.violations == ()  # Alertmanager 0.34 reads `tracing:`; Debian's amtool 0.25 does not
    assert any(e.startswith("amtool 0.25") and "refuses it" in e for e in out.evidence)
