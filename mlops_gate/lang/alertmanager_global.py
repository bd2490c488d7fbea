"""Alertmanager's `global` section: its own secrets and `_file` twins, and what each notifier takes from it
when it does not set it (Config.UnmarshalYAML) — the notifiers missing what they need to send."""

from __future__ import annotations

from typing import Any

from mlops_gate.lang import promrules as pr
from mlops_gate.lang.alertmanager_schema import NOTIFIERS
from mlops_gate.lang.alertmanager_types import is_set, mapping, one_of, sequence, twins
from mlops_gate.lang.versions import Version


def global_rule(g: dict[str, Any], v: Version) -> list[str]:
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


def fallbacks(r: dict[str, Any], g: dict[str, Any], path: tuple[object, ...], v: Version) -> list[pr.Problem]:
    """What a notifier takes from `global` when it does not set it (Config.UnmarshalYAML): missing from both."""
    out = []
    for key in NOTIFIERS:
        for j, c in enumerate(sequence(r.get(key))):
            at = (*path, key, j)
            kind = key.removesuffix("_configs")
            if c is None and kind not in ("slack", "opsgenie", "wechat", "rocketchat"):
                out.append(pr.Problem(f'receiver "{r.get("name")}": {key}[{j}]: missing {kind} config', at))
                continue
            for why in _needs(kind, c if isinstance(c, dict) else {}, g, v):
                out.append(pr.Problem(f'receiver "{r.get("name")}": {key}[{j}]: {why}', at))
    return out


def _needs(kind: str, c: dict[str, Any], g: dict[str, Any], v: Version) -> list[str]:
    def has(*keys: str) -> bool:
        given = any(_url_given(c, k) for k in keys)
        return given or one_of(c, *keys) or one_of(g, *(f"{kind}_{k}" for k in keys))

    if kind == "email":
        out = [] if is_set(c, "smarthost") or is_set(g, "smtp_smarthost") else ["no global SMTP smarthost set"]
        return out + ([] if is_set(c, "from") or is_set(g, "smtp_from") else ["no global SMTP from set"])
    if kind == "slack":
        http = mapping(c.get("http_config")) or mapping(g.get("http_config"))
        authorized = isinstance(http, dict) and isinstance(http.get("authorization"), dict)
        token = one_of(c, "app_token", "app_token_file") or (
            not authorized and not is_set(c, "api_url") and one_of(g, "slack_app_token", "slack_app_token_file")
        )
        if not (has("api_url", "api_url_file") or token):
            return [
                "no Slack API URL nor App token set either inline or in a file"
                if v.at_least("0.30")
                else "no global Slack API URL set either inline or in a file"
            ]
        return ["http authorization can't be set when using Slack App tokens"] if token and authorized else []
    if kind == "opsgenie" and not has("api_key", "api_key_file"):
        return ["no global OpsGenie API Key set either inline or in a file"]
    if kind == "victorops" and not has("api_key", "api_key_file"):
        return ["no global VictorOps API Key set"]
    if kind == "wechat":
        out = (
            []
            if one_of(c, "api_secret", "api_secret_file") or one_of(g, "wechat_api_secret", "wechat_api_secret_file")
            else ["no global Wechat Api Secret set either inline or in a file"]
        )
        return out + (
            [] if is_set(c, "corp_id") or is_set(g, "wechat_api_corp_id") else ["no global Wechat CorpID set"]
        )
    if kind == "telegram":
        inherited = v.at_least("0.31") and one_of(g, "telegram_bot_token", "telegram_bot_token_file")
        if not (one_of(c, "bot_token", "bot_token_file") or inherited):
            return ["missing bot_token or bot_token_file on telegram_config"]
    if kind == "discord" and not (one_of(c, "webhook_url", "webhook_url_file") or _url_given(c, "webhook_url")):
        return ["no discord webhook URL or URLFile provided"]
    if kind == "msteamsv2" and not (one_of(c, "webhook_url", "webhook_url_file") or _url_given(c, "webhook_url")):
        return ["no msteamsv2 webhook URL or URLFile provided"]
    if kind == "jira" and not (_url_given(c, "api_url") or is_set(g, "jira_api_url")):
        return ["no global Jira Cloud URL set"]
    if kind == "rocketchat":
        return [
            f"no global Rocketchat {what} set either inline or in a file"
            for key, what in (("token_id", "TokenID"), ("token", "Token"))
            if not has(key, f"{key}_file")
        ][:1]
    if kind == "mattermost" and not has("webhook_url", "webhook_url_file"):
        return ["missing webhook_url or webhook_url_file on mattermost_config"]
    return []


def _url_given(c: dict[str, Any], key: str) -> bool:
    """A URL key present, even empty: Alertmanager refuses an empty URL as invalid (reported as such), not
    as missing."""
    return key.endswith(("url", "webhook_url")) and key in c and c[key] is not None
