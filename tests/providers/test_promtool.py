"""`require_rule_tests`: required alerts must be exercised by promtool unit tests that pass (real promtool)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.trees import write_tree

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")

RULES = """
groups:
  - name: model
    rules:
      - alert: ModelDown
        expr: up{job="model"} == 0
        for: 1m
        labels: {severity: page}
        annotations: {summary: model down, runbook_url: https://runbooks/model-down}
      - alert: ModelSlow
        expr: model_latency_seconds > 1
        for: 5m
        labels: {severity: ticket}
        annotations: {summary: model slow, runbook_url: https://runbooks/model-slow}
"""


def unit_test(expected_severity: str) -> str:
    return f"""
rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="model", instance="a"}}'
        values: '0x5'
    alert_rule_test:
      - eval_time: 3m
        alertname: ModelDown
        exp_alerts:
          - exp_labels: {{severity: {expected_severity}, job: model, instance: a}}
            exp_annotations: {{summary: model down, runbook_url: https://runbooks/model-down}}
"""


def policy(root: Path, required: list[str]) -> Path:
    p = root / "policy.yml"
    p.write_text(
        "version: 1\nchecks:\n  monitoring.alert-rules:\n    params:\n"
        f"      require_rule_tests: true\n      required_alerts: {json.dumps(required)}\n"
    )
    return p


def gate(
    capsys: pytest.CaptureFixture[str],
    repo: Path,
    required: list[str],
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "check",
            "--repo",
            str(repo / "repo"),
            "--policy",
            str(policy(repo, required)),
            "--only",
            "monitoring.alert-rules",
            "--format",
            "json",
        ],
        env=env or {},
    )
    return code, json.loads(capsys.readouterr().out)


def by_subject(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["subject"]: r for r in report["results"]}


def test_passing_tests_cover_the_required_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path / "repo", {"monitoring/alerts.yml": RULES, "monitoring/alerts_test.yml": unit_test("page")})
    code, report = gate(capsys, tmp_path, ["ModelDown"])
    results = by_subject(report)
    assert code == 0, report
    assert results["file:monitoring/alerts_test.yml"]["message"] == "promtool test rules passed (1 alert(s) exercised)"
    assert results["repo:repo#rule-tests"]["message"] == "1 of 1 alert(s) exercised by passing rule tests"
    assert "file:monitoring/alerts_test.yml" not in {
        r["subject"] for r in report["results"] if r["status"] == "failed"
    }  # not mistaken for a rule file


def test_untested_required_alert_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path / "repo", {"monitoring/alerts.yml": RULES, "monitoring/alerts_test.yml": unit_test("page")})
    code, report = gate(capsys, tmp_path, [])  # none named: every alert must be tested
    summary = by_subject(report)["repo:repo#rule-tests"]
    assert code == 1 and summary["status"] == "failed"
    assert [v["message"] for v in summary["violations"]] == [
        "alert ModelSlow is exercised by no passing promtool rule test"
    ]


def test_failing_rule_test_fails_with_promtools_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path / "repo", {"monitoring/alerts.yml": RULES, "monitoring/alerts_test.yml": unit_test("ticket")})
    code, report = gate(capsys, tmp_path, ["ModelDown"])
    results = by_subject(report)
    failed = results["file:monitoring/alerts_test.yml"]
    assert code == 1 and failed["status"] == "failed"
    assert failed["violations"][0]["message"].startswith("promtool test rules failed")
    assert results["repo:repo#rule-tests"]["status"] == "failed"


def test_missing_promtool_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "repo", {"monitoring/alerts.yml": RULES, "monitoring/alerts_test.yml": unit_test("page")})
    monkeypatch.setenv("PATH", str(tmp_path))  # no promtool on it
    code, report = gate(capsys, tmp_path, ["ModelDown"])
    err = by_subject(report)["file:monitoring/alerts_test.yml"]
    assert code == 3 and err["status"] == "error"
    assert "promtool not available" in err["message"]
