"""Alertmanager configuration: validated the way `amtool check-config` does, and alerts routed.

`routing` is one configuration file's result for monitoring.alert-routing; the rest is pure: a
parsed YAML document in, problems with key paths (or the receivers an alert reaches) out.
"""

from __future__ import annotations

import re
from typing import Any

from mlops_gate.checks import _promrules as pr
from mlops_gate.checks._common import error_loc, file_subject, loc
from mlops_gate.facts import SourceFile
from mlops_gate.model import Outcome, Violation

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
MATCHER_RE = re.compile(r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*("(?:[^"\\]|\\.)*"|[^"]*?)\s*')


def routing(f: SourceFile, label_sets: list[dict[str, str]]) -> Outcome:
    """One configuration file's result: valid, and each label set reaches a receiver that notifies."""
    if f.error:
        return Outcome(
            file_subject(f),
            f"not a valid Alertmanager configuration: {f.error}",
            (Violation(f"cannot parse: {f.error}", error_loc(f)),),
        )
    doc: Any = f.documents[0] if f.documents else None  # only the first document counts
    problems = [Violation(p.message, loc(f, *p.path)) for p in config_problems(doc)]
    route = doc.get("route") if isinstance(doc, dict) else None
    if not isinstance(route, dict) or problems:
        return Outcome(
            file_subject(f), f"{len(problems)} problem(s) in the Alertmanager configuration", tuple(problems)
        )
    receivers = {pr.scalar(r.get("name")) or "": i for i, r in enumerate(doc["receivers"])}
    silent, reached = [], set()
    for labels in label_sets:
        names = [name for _, name in match(route, labels, ("route",), pr.scalar(route["receiver"]) or "")]
        reached.update(names)
        if not any(notifies(doc["receivers"][receivers[n]]) for n in names):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
            silent.append(
                Violation(
                    f"alert {{{shown}}} routes to {', '.join(names)}, which notifies no one",
                    loc(f, "receivers", receivers[names[0]]),
                )
            )
    evidence = (
        f"{f.path}: {len(receivers)} receiver(s); {len(label_sets)} label set(s) reach "
        f"{', '.join(sorted(reached))}",
    )
    if silent:
        message = f"{len(silent)} of {len(label_sets)} alert(s) reach no receiver that notifies"
    else:
        message = f"all {len(label_sets)} alert(s) reach a notifying receiver ({', '.join(sorted(reached))})"
    return Outcome(file_subject(f), message, tuple(silent), evidence)


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
        if not re.fullmatch(str(value), labels.get(name, "")):
            return False
    for text in route.get("matchers") or []:
        name, op, value = _parse_matcher(str(text)) or ("", "=", "")
        got = labels.get(name, "")
        ok = got == value if op in ("=", "!=") else re.fullmatch(value, got) is not None
        if ok == (op in ("!=", "!~")):
            return False
    return True


def _parse_matcher(text: str) -> tuple[str, str, str] | None:
    m = MATCHER_RE.fullmatch(text)
    if not m:
        return None
    value = m.group(3)
    if value.startswith('"'):
        value = re.sub(r"\\(.)", lambda c: {"n": "\n"}.get(c.group(1), c.group(1)), value[1:-1])
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
    route = doc.get("route")
    if not isinstance(route, dict):
        return [*out, P("no root `route` mapping", ("route",))]
    if not route.get("receiver"):
        out.append(P("root route must specify a default receiver", ("route",)))
    if any(route.get(k) for k in ("match", "match_re", "matchers")):
        out.append(P("root route must not have any matchers", ("route",)))
    return out + _route_problems(route, ("route",), names)


def _route_problems(route: dict[str, Any], path: tuple[object, ...], names: set[str]) -> list[pr.Problem]:
    P = pr.Problem
    out = [P(f"unknown field {k!r} in route", (*path, k)) for k in route if k not in ROUTE_KEYS]
    receiver = route.get("receiver")
    if receiver and pr.scalar(receiver) not in names:
        out.append(P(f"undefined receiver {receiver!r} used in route", (*path, "receiver")))
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in route and pr.parse_duration(route[key]) is None:
            out.append(P(f"{key} {route[key]!r} is not a valid duration", (*path, key)))
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
        parsed = _parse_matcher(str(text)) if isinstance(text, str) else None
        if parsed is None or (parsed[1] in ("=~", "!~") and not _regex_ok(parsed[2])):
            out.append(P(f"bad matcher {text!r} (want label=value, !=, =~ or !~)", (*path, "matchers", i)))
    children = route.get("routes")
    if children is not None and not isinstance(children, list):
        return [*out, P("`routes` must be a list", (*path, "routes"))]
    for i, child in enumerate(children or []):
        if not isinstance(child, dict):
            out.append(P(f"route {i + 1} is not a mapping", (*path, "routes", i)))
        else:
            out += _route_problems(child, (*path, "routes", i), names)
    return out


def _regex_ok(text: str) -> bool:
    try:
        re.compile(text)
    except re.error:
        return False
    return True
