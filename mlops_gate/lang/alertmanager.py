"""Alertmanager configuration: validated the way `amtool check-config` does, and alerts routed through it
the way Alertmanager routes them. A parsed YAML document in, problems with key paths (or the receivers an
alert reaches) out; monitoring.alert-routing and monitoring.live judge the answers."""

from __future__ import annotations

import re
from typing import Any

from mlops_gate.lang import promrules as pr
from mlops_gate.lang import regexes

AM_KEYS = {
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "mute_time_intervals",
    "time_intervals",
}
ROUTE_KEYS = {
    "receiver",
    "group_by",
    "continue",
    "match",
    "match_re",
    "matchers",
    "routes",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
}
_NOTIFIERS = (
    "email pagerduty slack webhook opsgenie wechat pushover victorops sns telegram discord webex "
    "msteams msteamsv2 jira rocketchat incidentio"
)
NOTIFIERS = {f"{n}_configs" for n in _NOTIFIERS.split()}
MATCHER_RE = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*)", re.S)  # value rstrip()ped: linear
# what each notifier must have, inline or (second) in `global`, else amtool check-config rejects it
_REQUIRED: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...]] = {
    "webhook_configs": ((("url", "url_file"), (), "missing URL in webhook config"),),
    "email_configs": (
        (("to",), (), "missing to address in email config"),
        (("smarthost",), ("smtp_smarthost",), "no global SMTP smarthost set"),
        (("from",), ("smtp_from",), "no global SMTP from set"),
    ),
    "slack_configs": ((("api_url", "api_url_file"), ("slack_api_url", "slack_api_url_file"), "no Slack API URL set"),),
    "pagerduty_configs": (
        (("routing_key", "service_key", "routing_key_file", "service_key_file"), (), "missing service or routing key"),
    ),
    "opsgenie_configs": (
        (("api_key", "api_key_file"), ("opsgenie_api_key", "opsgenie_api_key_file"), "no OpsGenie API key set"),
    ),
    "victorops_configs": (
        (("routing_key",), (), "missing routing key"),
        (("api_key", "api_key_file"), ("victorops_api_key", "victorops_api_key_file"), "no VictorOps API key set"),
    ),
    "telegram_configs": ((("bot_token", "bot_token_file"), (), "missing bot_token"),),
    "discord_configs": ((("webhook_url", "webhook_url_file"), (), "no discord webhook URL provided"),),
    "pushover_configs": ((("user_key", "user_key_file"), (), "missing user key"),),
    "sns_configs": ((("target_arn", "topic_arn", "phone_number"), (), "needs a target ARN, topic ARN or phone"),),
    "wechat_configs": ((("api_secret",), ("wechat_api_secret",), "no WeChat API secret set"),),
    "webex_configs": ((("room_id",), (), "missing room_id"),),
}


def route_count(route: dict[str, Any]) -> int:
    """How many routes the tree holds (the root too)."""
    children = route.get("routes")
    return 1 + sum(route_count(c) for c in children if isinstance(c, dict)) if isinstance(children, list) else 1


def match(
    route: dict[str, Any], labels: dict[str, str], path: tuple[object, ...], receiver: str
) -> list[tuple[tuple[object, ...], str]]:
    """Alertmanager's Route.Match: the routes (and their receivers) an alert ends up in."""
    receiver = pr.scalar(route.get("receiver")) or receiver
    found: list[tuple[tuple[object, ...], str]] = []
    for i, child in enumerate(route.get("routes") or []):
        if isinstance(child, dict) and _matches(child, labels):
            found += match(child, labels, (*path, "routes", i), receiver)
            if child.get("continue") is not True:
                break
    return found or [(path, receiver)]


