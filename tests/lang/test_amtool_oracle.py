"""Our Alertmanager validation and routing against the real `amtool` (Debian `prometheus-alertmanager`).

`amtool check-config` exit 0 must match "the configuration has no problem", and for every label set
`amtool config routes test` must name the same receivers, in the same order, as our routing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_gate import yamlio
from mlops_gate.lang.alertmanager import config_problems, match
from mlops_gate.lang.versions import parse

AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(
    AMTOOL is None, reason="amtool is not on PATH: install Debian's `prometheus-alertmanager` to run the oracle"
)


def _release() -> str:
    """amtool's release: the oracle judges as that release (Debian 12: 0.25)."""
    if AMTOOL is None:
        return "0.34"
    out = subprocess.run([AMTOOL, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"version (\d+\.\d+)", out)
    return m.group(1) if m else "0.34"


RELEASE = parse(_release())

RECEIVERS = """
receivers:
  - name: default
    webhook_configs: [{url: "http://hooks.example.com/default"}]
  - name: pager
    pagerduty_configs: [{routing_key: abc}]
  - name: team-ml
    webhook_configs: [{url: "http://hooks.example.com/ml"}]
  - name: "null"
"""


def cfg(route: str, receivers: str = RECEIVERS, extra: str = "") -> str:
    return f"route:\n{route}\n{receivers}\n{extra}"


ROUTING_TREE = cfg(
    """
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - match: {team: ml}
      receiver: team-ml
      routes:
        - match_re: {alertname: "Churn.*Drift|Shadow.*"}
          receiver: "null"
        - matchers: ["env!=prod", 'alertname=~"Watchdog|Info.+"']
          receiver: "null"
    - matchers: ['service =~ "api|web"', "severity!~warn.*"]
      receiver: team-ml
      group_wait: 10s
      group_interval: 1m
      repeat_interval: 4h
    - receiver: pager
      matchers: ['{team="ops", env="prod"}']
    - receiver: team-ml
      matchers: ['{a="b", c=~"d|e",}']
"""
)

LABEL_SETS = [
    {},
    {"severity": "critical"},
    {"severity": "critical", "team": "ml"},
    {"team": "ml", "alertname": "ChurnFeatureDrift"},
    {"team": "ml", "alertname": "ChurnModelDown"},
    {"team": "ml", "alertname": "Watchdog", "env": "dev"},
    {"team": "ml", "alertname": "Watchdog", "env": "prod"},
    {"team": "ml", "alertname": "ShadowX", "severity": "critical"},
    {"service": "api", "severity": "warning"},
    {"service": "api", "severity": "page"},
    {"service": "apix", "severity": "page"},
    {"team": "ops", "env": "prod"},
    {"team": "ops", "env": "dev"},
    {"a": "b", "c": "e"},
    {"a": "b", "c": "x"},
]

GOOD = {
    "minimal": "route: {receiver: a}\nreceivers: [{name: a}]\n",
    "tree": ROUTING_TREE,
    "group-by-all": cfg("  receiver: default\n  group_by: ['...']"),
    "durations": cfg("  receiver: default\n  group_wait: 0s\n  group_interval: 1h30m\n  repeat_interval: 1d"),
    "inherit-receiver": cfg("  receiver: default\n  routes:\n    - match: {a: b}\n      routes: [{match: {c: d}}]"),
    "inhibit": cfg(
        "  receiver: default",
        extra="inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n"
        "    equal: [alertname]\n",
    ),
    "time-intervals": cfg(
        "  receiver: default\n  routes:\n    - match: {a: b}\n      mute_time_intervals: [weekend]",
        extra="time_intervals:\n  - name: weekend\n    time_intervals: [{weekdays: ['monday:friday']}]\n",
    ),
    "email-with-global-smtp": cfg(
        "  receiver: mail",
        "receivers:\n  - name: mail\n    email_configs: [{to: ml@example.com}]",
        "global: {smtp_smarthost: 'smtp.example.com:25', smtp_from: gate@example.com}\n",
    ),
    "slack-with-global-url": cfg(
        "  receiver: chat",
        "receivers:\n  - name: chat\n    slack_configs: [{channel: '#ml'}]",
        "global: {slack_api_url: 'https://hooks.slack.com/services/x'}\n",
    ),
    "templates": cfg("  receiver: default", extra="templates: ['/etc/alertmanager/*.tmpl']\n"),
    "matcher-unquoted": cfg("  receiver: default\n  routes:\n    - matchers: [severity=critical, 'team=~ml|ops']"),
    "empty-routes": cfg("  receiver: default\n  routes: []"),
    "email-inline": cfg(
        "  receiver: m", "receivers:\n  - name: m\n    email_configs: [{to: a@b.c, smarthost: 'h:25', from: g@b.c}]"
    ),
    "pagerduty-key-file": cfg(
        "  receiver: pd", "receivers:\n  - name: pd\n    pagerduty_configs: [{routing_key_file: /k}]"
    ),
    "opsgenie-global-key": cfg(
        "  receiver: o", "receivers:\n  - name: o\n    opsgenie_configs: [{}]", "global: {opsgenie_api_key: k}\n"
    ),
    "matchers-braces": cfg('  receiver: default\n  routes:\n    - matchers: [\'{a="b", c=~"d|e",}\']'),
    "matcher-escapes": cfg('  receiver: default\n  routes:\n    - matchers: [\'a="x\\"y\\n"\', \'b="1,2"\']'),
}

BAD = {
    "no-route": RECEIVERS,
    "root-without-receiver": cfg("  group_by: [alertname]"),
    "root-with-matchers": cfg("  receiver: default\n  match: {a: b}"),
    "undefined-receiver": cfg("  receiver: default\n  routes:\n    - match: {a: b}\n      receiver: nobody"),
    "undefined-root-receiver": cfg("  receiver: nobody"),
    "duplicate-receiver": cfg("  receiver: default", RECEIVERS + '  - name: "null"\n'),
    "unknown-top-key": cfg("  receiver: default", extra="routes: []\n"),
    "unknown-route-key": cfg("  receiver: default\n  matcher: [a=b]"),
    "bad-duration": cfg("  receiver: default\n  group_wait: 5 minutes"),
    "bad-regex": cfg("  receiver: default\n  routes:\n    - match_re: {a: '(x'}"),
    "bad-matcher": cfg("  receiver: default\n  routes:\n    - matchers: ['a==\"b\"']"),
    "bad-label-name": cfg("  receiver: default\n  routes:\n    - match: {team-name: ml}"),
    "continue-string": cfg("  receiver: default\n  routes:\n    - match: {a: b}\n      continue: 'yes'"),
    "receiver-without-name": cfg("  receiver: default", RECEIVERS + "  - webhook_configs: [{url: 'http://x'}]\n"),
    "unknown-receiver-key": cfg("  receiver: default", RECEIVERS + "  - name: x\n    webhooks: []\n"),
    "webhook-without-url": cfg("  receiver: hook", "receivers:\n  - name: hook\n    webhook_configs: [{}]"),
    "email-without-smtp": cfg("  receiver: mail", "receivers:\n  - name: mail\n    email_configs: [{to: a@b.c}]"),
    "slack-without-url": cfg("  receiver: chat", "receivers:\n  - name: chat\n    slack_configs: [{channel: '#x'}]"),
    "pagerduty-without-key": cfg("  receiver: pd", "receivers:\n  - name: pd\n    pagerduty_configs: [{}]"),
    "undefined-time-interval": cfg(
        "  receiver: default\n  routes:\n    - match: {a: b}\n      mute_time_intervals: [weekend]"
    ),
    "repeat-interval-zero": cfg("  receiver: default\n  repeat_interval: 0s"),
    "group-by-duplicate": cfg("  receiver: default\n  group_by: [a, a]"),
    "group-by-bad-label": cfg("  receiver: default\n  group_by: [a-b]"),
    "no-receivers": "route: {receiver: a}\n",
    "group-interval-zero": cfg("  receiver: default\n  routes:\n    - match: {a: b}\n      group_interval: 0s"),
    "group-by-wildcard-and-label": cfg("  receiver: default\n  group_by: ['...', alertname]"),
    "root-mute-interval": cfg(
        "  receiver: default\n  mute_time_intervals: [w]",
        extra="time_intervals:\n  - name: w\n    time_intervals: [{weekdays: [monday]}]\n",
    ),
    "email-without-from": cfg(
        "  receiver: m", "receivers:\n  - name: m\n    email_configs: [{to: a@b.c, smarthost: 'h:25'}]"
    ),
    "email-without-to": cfg(
        "  receiver: m", "receivers:\n  - name: m\n    email_configs: [{smarthost: 'h:25', from: a@b.c}]"
    ),
    "opsgenie-without-key": cfg("  receiver: o", "receivers:\n  - name: o\n    opsgenie_configs: [{}]"),
    "victorops-without-routing-key": cfg(
        "  receiver: v", "receivers:\n  - name: v\n    victorops_configs: [{api_key: y}]"
    ),
    "telegram-without-token": cfg("  receiver: t", "receivers:\n  - name: t\n    telegram_configs: [{chat_id: 1}]"),
    "discord-without-url": cfg("  receiver: d", "receivers:\n  - name: d\n    discord_configs: [{}]"),
    "pushover-without-user": cfg("  receiver: p", "receivers:\n  - name: p\n    pushover_configs: [{token: t}]"),
    "sns-without-target": cfg("  receiver: s", "receivers:\n  - name: s\n    sns_configs: [{}]"),
    "webex-without-room": cfg("  receiver: w", "receivers:\n  - name: w\n    webex_configs: [{}]"),
    "matcher-unescaped-quote": cfg('  receiver: default\n  routes:\n    - matchers: [\'a="x"y"\']'),
    "matcher-bad-regex": cfg("  receiver: default\n  routes:\n    - matchers: ['a=~\"(x\"']"),
    "matchers-empty-middle": cfg("  receiver: default\n  routes:\n    - matchers: ['a=b,,c=d']"),
    "yaml-syntax": "route: {receiver: a\n",
}


def ours_valid(text: str) -> bool:
    try:
        docs = yamlio.load(text).documents
    except yamlio.YamlSyntaxError:
        return False
    return not config_problems(docs[0] if docs else None, RELEASE)


def amtool_valid(path: Path) -> tuple[bool, str]:
    assert AMTOOL is not None
    proc = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("name", "expected"), [*((n, True) for n in GOOD), *((n, False) for n in BAD)])
def test_check_config_agrees_with_amtool(tmp_path: Path, name: str, expected: bool) -> None:
    text = (GOOD if expected else BAD)[name]
    path = tmp_path / "alertmanager.yml"
    path.write_text(text, encoding="utf-8")
    theirs, output = amtool_valid(path)
    assert theirs is expected, f"the case itself is wrong; amtool says:\n{output}"
    assert ours_valid(text) is theirs, f"amtool {'accepts' if theirs else 'rejects'} it:\n{output}"


def amtool_routes(path: Path, labels: dict[str, str]) -> list[str]:
    assert AMTOOL is not None
    args = [f"{k}={v}" for k, v in labels.items()]
    proc = subprocess.run(
        [AMTOOL, "config", "routes", "test", f"--config.file={path}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(",")


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda ls: ",".join(f"{k}={v}" for k, v in ls.items()) or "none")
def test_routing_agrees_with_amtool(tmp_path: Path, labels: dict[str, str]) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(ROUTING_TREE, encoding="utf-8")
    doc = yamlio.load(ROUTING_TREE).documents[0]
    ours = list(dict.fromkeys(name for _, name in match(doc["route"], labels, ("route",), doc["route"]["receiver"])))
    assert ours == amtool_routes(path, labels)
