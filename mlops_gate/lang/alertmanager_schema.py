"""Alertmanager's configuration types, by release, and the checks a strict YAML decode makes on them.

Alertmanager decodes its configuration with yaml.v2's UnmarshalStrict into Go structs (config/config.go,
config/notifiers.go, notify/*/config.go, prometheus/common's HTTP client config): a key no struct field
has is refused, and so is a value of the wrong type (a mapping where a string goes, `5 minutes` where a
duration goes, `ftp://…` where an http(s) URL goes). Each struct below lists its fields as
`name:type[@since]`; a field added after Alertmanager 0.25 says since which release, and a later entry
for the same name replaces the type from its release on. Types: str, secret, bool, int, float, dur
(Prometheus duration), godur (Go duration), url (http/https, with a host), surl (url, or `<secret>`),
turl (surl, or a Go template), hostport, tlsver, any, strs, strmap, anymap, matchers, matchre,
jirafield, a struct name, `[Struct]` (a list of them) and `{Struct}` (a map of them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_gate.lang.alertmanager_types import scalar_problem, yaml_kind
from mlops_gate.lang.versions import Version

_HTTP = (
    "basic_auth:BasicAuth authorization:Authorization oauth2:OAuth2 bearer_token:secret bearer_token_file:str "
    "tls_config:TLS follow_redirects:bool enable_http2:bool proxy_url:str no_proxy:str@0.26 "
    "proxy_from_environment:bool@0.26 proxy_connect_header:anymap@0.26 http_headers:{Header}@0.28"
)
_N = "send_resolved:bool http_config:HTTP "  # every notifier
_ATTACH = (
    "fallback color pretext text author_name author_link author_icon title title_link thumb_url footer "
    "footer_icon image_url"
)
STRUCTS_TEXT: dict[str, str] = {
    "Config": "global:Global route:Route inhibit_rules:[InhibitRule] receivers:[Receiver] templates:strs "
    "mute_time_intervals:[TimeInterval] time_intervals:[TimeInterval] tracing:Tracing@0.30 "
    "event_recorder:EventRecorder@0.33",
    "Global": "resolve_timeout:dur http_config:HTTP jira_api_url:url@0.28 smtp_from:str smtp_hello:str "
    "smtp_smarthost:hostport smtp_auth_username:str smtp_auth_password:secret smtp_auth_password_file:str "
    "smtp_auth_secret:secret smtp_auth_secret_file:str@0.31 smtp_auth_identity:str smtp_require_tls:bool "
    "smtp_tls_config:TLS@0.28 smtp_force_implicit_tls:bool@0.31 slack_api_url:surl slack_api_url_file:str "
    "slack_app_token:secret@0.30 slack_app_token_file:str@0.30 slack_app_url:url@0.30 pagerduty_url:url "
    "opsgenie_api_url:url opsgenie_api_key:secret opsgenie_api_key_file:str wechat_api_url:url "
    "wechat_api_secret:secret wechat_api_secret_file:str@0.31 wechat_api_corp_id:str victorops_api_url:url "
    "victorops_api_key:secret victorops_api_key_file:str telegram_api_url:url telegram_bot_token:secret@0.31 "
    "telegram_bot_token_file:str@0.31 webex_api_url:url rocketchat_api_url:url@0.28 rocketchat_token:secret@0.28 "
    "rocketchat_token_file:str@0.28 rocketchat_token_id:secret@0.28 rocketchat_token_id_file:str@0.28 "
    "mattermost_webhook_url:surl@0.32 mattermost_webhook_url_file:str@0.32",
    "Route": "receiver:str group_by:strs match:strmap match_re:matchre matchers:matchers mute_time_intervals:strs "
    "active_time_intervals:strs continue:bool routes:[Route] group_wait:dur group_interval:dur repeat_interval:dur "
    "labels:strmap@0.34",
    "InhibitRule": "name:str@0.30 source_match:strmap source_match_re:matchre source_matchers:matchers "
    "target_match:strmap target_match_re:matchre target_matchers:matchers equal:strs",
    "Receiver": "name:str labels:strmap@0.33 discord_configs:[Discord] email_configs:[Email] "
    "incidentio_configs:[Incidentio]@0.29 pagerduty_configs:[PagerDuty] slack_configs:[Slack] "
    "webhook_configs:[Webhook] opsgenie_configs:[OpsGenie] wechat_configs:[WeChat] pushover_configs:[Pushover] "
    "victorops_configs:[VictorOps] sns_configs:[SNS] telegram_configs:[Telegram] webex_configs:[Webex] "
    "msteams_configs:[MSTeams]@0.26 msteamsv2_configs:[MSTeamsV2]@0.28 jira_configs:[Jira]@0.28 "
    "rocketchat_configs:[Rocketchat]@0.28 mattermost_configs:[Mattermost]@0.30",
    "HTTP": _HTTP,
    "TLS": "ca:str@0.26 cert:str@0.26 key:secret@0.26 ca_file:str cert_file:str key_file:str ca_ref:str@0.28 "
    "cert_ref:str@0.28 key_ref:str@0.28 server_name:str insecure_skip_verify:bool min_version:tlsver "
    "max_version:tlsver",
    "BasicAuth": "username:str username_file:str@0.27 username_ref:str@0.28 password:secret password_file:str "
    "password_ref:str@0.28",
    "Authorization": "type:str credentials:secret credentials_file:str credentials_ref:str@0.28",
    "OAuth2": "client_id:str client_secret:secret client_secret_file:str client_secret_ref:str@0.28 "
    "client_certificate_key_id:str@0.30 client_certificate_key:secret@0.30 client_certificate_key_file:str@0.30 "
    "client_certificate_key_ref:str@0.30 grant_type:str@0.30 signature_algorithm:str@0.30 iss:str@0.30 "
    "audience:str@0.30 claims:anymap@0.30 scopes:strs token_url:str endpoint_params:strmap tls_config:TLS "
    "proxy_url:str no_proxy:str@0.26 proxy_from_environment:bool@0.26 proxy_connect_header:anymap@0.26",
    "Header": "values:strs secrets:strs files:strs",
    "Email": "send_resolved:bool to:str from:str hello:str smarthost:hostport auth_username:str auth_password:secret "
    "auth_password_file:str auth_secret:secret auth_secret_file:str@0.31 auth_identity:str headers:strmap html:str "
    "text:str require_tls:bool tls_config:TLS force_implicit_tls:bool@0.31 threading:Threading@0.30",
    "Threading": "enabled:bool thread_by_date:str",
    "Slack": _N + "api_url:surl api_url_file:str app_token:secret@0.30 app_token_file:str@0.30 app_url:url@0.30 "
    "channel:str username:str color:str title:str title_link:str pretext:str text:str message_text:str@0.31 "
    "fields:[SlackField] short_fields:bool footer:str fallback:str callback_id:str icon_emoji:str icon_url:str "
    "image_url:str thumb_url:str link_names:bool mrkdwn_in:strs actions:[SlackAction] update_message:bool@0.32 "
    "timeout:godur@0.30",
    "SlackField": "title:str value:str short:bool",
    "SlackAction": "type:str text:str url:str style:str name:str value:str confirm:SlackConfirm",
    "SlackConfirm": "text:str title:str ok_text:str dismiss_text:str",
    "Webhook": _N + "url:url url:surl@0.26 url:turl@0.31 url_file:str@0.26 max_alerts:int timeout:godur@0.28 "
    "payload:any@0.32",
    "PagerDuty": _N + "service_key:secret service_key_file:str routing_key:secret routing_key_file:str url:url "
    "client:str client_url:str description:str details:strmap details:anymap@0.30 images:[PagerDutyImage] "
    "links:[PagerDutyLink] source:str severity:str class:str component:str group:str timeout:godur@0.30",
    "PagerDutyImage": "src:str alt:str href:str",
    "PagerDutyLink": "href:str text:str",
    "OpsGenie": _N + "api_key:secret api_key_file:str api_url:url message:str description:str source:str "
    "details:strmap entity:str responders:[OpsGenieResponder] actions:str tags:str note:str priority:str "
    "update_alerts:bool",
    "OpsGenieResponder": "id:str name:str username:str type:str",
    "WeChat": _N + "api_secret:secret api_secret_file:str@0.31 corp_id:str message:str api_url:url to_user:str "
    "to_party:str to_tag:str agent_id:str message_type:str",
    "Pushover": _N + "user_key:secret user_key_file:str@0.26 token:secret token_file:str@0.26 title:str message:str "
    "url:str url_title:str device:str@0.26 sound:str priority:str retry:godur expire:godur ttl:godur@0.27 "
    "html:bool monospace:bool@0.29",
    "VictorOps": _N + "api_key:secret api_key_file:str api_url:url routing_key:str message_type:str state_message:str "
    "entity_display_name:str monitoring_tool:str custom_fields:strmap",
    "SNS": _N + "api_url:str sigv4:SigV4 topic_arn:str phone_number:str target_arn:str subject:str message:str "
    "attributes:strmap use_aws_http_client:bool@0.33",
    "SigV4": "region:str access_key:str secret_key:secret profile:str role_arn:str use_fips_sts_endpoint:bool@0.30 "
    "service_name:str@0.30 external_id:str@0.34",
    "Telegram": _N + "api_url:url bot_token:secret bot_token_file:str@0.26 chat_id:int chat_id_file:str@0.31 "
    "message_thread_id:int@0.28 message:str disable_notifications:bool parse_mode:str",
    "Discord": _N + "webhook_url:surl webhook_url_file:str@0.27 content:str@0.28 title:str message:str "
    "username:str@0.28 avatar_url:str@0.28",
    "Webex": _N + "api_url:url message:str room_id:str",
    "MSTeams": _N + "webhook_url:surl webhook_url_file:str@0.27 title:str summary:str@0.27 text:str",
    "MSTeamsV2": _N + "webhook_url:surl webhook_url_file:str title:str text:str",
    "Jira": _N + "api_url:url api_type:str@0.29 project:str summary:str summary:jirafield@0.30 description:str "
    "description:jirafield@0.30 labels:strs priority:str issue_type:str reopen_transition:str "
    "resolve_transition:str wont_fix_resolution:str reopen_duration:dur fields:anymap",
    "JiraField": "template:str enable_update:bool",
    "Rocketchat": _N + "api_url:url token_id:secret token_id_file:str token:secret token_file:str channel:str "
    "color:str title:str title_link:str text:str fields:[RocketchatField] short_fields:bool emoji:str icon_url:str "
    "image_url:str thumb_url:str link_names:bool actions:[RocketchatAction]",
    "RocketchatField": "short:bool title:str value:str",
    "RocketchatAction": "type:str text:str url:str imageurl:str iswebview:bool webviewheightratio:str msg:str "
    "msginchatwindow:bool msgprocessingtype:str",
    "Mattermost": _N + "webhook_url:surl webhook_url_file:str channel:str username:str text:str icon_url:str "
    "icon_emoji:str attachments:[MattermostAttachment] type:str props:MattermostProps "
    "priority:MattermostPriority fields:[MattermostField]@0.32 "
    + " ".join(f"{k}:str@0.32" for k in _ATTACH.split() if k != "text"),
    "MattermostAttachment": " ".join(f"{k}:str" for k in _ATTACH.split()) + " fields:[MattermostField]",
    "MattermostField": "title:str value:str short:bool",
    "MattermostProps": "card:str",
    "MattermostPriority": "priority:str requested_ack:bool persistent_notifications:bool",
    "Incidentio": _N + "url:url url_file:str alert_source_token:secret alert_source_token_file:str max_alerts:int "
    "timeout:godur",
    "TimeInterval": "name:str time_intervals:[TimeSpec]",
    "TimeSpec": "times:[TimeRange] weekdays:strs days_of_month:strs months:strs years:strs location:str",
    "TimeRange": "start_time:str end_time:str",
    "Tracing": "client_type:str endpoint:str sampling_fraction:float insecure:bool tls_config:TLS headers:anymap "
    "compression:str timeout:dur",
    "EventRecorder": "file_outputs:[FileOutput] webhook_outputs:[WebhookOutput] kafka_outputs:[KafkaOutput] "
    "stdout_outputs:[Empty]@0.34",
    "FileOutput": "path:str",
    "WebhookOutput": "url:surl http_config:HTTP timeout:dur workers:int max_retries:int retry_backoff:dur "
    "batch:bool@0.34 batch_flush_interval:dur@0.34 batch_max_bytes:int@0.34 batch_max_events:int@0.34",
    "KafkaOutput": "brokers:strs topic:str client_id:str format:str acks:str compression:str buffer_size:int "
    "tls_config:TLS",
    "Empty": "",
}
# the Alertmanager release each notifier list arrived in, for messages about receivers
NOTIFIERS = [f.split(":")[0] for f in STRUCTS_TEXT["Receiver"].split() if f.split(":")[0].endswith("_configs")]


def fields(struct: str, version: Version) -> dict[str, str]:
    """The fields of `struct` in `version`: name -> type."""
    out: dict[str, str] = {}
    for entry in STRUCTS_TEXT[struct].split():
        name, _, rest = entry.partition(":")
        kind, _, since = rest.partition("@")
        if not since or version.at_least(since):
            out[name] = kind
    return out


def since(struct: str, name: str) -> str | None:
    """The first release with field `name` in `struct`, or None when no release has it."""
    for entry in STRUCTS_TEXT[struct].split():
        key, _, rest = entry.partition(":")
        if key == name:
            return rest.partition("@")[2] or "0.25"
    return None


Report = Callable[[str, tuple[object, ...]], None]
Rules = dict[str, Callable[[dict[str, Any], Version], list[str]]]


def walk(value: Any, kind: str, path: tuple[object, ...], version: Version, report: Report, rules: Rules) -> None:
    """Report (message, key path) for what a strict decode of `value` as `kind` refuses: its types, then each
    struct's own checks (`rules`, by struct name)."""
    if kind.startswith("[") and kind.endswith("]"):
        if value is not None and not isinstance(value, list):
            report(f"cannot unmarshal {yaml_kind(value)} into a list", path)
            return
        for i, item in enumerate(value or []):
            walk(item, kind[1:-1], (*path, i), version, report, rules)
        return
    if kind.startswith("{") and kind.endswith("}"):
        if value is not None and not isinstance(value, dict):
            report(f"cannot unmarshal {yaml_kind(value)} into a mapping", path)
            return
        for k, item in (value or {}).items():
            walk(item, kind[1:-1], (*path, k), version, report, rules)
        return
    if kind in STRUCTS_TEXT or (kind == "jirafield" and isinstance(value, dict)):
        _struct(value, "JiraField" if kind == "jirafield" else kind, path, version, report, rules)
        return
    why = scalar_problem(value, kind)
    if why:
        report(why, path)


def _struct(value: Any, kind: str, path: tuple[object, ...], version: Version, report: Report, rules: Rules) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        report(f"cannot unmarshal {yaml_kind(value)} into a mapping ({kind})", path)
        return
    known = fields(kind, version)
    for key, item in value.items():
        if key not in known:
            first = since(kind, key)
            later = f" (Alertmanager {first} reads it)" if first and not version.at_least(first) else ""
            report(f"field {key} not found in type {kind}{later}", (*path, key))
            continue
        walk(item, known[key], (*path, key), version, report, rules)
    for message in rules[kind](value, version) if kind in rules else ():
        report(message, path)
