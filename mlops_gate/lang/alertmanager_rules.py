"""What Alertmanager checks beyond types when it loads a configuration, struct by struct (each UnmarshalYAML
in config/, notify/*/config.go and prometheus/common), in Alertmanager's own words: a secret and its
`_file` twin set together, a notifier missing what it needs to send, a Slack `update_message` with a
webhook URL, an HTTP client with two ways to authenticate. Each rule takes a struct's mapping and the
release judged, and returns messages; `alertmanager.py` adds what needs the whole file (global fallbacks,
receivers and time intervals the routes name)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang.versions import Version

Rule = Callable[[dict[str, Any], Version], list[str]]
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def is_set(node: dict[str, Any], key: str) -> bool:
    """Whether a field holds a value (Go: a non-empty string, a non-nil pointer)."""
    value = node.get(key)
    return value is not None and value != "" and value != [] and value != {}


def twins(node: dict[str, Any], *pairs: str, prefix: str = "") -> list[str]:
    """`at most one of X & X_file must be configured`, for each `X` named."""
    return [
        f"at most one of {prefix}{k} & {prefix}{k}_file must be configured"
        for k in pairs
        if is_set(node, prefix + k) and is_set(node, prefix + k + "_file")
    ]


def one_of(node: dict[str, Any], *keys: str) -> bool:
    return any(is_set(node, k) for k in keys)


def _global(g: dict[str, Any], v: Version) -> list[str]:
    out = twins(g, "slack_app_token", "slack_api_url", "opsgenie_api_key", "victorops_api_key", prefix="")
    out += twins(g, "telegram_bot_token", "smtp_auth_password", "rocketchat_token", "rocketchat_token_id")
    out += twins(g, "smtp_auth_secret", "wechat_api_secret", "mattermost_webhook_url")
    token = one_of(g, "slack_app_token", "slack_app_token_file")
    app_url = g.get("slack_app_url") or "https://slack.com/api/chat.postMessage"
    if token and one_of(g, "slack_api_url", "slack_api_url_file") and g.get("slack_api_url") != app_url:
        out.append(
            "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured"
        )
    return out


def _http(h: dict[str, Any], v: Version) -> list[str]:
    out: list[str] = []
    bearer = one_of(h, "bearer_token", "bearer_token_file")
    basic, oauth, auth = (
        h.get(k) if isinstance(h.get(k), dict) else None for k in ("basic_auth", "oauth2", "authorization")
    )
    if is_set(h, "bearer_token") and is_set(h, "bearer_token_file"):
        out.append("at most one of bearer_token & bearer_token_file must be configured")
    elif (basic is not None or oauth is not None) and bearer:
        out.append("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
    if basic is not None:
        if sum(is_set(basic, k) for k in ("username", "username_file", "username_ref")) > 1:
            out.append("at most one of basic_auth username, username_file & username_ref must be configured")
        if sum(is_set(basic, k) for k in ("password", "password_file", "password_ref")) > 1:
            out.append("at most one of basic_auth password, password_file & password_ref must be configured")
    if auth is not None:
        if bearer:
            out.append("authorization is not compatible with bearer_token & bearer_token_file")
        if sum(is_set(auth, k) for k in ("credentials", "credentials_file", "credentials_ref")) > 1:
            out.append("at most one of authorization credentials & credentials_file must be configured")
        if str(auth.get("type") or "").strip().lower() == "basic":
            out.append('authorization type cannot be set to "basic", use "basic_auth" instead')
        if basic is not None or oauth is not None:
            out.append("at most one of basic_auth, oauth2 & authorization must be configured")
    if oauth is not None:
        if basic is not None and auth is None:
            out.append("at most one of basic_auth, oauth2 & authorization must be configured")
        if not is_set(oauth, "client_id"):
            out.append("oauth2 client_id must be configured")
        if not is_set(oauth, "token_url"):
            out.append("oauth2 token_url must be configured")
        if sum(is_set(oauth, k) for k in ("client_secret", "client_secret_file", "client_secret_ref")) > 1:
            out.append("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured")
    return out


def _tls(t: dict[str, Any], v: Version) -> list[str]:
    return [
        f"at most one of {k}, {k}_file & {k}_ref must be configured"
        for k in ("ca", "cert", "key")
        if sum(is_set(t, f) for f in (k, f"{k}_file", f"{k}_ref")) > 1
    ]


def _email(e: dict[str, Any], v: Version) -> list[str]:
    out = [] if is_set(e, "to") else ["missing to address in email config"]
    headers = e.get("headers") if isinstance(e.get("headers"), dict) else {}
    seen: set[str] = set()
    for name in headers:
        canonical = "-".join(w[:1].upper() + w[1:].lower() for w in str(name).split("-"))
        if canonical in seen:
            out.append(f'duplicate header "{canonical}" in email config')
        seen.add(canonical)
    threading = e.get("threading") if isinstance(e.get("threading"), dict) else {}
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
    custom = o.get("custom_fields") if isinstance(o.get("custom_fields"), dict) else {}
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
    sig = s.get("sigv4") if isinstance(s.get("sigv4"), dict) else {}
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
    http = w.get("http_config") if isinstance(w.get("http_config"), dict) else {}
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
        names = r.get(key) if isinstance(r.get(key), dict) else {}
        out += [f'invalid label name "{k}"' for k in names if not LABEL_RE.fullmatch(k)]
    equal = r.get("equal") if isinstance(r.get("equal"), list) else []
    out += [f'invalid label name "{k}" in equal list' for k in equal if not LABEL_RE.fullmatch(str(k))]
    return out


def _time_interval(t: dict[str, Any], v: Version) -> list[str]:
    return [] if is_set(t, "name") else ["missing name in time interval"]


def _receiver(r: dict[str, Any], v: Version) -> list[str]:
    if not is_set(r, "name"):
        return ["missing name in receiver"]
    labels = r.get("labels") if isinstance(r.get("labels"), dict) else {}
    if "name" in labels and str(labels["name"]) != str(r["name"]):
        return [f'receiver label "name" must match receiver name "{r["name"]}", got "{labels["name"]}"']
    return []


RULES: dict[str, Rule] = {
    "Global": _global,
    "HTTP": _http,
    "TLS": _tls,
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
