"""monitoring.live end to end: the CLI against a real Prometheus and Alertmanager on loopback.

The servers (tests/support/prometheus_servers.py) are shared by the whole module; each case is a policy.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.prometheus_servers import (
    AUTH_PASSWORD,
    AUTH_USER,
    RULES,
    Servers,
    free_port,
    live,
    live_auth,
)

__all__ = ["live", "live_auth"]  # pytest finds the session fixtures through this module

pytestmark = pytest.mark.server

GOOD = {
    "required_alerts": ["ChurnModelDown", "ChurnLatency*"],
    "targets": {"job": "churn-model"},
    "required_metrics": ["churn_predictions_total", 'churn_latency_seconds_bucket{le="+Inf"}'],
}


def run(
    tmp_path: Path,
    prometheus: str,
    params: dict[str, Any],
    *,
    alertmanager: str | None = None,
    env: dict[str, str] | None = None,
    rules: str | None = None,
) -> tuple[int, dict[str, Any], str]:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    if rules is not None:
        (repo / "monitoring").mkdir(exist_ok=True)
        (repo / "monitoring" / "alerts.yml").write_text(rules)
    policy = {"version": 1, "extends": "default", "checks": {"monitoring.live": {"enabled": True, "params": params}}}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    argv = [
        "check",
        "--policy",
        str(tmp_path / "policy.json"),
        "--repo",
        str(repo),
        "--only",
        "monitoring.live",
        "--prometheus-url",
        prometheus,
        "--format",
        "json",
        "--facts-out",
        str(tmp_path / "facts.json"),
    ]
    if alertmanager:
        argv += ["--alertmanager-url", alertmanager]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv, env=env or {})
    return code, json.loads(out.getvalue()), err.getvalue()


def results(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["subject"].split(":", 1)[0], r["status"]) for r in report["results"]]


def messages(report: dict[str, Any]) -> list[str]:
    return [v["message"] for r in report["results"] for v in r["violations"]]


def test_all_good(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, GOOD, alertmanager=live.alertmanager)
    assert code == 0, report
    assert results(report) == [("prometheus", "passed"), ("alertmanager", "passed")]
    prom, am = report["results"]
    assert prom["subject"] == f"prometheus:{live.prometheus}"
    assert prom["message"] == (
        '2 rule(s) loaded and healthy; 1 of 1 target(s) {job="churn-model"} up; '
        "2 of 2 required metric(s) have samples; no blocking alert firing"
    )
    assert am["message"] == "all 2 model alert(s) reach a notifying receiver (team-ml); none silenced"
    facts = json.loads((tmp_path / "facts.json").read_text())["facts"]
    assert facts["prometheus_state"]["requests"] == 5  # rules, targets, alerts, one query per metric
    assert facts["alertmanager_state"]["requests"] == 2  # status, silences


def test_repo_rules_must_be_loaded(tmp_path: Path, live: Servers) -> None:
    extra = RULES + "  - name: new\n    rules:\n      - alert: ChurnDriftHigh\n        expr: vector(0) > 1\n"
    code, report, _ = run(tmp_path, live.prometheus, {"targets": {"job": "churn-model"}}, rules=extra)
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    found = messages(report)
    assert len(found) == 3, found
    assert found[0] == "alert ChurnDriftHigh from monitoring/alerts.yml is not loaded in Prometheus"
    # the repository's other rules are loaded, and judged: one fails to evaluate, one fires critical
    assert found[1].startswith("alerting rule ChurnRuleBroken (group broken) is unhealthy: found duplicate series")
    assert found[2].startswith("alert ShadowModelDriftCritical is firing since ")
    assert report["results"][0]["violations"][0]["location"] == {"path": "monitoring/alerts.yml", "line": 30}


def test_required_rule_missing(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, {**GOOD, "required_alerts": ["ChurnModelDown", "ChurnDrift*"]})
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    assert messages(report) == ["required alert ChurnDrift* is not loaded in Prometheus"]
    assert report["results"][0]["message"].startswith("1 problem(s): 1 rule(s) loaded and healthy, 1 not loaded;")


def test_rule_with_evaluation_error(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, {**GOOD, "required_alerts": ["ChurnRuleBroken"]})
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    (msg,) = messages(report)
    assert msg.startswith("alerting rule ChurnRuleBroken (group broken) is unhealthy: found duplicate series")


def test_target_down(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, {**GOOD, "targets": {"job": "churn-shadow"}})
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    (msg,) = messages(report)
    assert msg.startswith(
        f'target http://{live.down_target}/metrics {{instance="{live.down_target}", job="churn-shadow"}} is down: Get '
    )
    assert "connection refused" in msg


def test_no_target_matches(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, {**GOOD, "targets": {"job": "churn"}})
    assert code == 1
    assert messages(report) == ['no active scrape target matches {job="churn"} (2 active)']


def test_metric_never_exported(tmp_path: Path, live: Servers) -> None:
    params = {**GOOD, "required_metrics": ["churn_predictions_total", "churn_feature_drift_score", "rate(x[5m"]}
    code, report, _ = run(tmp_path, live.prometheus, params)
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    assert messages(report)[0] == (
        "metric churn_feature_drift_score has no sample (never exported, or not scraped for 5 minutes)"
    )
    assert messages(report)[1].startswith("metric rate(x[5m: the query failed: invalid parameter")


def test_critical_alert_firing(tmp_path: Path, live: Servers) -> None:
    params = {**GOOD, "required_alerts": ["ChurnModelDown", "ShadowModelDriftCritical"]}
    code, report, _ = run(tmp_path, live.prometheus, params)
    assert (code, results(report)) == (1, [("prometheus", "failed")])
    (msg,) = messages(report)
    assert msg.startswith("alert ShadowModelDriftCritical is firing since 20")
    assert msg.endswith('{alertname="ShadowModelDriftCritical", model="shadow", severity="critical", team="ml"}')
    # a severity the policy does not block on passes
    code, report, _ = run(tmp_path, live.prometheus, {**params, "block_on_severity": ["page"]})
    assert code == 0, messages(report)


def test_alertmanager_routes_to_null_receiver(tmp_path: Path, live: Servers) -> None:
    params = {**GOOD, "required_alerts": ["ChurnModelDown", "ShadowModelDriftCritical"], "block_on_severity": []}
    code, report, _ = run(tmp_path, live.prometheus, params, alertmanager=live.alertmanager)
    assert (code, results(report)) == (1, [("prometheus", "passed"), ("alertmanager", "failed")])
    assert messages(report) == [
        'alert {alertname="ShadowModelDriftCritical", model="shadow", severity="critical", team="ml"} '
        "routes to null, which notifies no one"
    ]


@pytest.fixture
def silence(live: Servers) -> Iterator[str]:
    """An active silence on every alert of team ml, expired after the test."""
    body = {
        "matchers": [{"name": "team", "value": "ml", "isRegex": False, "isEqual": True}],
        "startsAt": "2000-01-01T00:00:00Z",
        "endsAt": "2999-01-01T00:00:00Z",
        "createdBy": "oncall@example.com",
        "comment": "maintenance",
    }
    req = urllib.request.Request(
        f"{live.alertmanager}/api/v2/silences", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        sid = json.load(resp)["silenceID"]
    try:
        yield str(sid)
    finally:
        urllib.request.urlopen(
            urllib.request.Request(f"{live.alertmanager}/api/v2/silence/{sid}", method="DELETE"), timeout=5
        ).close()


def test_silence_covering_every_model_alert(tmp_path: Path, live: Servers, silence: str) -> None:
    code, report, _ = run(tmp_path, live.prometheus, GOOD, alertmanager=live.alertmanager)
    assert (code, results(report)) == (1, [("prometheus", "passed"), ("alertmanager", "failed")])
    assert messages(report) == [
        f"every model alert is muted by an active silence: {silence} by oncall@example.com "
        f"until 2999-01-01T00:00:00.000Z (maintenance)"
    ]


def test_prometheus_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, report, _ = run(tmp_path, url, GOOD)
    assert (code, report["verdict"]) == (3, "error")
    (result,) = report["results"]
    assert result["status"] == "error"
    assert result["message"].startswith(f"could not read facts: prometheus_state: Prometheus rules: cannot reach {url}")
    assert "hint: check --prometheus-url" in result["message"]


def test_unauthorized_front(tmp_path: Path, live_auth: str) -> None:
    code, report, _ = run(tmp_path, live_auth, GOOD)
    assert code == 3
    (result,) = report["results"]
    assert "answered 401 Unauthorized" in result["message"]
    assert "Prometheus wants credentials: set MLOPS_GATE_PROMETHEUS_TOKEN" in result["message"]
    env = {"MLOPS_GATE_PROMETHEUS_USERNAME": AUTH_USER, "MLOPS_GATE_PROMETHEUS_PASSWORD": "wrong-password"}
    code, report, _ = run(tmp_path, live_auth, GOOD, env=env)
    assert code == 3
    assert "were rejected" in report["results"][0]["message"]
    env["MLOPS_GATE_PROMETHEUS_PASSWORD"] = AUTH_PASSWORD
    code, report, _ = run(tmp_path, live_auth, {"required_alerts": ["ChurnModelDown"]}, env=env)
    assert code == 0, report
    assert AUTH_PASSWORD not in (tmp_path / "facts.json").read_text()


def test_nothing_to_verify_is_an_error(tmp_path: Path, live: Servers) -> None:
    code, report, _ = run(tmp_path, live.prometheus, {})
    assert code == 3
    assert report["results"][0]["message"].startswith("nothing to verify")


# --- the check over hand-built facts (no server) -----------------------------------------------------


def _facts(**am: Any) -> dict[str, Any]:
    from mlops_gate.facts.files import RepoFiles
    from mlops_gate.facts.prometheus import (
        ActiveAlert,
        AlertmanagerState,
        LoadedRule,
        MetricSamples,
        PrometheusState,
        ScrapeTarget,
    )

    prom = PrometheusState(
        url="http://prom:9090",
        rules=(LoadedRule("ModelDown", "alerting", "g", "/r.yml", "ok", labels={"severity": "page", "team": "ml"}),),
        targets=(ScrapeTarget({"job": "churn", "instance": "a:1"}, "up", "http://a:1/metrics"),),
        samples=(MetricSamples("churn_requests_total", 3),),
        alerts=(ActiveAlert({"alertname": "Other", "severity": "critical"}, "firing"),),
    )
    config = yaml_config(ALERTMANAGER_ROUTES)
    return {
        "prometheus_state": prom,
        "rule_files": RepoFiles("/repo"),
        "alertmanager_state": AlertmanagerState("http://am:9093", **{"config": config, **am}),
    }


ALERTMANAGER_ROUTES = """
route: {receiver: ml, routes: [{matchers: ['team="other"'], receiver: blackhole}]}
receivers: [{name: ml, webhook_configs: [{url: "http://x"}]}, {name: blackhole}]
"""


def yaml_config(text: str) -> Any:
    from mlops_gate import yamlio

    return yamlio.load(text).documents[0]


def judge(facts: dict[str, Any], **params: Any) -> list[tuple[str, list[str]]]:
    from mlops_gate.checks.monitoring_live import LiveParams
    from mlops_gate.checks.monitoring_live import live as live_check
    from mlops_gate.facts import Facts
    from mlops_gate.target import Target

    defaults: dict[str, Any] = {"required_alerts": ("ModelDown",), "targets": {"job": "churn"}}
    outcomes = live_check(Facts(facts), LiveParams(**{**defaults, **params}), Target(prometheus_url="http://prom:9090"))
    return [(o.subject, [v.message for v in o.violations]) for o in outcomes]


def test_facts_round_trip_through_json() -> None:
    from mlops_gate import typed
    from mlops_gate.facts.prometheus import AlertmanagerState, PrometheusState

    facts = _facts()
    for kind, tp in (("prometheus_state", PrometheusState), ("alertmanager_state", AlertmanagerState)):
        data = json.loads(json.dumps(typed.to_data(facts[kind])))
        assert typed.from_data(tp, data) == facts[kind]


def test_other_alerts_firing_do_not_block_and_alertmanager_is_optional() -> None:
    from mlops_gate.facts.prometheus import AlertmanagerState

    facts = {**_facts(), "alertmanager_state": AlertmanagerState(url="", configured=False)}
    assert judge(facts) == [("prometheus:http://prom:9090", [])]
    # with no way to tell the model's alerts apart, every firing alert counts
    assert judge(facts, required_alerts=(), targets={}, required_metrics=("churn_requests_total",)) == [
        ("prometheus:http://prom:9090", ['alert Other is firing: {alertname="Other", severity="critical"}'])
    ]


def test_silences_regex_and_negative_matchers() -> None:
    from mlops_gate.facts.prometheus import Silence, SilenceMatcher

    def muted(*matchers: SilenceMatcher, state: str = "active") -> list[str]:
        facts = _facts(silences=(Silence("s1", state, matchers, "me", "why", "2999"),))
        return judge(facts)[1][1]

    everything = "every model alert is muted by an active silence: s1 by me until 2999 (why)"
    assert muted(SilenceMatcher("alertname", "Model.*", is_regex=True)) == [everything]
    assert muted(SilenceMatcher("alertname", "Model", is_regex=True)) == []  # anchored
    assert muted(SilenceMatcher("team", "ops", is_equal=False)) == [everything]
    assert muted(SilenceMatcher("team", "ml", is_equal=False)) == []
    assert muted(SilenceMatcher("team", "ml"), state="expired") == []
    # RE2 as Alertmanager's Go regexp: no backtracking (review finding 11), and its syntax, not Python's
    assert muted(SilenceMatcher("alertname", "(M|M)*odel(o|o)*(D|D)own(a|a)*c?", is_regex=True)) == [everything]
    assert muted(SilenceMatcher("alertname", "(?P<n>Model)Down", is_regex=True)) == [everything]
    assert muted(SilenceMatcher("alertname", "(Model", is_regex=True)) == []  # refused by RE2: matches nothing


def test_a_backtracking_silence_regex_is_matched_in_linear_time() -> None:
    from mlops_gate.checks.monitoring_live import _silences
    from mlops_gate.facts.prometheus import Silence, SilenceMatcher

    # `(a|a)*c` against 40 a's: about 30 hours with Python's backtracking `re` (review finding 11); RE2 answers
    # at once, so this test finishing is the proof
    silence = Silence("s1", "active", (SilenceMatcher("team", "(a|a)*c", is_regex=True),), "x", "y", "2999")
    assert _silences(silence, {"team": "a" * 40}) is False
    assert _silences(silence, {"team": "a" * 40 + "c"}) is True


def test_routing_in_the_running_config() -> None:
    facts = _facts()
    assert judge(facts)[1] == ("alertmanager:http://am:9093", [])
    facts["alertmanager_state"] = _facts(config=yaml_config(ALERTMANAGER_ROUTES.replace('"other"', '"ml"')))[
        "alertmanager_state"
    ]
    assert judge(facts)[1][1] == [
        'alert {alertname="ModelDown", severity="page", team="ml"} routes to blackhole, which notifies no one'
    ]