def _matches(route: dict[str, Any], labels: dict[str, str]) -> bool:
    for name, value in (route.get("match") or {}).items():
        if labels.get(name, "") != pr.scalar(value):
            return False
    for name, value in (route.get("match_re") or {}).items():
        if not regexes.fullmatch(str(value), labels.get(name, "")):
            return False
    for text in route.get("matchers") or []:
        for name, op, value in parse_matchers(str(text)) or [("", "!=", "")]:  # unparsable: matches nothing
            got = labels.get(name, "")
            ok = got == value if op in ("=", "!=") else regexes.fullmatch(value, got) is True
            if ok == (op in ("!=", "!~")):
                return False
    return True


def parse_matchers(text: str) -> list[tuple[str, str, str]] | None:
    """Alertmanager's labels.ParseMatchers: `a="b"`, or several, comma-separated, optionally in braces."""
    text = text.removeprefix("{").removesuffix("}")
    tokens, token, quoted, escaped = [], "", False, False
    for ch in text:
        if ch == "," and not quoted:
            tokens.append(token)
            token = ""
            continue
        if ch == '"':
            quoted, escaped = (not quoted, False) if not escaped else (quoted, False)
        elif ch == "\\":
            escaped = not escaped
        elif ch != ",":
            escaped = False
        token += ch
    if token.strip():
        tokens.append(token.strip())
    out = [_parse_matcher(t) for t in tokens]
    return None if any(m is None for m in out) else [m for m in out if m is not None]


