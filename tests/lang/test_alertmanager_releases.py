"""Alertmanager configurations by release, beyond Alertmanager's own test data (test_conformance_alertmanager):
keys each release reads, the secrets and `_file` twins of every notifier, what a notifier needs to send,
the HTTP client's authentication rules, and the types a strict decode refuses."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_gate import yamlio
from mlops_gate.lang import alertmanager as am
from mlops_gate.lang.versions import parse

V34, V25 = parse("0.34"), parse("0.25")


def problems(text: str, version: Any = V34) -> list[str]:
    return [p.message for p in am.config_problems(yamlio.load(text).documents[0], version)]


def receiver(body: str, glob: str = "") -> str:
    return f"{glob}route: {{receiver: r}}\nreceivers:\n  - name: r\n{body}"


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("route: {receiver: r}\nreceivers: [{name: r}]\ntracing: {endpoint: 'localhost:4317'}\n", "0.30"),
        ("route: {receiver: r, labels: {team: ml}}\nreceivers: [{name: r}]\n", "0.34"),
        (receiver("    mattermost_configs: [{webhook_url: 'https://mm.example.com/hooks/x'}]\n"), "0.30"),
        (receiver("    telegram_configs: [{chat_id: 1}]\n", "global: {telegram_bot_token: t}\n"), "0.31"),
        (receiver("    wechat_configs: [{corp_id: c}]\n", "global: {wechat_api_secret_file: /s}\n"), "0.31"),
        (receiver("    labels: {team: ml}\n"), "0.33"),
        (receiver("    msteamsv2_configs: [{webhook_url: 'https://x.example.com/w'}]\n"), "0.28"),
    ],
)
def test_current_releases_read_what_0_25_refuses(text: str, since: str) -> None:
    assert problems(text) == []
    assert any(since in m for m in problems(text, V25)), problems(text, V25)


@pytest.mark.parametrize(
    ("body", "glob", "error"),
    [
        (
            "    pagerduty_configs: [{routing_key: k, routing_key_file: /k}]\n",
            "",
            "at most one of routing_key & routing_key_file",
        ),
        (
            "    pushover_configs: [{user_key: u, user_key_file: /u, token: t}]\n",
            "",
            "at most one of user_key & user_key_file",
        ),
        ("    pushover_configs: [{user_key: u}]\n", "", "one of token or token_file must be configured"),
        (
            "    discord_configs: [{webhook_url: 'https://d.example.com/x', webhook_url_file: /d}]\n",
            "",
            "at most one of webhook_url",
        ),
        (
            "    msteams_configs: [{webhook_url: 'https://t.example.com/x', webhook_url_file: /t}]\n",
            "",
            "at most one of webhook_url",
        ),
        ("    webhook_configs: [{url: 'http://h.example.com', url_file: /h}]\n", "", "at most one of url & url_file"),
        (
            "    telegram_configs: [{bot_token: t, bot_token_file: /t, chat_id: 1}]\n",
            "",
            "at most one of bot_token & bot_token_file",
        ),
        (
            "    rocketchat_configs: [{token_id: i, token: t, token_file: /t}]\n",
            "",
            "at most one of token & token_file",
        ),
        ("    rocketchat_configs: [{token_id: i}]\n", "", "no global Rocketchat Token set either inline or in a file"),
        (
            "    incidentio_configs: [{url: 'https://i.example.com', alert_source_token: a, alert_source_token_file: /a}]\n",
            "",
            "at most one of alert_source_token",
        ),
        (
            "    email_configs: [{to: a@example.com}]\n",
            "global: {smtp_smarthost: 'h:25', smtp_from: g@example.com, smtp_auth_secret: s, smtp_auth_secret_file: /s}\n",
            "at most one of smtp_auth_secret & smtp_auth_secret_file",
        ),
        (
            "    slack_configs: [{api_url: 'https://hooks.slack.com/x', update_message: true}]\n",
            "",
            "update_message can only be used with bot tokens",
        ),
        (
            "    slack_configs: [{api_url: 'https://hooks.slack.com/x', channel: c, colour: red}]\n",
            "",
            "field colour not found in type Slack",
        ),
        (
            "    webhook_configs: [{url: 'http://h.example.com', max_alert: 3}]\n",
            "",
            "field max_alert not found in type Webhook",
        ),
        ("    slack_configs: [{api_url: ''}]\n", "", 'unsupported scheme "" for URL'),
        ("    webhook_configs: [{url: 'ftp://h.example.com'}]\n", "", "invalid URL: unsupported scheme"),
        ("    webhook_configs: [{url: 'http://h/{{ .Bad'}]\n", "", "invalid template syntax"),
        ("    slack_configs: [{api_url: 'https://hooks.slack.com/x', send_resolved: 'yes'}]\n", "", "into bool"),
        (
            "    webhook_configs: [{url: 'http://h.example.com', timeout: 5 minutes}]\n",
            "",
            'invalid duration "5 minutes"',
        ),
        (
            "    webhook_configs: [{url: 'http://h.example.com', http_config: {bearer_token: a, basic_auth: {username: u}}}]\n",
            "",
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file",
        ),
        (
            "    webhook_configs: [{url: 'http://h.example.com', http_config: {authorization: {type: Basic, credentials: c}}}]\n",
            "",
            'authorization type cannot be set to "basic"',
        ),
        (
            "    webhook_configs: [{url: 'http://h.example.com', http_config: {oauth2: {client_id: c}}}]\n",
            "",
            "oauth2 token_url must be configured",
        ),
        (
            "    webhook_configs: [{url: 'http://h.example.com', http_config: {tls_config: {ca: x, ca_file: /x}}}]\n",
            "",
            "at most one of ca, ca_file & ca_ref",
        ),
        (
            "    sns_configs: [{topic_arn: a, sigv4: {access_key: k}}]\n",
            "",
            "must provide a AWS SigV4 Access key and Secret Key",
        ),
        ("    telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: markdown}]\n", "", "unknown parse_mode"),
        (
            "    opsgenie_configs: [{api_key: k, responders: [{name: n, type: squad}]}]\n",
            "",
            "type does not match valid options",
        ),
        ("    webex_configs: [{room_id: r}]\n", "", "missing webex_configs.http_config.authorization"),
        (
            "    jira_configs: [{api_url: 'https://j.example.com', project: P}]\n",
            "",
            "missing issue_type in jira_config",
        ),
        (
            "    email_configs: [{to: a@example.com, smarthost: 'mail.example.com'}]\n",
            "global: {smtp_from: g@example.com}\n",
            "missing port in address",
        ),
    ],
)
def test_what_alertmanager_refuses(body: str, glob: str, error: str) -> None:
    found = problems(receiver(body, glob))
    assert any(error in m for m in found), found


def test_a_notifier_error_names_the_receiver_and_the_notifier() -> None:
    found = problems(receiver("    pushover_configs: [{user_key: u}]\n"))
    assert found == ['receiver "r": pushover_configs[0]: one of token or token_file must be configured']


def test_a_key_set_and_invalid_is_not_reported_missing_too() -> None:
    # `api_url: ""` is an invalid URL to Alertmanager, not a missing one (issue 12: honest messages)
    assert problems(receiver("    slack_configs: [{api_url: ''}]\n")) == [
        'receiver "r": slack_configs[0].api_url: unsupported scheme "" for URL'
    ]


@pytest.mark.parametrize(
    "body",
    [
        "    slack_configs: [{api_url: 'https://slack.com/api/chat.postMessage', update_message: true,"
        " http_config: {authorization: {credentials: xoxb-1}}, channel: c}]\n",
        "    webhook_configs: [{url: 'http://h.example.com/{{ .GroupLabels.alertname }}', timeout: 10s, max_alerts: 5}]\n",
        "    pagerduty_configs: [{routing_key: k, details: {a: {nested: 1}}, images: [{src: s}], links: [{href: h}]}]\n",
        "    email_configs: [{to: a@example.com, smarthost: '[::1]:25', from: f@example.com, threading: {enabled: true, thread_by_date: daily}}]\n",
        "    jira_configs: [{api_url: 'https://j.example.com', project: P, issue_type: Bug, summary: {template: x, enable_update: true}}]\n",
        "    webhook_configs: [{url: 'http://h.example.com', http_config: {authorization: {credentials_file: /c}, proxy_url: 'http://p:3128', http_headers: {X-A: {values: [v]}}}}]\n",
    ],
)
def test_what_alertmanager_0_34_reads(body: str) -> None:
    assert problems(receiver(body)) == []


def test_notification_templates_alertmanager_could_not_render() -> None:
    body = (
        "    slack_configs:\n      - api_url: 'https://hooks.slack.com/x'\n"
        "        title: '{{ .CommonLabels.alertname | toUpperr }}'\n"
        "        text: '{{ range .Alerts.Firing }}{{ .Annotations.summary }} {{ .Lables.x }}{{ end }}'\n"
        "        fields: [{title: t, value: '{{ $x }}'}]\n"
    )
    found = am.config_problems(yamlio.load(receiver(body)).documents[0], V34)
    assert [(p.message.split(" (")[0], p.runtime) for p in found] == [
        ('receiver "r": slack_configs[0].title: template: function "toUpperr" not defined', True),
        ('receiver "r": slack_configs[0].text: template: can\'t evaluate field Lables in the alert data', True),
        ('receiver "r": slack_configs[0].fields[0].value: template: undefined variable "$x"', True),
    ]
    assert all(
        p.message.endswith("(Alertmanager 0.34 could not render it: the notification would fail)") for p in found
    )
    # functions by release: toJson is Alertmanager 0.30's
    text = receiver(
        "    webhook_configs: [{url: 'http://h.example.com', payload: {a: '{{ .CommonLabels | toJson }}'}}]\n"
    )
    assert problems(text) == []
    assert problems(text, parse("0.29")) == [
        'receiver "r": webhook_configs[0]: field payload not found in type Webhook (Alertmanager 0.32 reads it)'
    ]
