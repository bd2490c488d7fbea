"""What Alertmanager checks beyond types when it loads a configuration, struct by struct (each UnmarshalYAML
in config/, notify/*/config.go and prometheus/common), in Alertmanager's own words: a secret and its
`_file` twin set together, a notifier missing what it needs to send, a Slack `update_message` with a
webhook URL, an HTTP client with two ways to authenticate. Each rule takes a struct's mapping and the
release judged, and returns messages. `alertmanager_types.py` has the HTTP client's and TLS rules,
`alertmanager_global.py` what notifiers take from `global`, `alertmanager.py` what needs the whole file
(receivers and time intervals the routes name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang.alertmanager_global import global_rule
from mlops_gate.lang.alertmanager_types import LABEL_RE, http_rule, is_set, mapping, one_of, sequence, tls_rule, twins
from mlops_gate.lang.versions import Version

Rule = Callable[[dict[str, Any], Version], list[str]]


def _email(e: dict[str, Any], v: Version) -> list[str]:
    out = [] if is_set(e, "to") else ["missing to address in email config"]
    headers = mapping(e.get("headers"))
    seen: set[str] = set()
    for name in headers:
        canonical = "-".join(w[:1].upper() + w[1:].lower() for w in str(name).split("-"))
        if canonical in seen:
            out.append(f'duplicate header "{canonical}" in email config')
        seen.add(canonical)
    threading = mapping(e.get("threading"))
    if threading.get("enabled") is True:
        out += [
            f"conflicting configuration: threading.enabled conflicts with custom {h} header"
            for h in ("References", "In-Reply-To")
            if h in seen
        ]
        if threading.get("thread_by_date") not in ("none", "daily"):
            out.append("threading.thread_by_date must be either 'none' or 'daily'")
    return out


def _slack(s: dict[str, Any], v: Version) -> list[str]:
    out = twins(s, "api_url", "app_token")
    if one_of(s, "api_url", "api_url_file") and one_of(s, "app_token", "app_token_file"):
        out.append("at most one of api_url/api_url_file & app_token/app_token_file must be configured")
    if s.get("update_message") is True and s.get("api_url") != "https://slack.com/api/chat.postMessage":
        out.append(
            "update_message can only be used with bot tokens. api_url must be set to https://slack.com/api/chat.postMessage"
        )
    return out


def _slack_field(f: dict[str, Any], v: Version) -> list[str]:
    return [f"missing {k} in Slack field configuration" for k in ("title", "value") if not is_set(f, k)][:1]


def _slack_action(a: dict[str, Any], v: Version) -> list[str]:
    out = [f"missing {k} in Slack action configuration" for k in ("type", "text") if not is_set(a, k)]
    if not one_of(a, "url", "name"):
        out.append("missing name or url in Slack action configuration")
    return out[:1]


def _opsgenie(o: dict[str, Any], v: Version) -> list[str]:
    out = twins(o, "api_key")
    for r in o.get("responders") or []:
        if not isinstance(r, dict):
            continue
        if not one_of(r, "id", "username", "name"):
            out.append(f"opsGenieConfig responder {r} has to have at least one of id, username or name specified")
        kind = str(r.get("type") or "")
        if "{{" in kind:
            why = gt.template_problem(kind)
            if why:
                out.append(f"opsGenieConfig responder {r} type contains invalid template syntax: {why}")
        elif kind.lower() not in ("team", "teams", "user", "escalation", "schedule"):
            out.append(
                f"opsGenieConfig responder {r} type does not match valid options "
                "^(team|teams|user|escalation|schedule)$"
            )
    return out


def _wechat(w: dict[str, Any], v: Version) -> list[str]:
    out = twins(w, "api_secret")
    if str(w.get("message_type") or "text") not in ("text", "markdown"):
        out.append(f"weChat message type {w.get('message_type')!r} does not match valid options ^(text|markdown)$")
    return out


def _victorops(o: dict[str, Any], v: Version) -> list[str]:
    out = [] if is_set(o, "routing_key") else ["missing Routing key in VictorOps config"]
    out += twins(o, "api_key")
    reserved = (
        "routing_key",
        "message_type",
        "state_message",
        "entity_display_name",
        "monitoring_tool",
        "entity_id",
        "entity_state",
    )
    custom = mapping(o.get("custom_fields"))
    out += [
        f"victorOps config contains custom field {k} which cannot be used as it conflicts with the fixed/static fields"
        for k in reserved
        if k in custom
    ]
    return out


def _pushover(p: dict[str, Any], v: Version) -> list[str]:
    out = []
    for key in ("user_key", "token"):
        if not one_of(p, key, f"{key}_file"):
            out.append(f"one of {key} or {key}_file must be configured")
        out += twins(p, key)
    if p.get("html") is True and p.get("monospace") is True:
        out.append("at most one of monospace & html must be configured")
    return out


def _sns(s: dict[str, Any], v: Version) -> list[str]:
    empties = sum(not is_set(s, k) for k in ("target_arn", "topic_arn", "phone_number"))
    out = ["must provide either a Target ARN, Topic ARN, or Phone Number for SNS config"] if empties % 2 else []
    sig = mapping(s.get("sigv4"))
    if is_set(sig, "access_key") != is_set(sig, "secret_key"):
        out.append(
            "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config"
        )
    if is_set(sig, "external_id") and not is_set(sig, "role_arn"):
        out.append("external_id can only be used with role_arn")
    return out


def _telegram(t: dict[str, Any], v: Version) -> list[str]:
    out = twins(t, "bot_token")
    if not one_of(t, "chat_id", "chat_id_file"):
        out.append("missing chat_id or chat_id_file on telegram_config")
    elif is_set(t, "chat_id") and is_set(t, "chat_id_file"):
        out.append("at most one of chat_id & chat_id_file must be configured")
    if t.get("parse_mode") not in (None, "", "Markdown", "MarkdownV2", "HTML"):
        out.append("unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string")
    return out


def _url_twin(key: str) -> Rule:
    def rule(n: dict[str, Any], v: Version) -> list[str]:
        out = [] if one_of(n, key, f"{key}_file") else [f"one of {key} or {key}_file must be configured"]
        return out + twins(n, key)

    return rule


def _webex(w: dict[str, Any], v: Version) -> list[str]:
    out = [] if is_set(w, "room_id") else ["missing room_id on webex_config"]
    http = mapping(w.get("http_config"))
    return out + (
        [] if isinstance(http.get("authorization"), dict) else ["missing webex_configs.http_config.authorization"]
    )


def _jira(j: dict[str, Any], v: Version) -> list[str]:
    out = [f"missing {k} in jira_config" for k in ("project", "issue_type") if not is_set(j, k)]
    if v.at_least("0.29") and str(j.get("api_type") or "auto") not in ("auto", "cloud", "datacenter"):
        out.append("unknown api_type on jira_config, must be auto, cloud or datacenter")
    return out


def _incidentio(i: dict[str, Any], v: Version) -> list[str]:
    out = _url_twin("url")(i, v) + twins(i, "alert_source_token")
    token = one_of(i, "alert_source_token", "alert_source_token_file")
    http = i.get("http_config")
    if isinstance(http, dict) and isinstance(http.get("authorization"), dict) and token:
        out.append("cannot specify alert_source_token or alert_source_token_file when using http_config.authorization")
    if isinstance(http, dict) and not isinstance(http.get("authorization"), dict) and not token:
        out.append(
            "at least one of alert_source_token, alert_source_token_file or http_config.authorization "
            "must be configured"
        )
    return out


def _mattermost_field(f: dict[str, Any], v: Version) -> list[str]:
    return [f"missing {k} in Mattermost field configuration" for k in ("title", "value") if not is_set(f, k)][:1]


def _tracing(t: dict[str, Any], v: Version) -> list[str]:
    out = [] if is_set(t, "endpoint") else ["tracing endpoint must be set"]
    if t.get("client_type") not in (None, "grpc", "http"):
        out.append(f"expected tracing client type to be to be http or grpc, but got {t.get('client_type')}")
    if t.get("compression") not in (None, "", "gzip"):
        out.append(f"invalid compression type {t.get('compression')} provided, valid options: gzip")
    return out


def _inhibit(r: dict[str, Any], v: Version) -> list[str]:
    out = []
    for key in ("source_match", "target_match"):
        names = mapping(r.get(key))
        out += [f'invalid label name "{k}"' for k in names if not LABEL_RE.fullmatch(k)]
    equal = sequence(r.get("equal"))
    out += [f'invalid label name "{k}" in equal list' for k in equal if not LABEL_RE.fullmatch(str(k))]
    return out


def _time_interval(t: dict[str, Any], v: Version) -> list[str]:
    return [] if is_set(t, "name") else ["missing name in time interval"]


def _receiver(r: dict[str, Any], v: Version) -> list[str]:
    if not is_set(r, "name"):
        return ["missing name in receiver"]
    labels = mapping(r.get("labels"))
    if "name" in labels and str(labels["name"]) != str(r["name"]):
        return [f'receiver label "name" must match receiver name "{r["name"]}", got "{labels["name"]}"']
    return []


RULES: dict[str, Rule] = {
    "Global": global_rule,
    "HTTP": http_rule,
    "TLS": tls_rule,
    "Email": _email,
    "Slack": _slack,
    "SlackField": _slack_field,
    "SlackAction": _slack_action,
    "SlackConfirm": lambda c, v: [] if is_set(c, "text") else ["missing text in Slack confirmation configuration"],
    "PagerDuty": lambda p, v: (
        (
            []
            if one_of(p, "routing_key", "service_key", "routing_key_file", "service_key_file")
            else ["missing service or routing key in PagerDuty config"]
        )
        + twins(p, "routing_key", "service_key")
    ),
    "OpsGenie": _opsgenie,
    "WeChat": _wechat,
    "VictorOps": _victorops,
    "Pushover": _pushover,
    "SNS": _sns,
    "Telegram": _telegram,
    "Discord": _url_twin("webhook_url"),
    "Webex": _webex,
    "MSTeams": _url_twin("webhook_url"),
    "MSTeamsV2": lambda m, v: twins(m, "webhook_url"),
    "Jira": _jira,
    "Rocketchat": lambda r, v: twins(r, "token", "token_id"),
    "Mattermost": lambda m, v: twins(m, "webhook_url"),
    "MattermostField": _mattermost_field,
    "Incidentio": _incidentio,
    "Webhook": _url_twin("url"),
    "Tracing": _tracing,
    "InhibitRule": _inhibit,
    "TimeInterval": _time_interval,
    "Receiver": _receiver,
}