def _parse_matcher(text: str) -> tuple[str, str, str] | None:
    m = MATCHER_RE.fullmatch(text)
    if not m:
        return None
    raw, value, escaped = m.group(3).rstrip(), "", False
    quoted = raw.startswith('"')
    raw = raw[1:] if quoted else raw
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            value += {"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch)
        elif ch == "\\" and i < len(raw) - 1:
            escaped = True
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                return None
            quoted = False
        else:
            value += ch
    if quoted or (m.group(2) in ("=~", "!~") and not _regex_ok(value)):
        return None
    return m.group(1), m.group(2), value


def notifies(receiver: dict[str, Any]) -> bool:
    return any(k.endswith("_configs") and isinstance(v, list) and v for k, v in receiver.items())


def config_problems(doc: Any) -> list[pr.Problem]:
    P = pr.Problem
    if not isinstance(doc, dict):
        return [P("the configuration is not a mapping", ())]
    out = [P(f"unknown field {k!r} at the top level", (k,)) for k in doc if k not in AM_KEYS]
    receivers = doc.get("receivers")
    names: set[str] = set()
    if not isinstance(receivers, list):
        out.append(P("`receivers` must be a list", ("receivers",)))
        receivers = []
    for i, r in enumerate(receivers):
        name = pr.scalar(r.get("name")) if isinstance(r, dict) else None
        if not isinstance(r, dict) or not name:
            out.append(P(f"receiver {i + 1} has no name", ("receivers", i)))
            continue
        if name in names:
            out.append(P(f"receiver name {name!r} is not unique", ("receivers", i, "name")))
        names.add(name)
        out += [
            P(f"receiver {name!r}: unknown field {k!r}", ("receivers", i, k))
            for k in r
            if k != "name" and k not in NOTIFIERS
        ]
        out += _notifier_problems(r, name, ("receivers", i), doc.get("global"))
    route = doc.get("route")
    if not isinstance(route, dict):
        return [*out, P("no root `route` mapping", ("route",))]
    if not route.get("receiver"):
        out.append(P("root route must specify a default receiver", ("route",)))
    if any(route.get(k) for k in ("match", "match_re", "matchers")):
        out.append(P("root route must not have any matchers", ("route",)))
    if any(route.get(k) for k in ("mute_time_intervals", "active_time_intervals")):
        out.append(P("root route must not have any mute or active time intervals", ("route",)))
    intervals = {
        pr.scalar(t.get("name"))
        for key in ("time_intervals", "mute_time_intervals")
        for t in _list(doc.get(key))
        if isinstance(t, dict)
    }
    return out + _route_problems(route, ("route",), names, intervals)


def _notifier_problems(r: dict[str, Any], name: str, path: tuple[object, ...], glob: Any) -> list[pr.Problem]:
    glob = glob if isinstance(glob, dict) else {}
    out = []
    for key, rules in _REQUIRED.items():
        for j, c in enumerate(_list(r.get(key))):
            for inline, fallback, why in rules if isinstance(c, dict) else ():
                if not any(c.get(k) for k in inline) and not any(glob.get(k) for k in fallback):
                    out.append(pr.Problem(f"receiver {name!r}: {key}[{j}]: {why}", (*path, key, j)))
    return out


def _route_problems(
    route: dict[str, Any], path: tuple[object, ...], names: set[str], intervals: set[str | None]
) -> list[pr.Problem]:
    P = pr.Problem
    out = [P(f"unknown field {k!r} in route", (*path, k)) for k in route if k not in ROUTE_KEYS]
    for key in ("mute_time_intervals", "active_time_intervals"):
        out += [
            P(f"undefined time interval {t!r} used in route", (*path, key))
            for t in _list(route.get(key))
            if pr.scalar(t) not in intervals
        ]
    labels = [pr.scalar(g) for g in _list(route.get("group_by"))]
    if "..." in labels and len(labels) > 1:
        out.append(P("group_by `...` (all labels) cannot be combined with other labels", (*path, "group_by")))
    bad = [g for g in labels if g != "..." and not (g and pr.LABEL_RE.fullmatch(g))]
    dup = sorted({g for g in labels if g and labels.count(g) > 1})
    out += [P(f"invalid label name {g!r} in group_by", (*path, "group_by")) for g in bad]
    out += [P(f"duplicated label {g!r} in group_by", (*path, "group_by")) for g in dup]
    receiver = route.get("receiver")
    if receiver and pr.scalar(receiver) not in names:
        out.append(P(f"undefined receiver {receiver!r} used in route", (*path, "receiver")))
    for key in ("group_wait", "group_interval", "repeat_interval"):
        seconds = pr.parse_duration(route[key]) if key in route else 1.0
        if seconds is None:
            out.append(P(f"{key} {route[key]!r} is not a valid duration", (*path, key)))
        elif seconds == 0 and key != "group_wait":
            out.append(P(f"{key} cannot be zero", (*path, key)))
    if "continue" in route and not isinstance(route["continue"], bool):
        out.append(P("`continue` must be true or false", (*path, "continue")))
    for key in ("match", "match_re"):
        value = route.get(key)
        if value is not None and not isinstance(value, dict):
            out.append(P(f"`{key}` must be a mapping of label names to values", (*path, key)))
            continue
        for name, text in (value or {}).items():
            if not pr.LABEL_RE.fullmatch(name):
                out.append(P(f"invalid label name {name!r} in {key}", (*path, key, name)))
            elif key == "match_re" and not _regex_ok(str(text)):
                out.append(P(f"invalid regular expression {text!r} in match_re", (*path, key, name)))
    matchers = route.get("matchers")
    if matchers is not None and not isinstance(matchers, list):
        out.append(P("`matchers` must be a list", (*path, "matchers")))
        matchers = []
    for i, text in enumerate(matchers or []):
        if not isinstance(text, str) or parse_matchers(text) is None:
            out.append(P(f"bad matcher {text!r} (want label=value, !=, =~ or !~)", (*path, "matchers", i)))
    children = route.get("routes")
    if children is not None and not isinstance(children, list):
        return [*out, P("`routes` must be a list", (*path, "routes"))]
    for i, child in enumerate(children or []):
        if not isinstance(child, dict):
            out.append(P(f"route {i + 1} is not a mapping", (*path, "routes", i)))
        else:
            out += _route_problems(child, (*path, "routes", i), names, intervals)
    return out


def _regex_ok(text: str) -> bool:
    return regexes.valid(text)  # Alertmanager's syntax (RE2), as amtool check-config refuses it


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
