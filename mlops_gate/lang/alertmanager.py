"""Alertmanager configuration: validated the way Alertmanager loads it (and `amtool check-config` checks
it) for a given release, and alerts routed through it the way Alertmanager routes them. A parsed YAML
document in, problems with key paths (or the receivers an alert reaches) out; monitoring.alert-routing and
monitoring.live judge the answers. Types: `alertmanager_schema.py` and `alertmanager_types.py`; each struct's
own checks: `alertmanager_rules.py`; what notifiers take from `global`: `alertmanager_global.py`; what needs
the whole file (the names routes use) is here."""

from __future__ import annotations

import re
from typing import Any

from mlops_gate.lang import alertmanager_schema as schema
from mlops_gate.lang import alertmanager_templates as templates
from mlops_gate.lang import promrules as pr
from mlops_gate.lang import regexes
from mlops_gate.lang.alertmanager_global import fallbacks
from mlops_gate.lang.alertmanager_rules import RULES
from mlops_gate.lang.alertmanager_types import LABEL_RE, is_set, mapping, sequence
from mlops_gate.lang.versions import ALERTMANAGER_DEFAULT, Version, parse

DEFAULT = parse(ALERTMANAGER_DEFAULT)
NOTIFIERS = set(schema.NOTIFIERS)

MATCHER_RE = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*)", re.S)  # value rstrip()ped: linear


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


def config_problems(doc: Any, version: Version = DEFAULT) -> list[pr.Problem]:
    """Every problem Alertmanager `version` would refuse the configuration for (it stops at the first), and
    the notification templates it could not render (`runtime`: it loads them)."""
    P = pr.Problem
    if doc is None:
        return [P("no route provided in config", ())]
    if not isinstance(doc, dict):
        return [P("the configuration is not a mapping", ())]
    out: list[pr.Problem] = []

    def report(message: str, path: tuple[object, ...]) -> None:
        at = path[:-1] if message.startswith("field ") else path  # `field X not found`: where X is
        out.append(P(_where(doc, at) + message, path))

    schema.walk(doc, "Config", (), version, report, RULES)
    glob = mapping(doc.get("global"))
    receivers = sequence(doc.get("receivers"))
    names: set[str] = set()
    for i, r in enumerate(receivers):
        if not isinstance(r, dict) or not is_set(r, "name"):
            continue
        name = str(pr.scalar(r.get("name")))
        if name in names:
            out.append(P(f'notification config name "{name}" is not unique', ("receivers", i, "name")))
        names.add(name)
        out += fallbacks(r, glob, ("receivers", i), version)
    out += [P(_where(doc, path) + m, path, runtime=True) for m, path in templates.problems(doc, version)]
    route = doc.get("route")
    if not isinstance(route, dict):
        return [*out, P("no routes provided", ("route",))]
    out += _root(route)
    intervals: set[str] = set()
    for key, what in (("mute_time_intervals", "mute time interval"), ("time_intervals", "time interval")):
        for i, t in enumerate(_list(doc.get(key))):
            interval = pr.scalar(t.get("name")) if isinstance(t, dict) else None
            if interval and interval in intervals:
                out.append(P(f'{what} "{interval}" is not unique', (key, i, "name")))
            intervals.add(interval or "")
    return out + _route_problems(route, ("route",), names, intervals)


def _where(doc: dict[str, Any], path: tuple[object, ...]) -> str:
    """`receiver "x": slack_configs[0]: `, `global: `, `route.routes[1]: ` for a key path."""
    if len(path) >= 2 and path[0] == "receivers" and isinstance(path[1], int):
        r = _list(doc.get("receivers"))[path[1]]
        name = pr.scalar(r.get("name")) if isinstance(r, dict) else None
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[2:]).lstrip(".")
        head = f'receiver "{name}"' if name else f"receiver {path[1] + 1}"
        return f"{head}: {rest}: " if rest else f"{head}: "
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return f"{shown}: " if shown else ""


def _root(route: dict[str, Any]) -> list[pr.Problem]:
    P = pr.Problem
    out = []
    if route.get("continue") is True:
        out.append(P("cannot have continue in root route", ("route", "continue")))
    if not route.get("receiver"):
        out.append(P("root route must specify a default receiver", ("route",)))
    if any(route.get(k) for k in ("match", "match_re", "matchers")):
        out.append(P("root route must not have any matchers", ("route",)))
    for key, what in (("mute_time_intervals", "mute"), ("active_time_intervals", "active")):
        if route.get(key):
            out.append(P(f"root route must not have any {what} time intervals", ("route", key)))
    return out


def _route_problems(
    route: dict[str, Any], path: tuple[object, ...], names: set[str], intervals: set[str]
) -> list[pr.Problem]:
    P = pr.Problem
    out = []
    for key in ("mute_time_intervals", "active_time_intervals"):
        out += [
            P(f'undefined time interval "{t}" used in route', (*path, key))
            for t in _list(route.get(key))
            if pr.scalar(t) not in intervals
        ]
    labels = [pr.scalar(g) for g in _list(route.get("group_by"))]
    if "..." in labels and len(labels) > 1:
        out.append(P("cannot have wildcard group_by (`...`) and other labels at the same time", (*path, "group_by")))
    bad = [g for g in labels if g != "..." and not (g and LABEL_RE.fullmatch(g))]
    dup = sorted({g for g in labels if g and g != "..." and labels.count(g) > 1})
    out += [P(f'invalid label name "{g}" in group_by list', (*path, "group_by")) for g in bad]
    out += [P(f'duplicated label "{g}" in group_by', (*path, "group_by")) for g in dup]
    for name in mapping(route.get("labels")):
        if not LABEL_RE.fullmatch(str(name)):
            out.append(P(f'invalid label name "{name}" in route labels', (*path, "labels", name)))
    receiver = route.get("receiver")
    if receiver and pr.scalar(receiver) not in names:
        out.append(P(f'undefined receiver "{receiver}" used in route', (*path, "receiver")))
    for key in ("group_interval", "repeat_interval"):
        if key in route and pr.parse_duration(route[key]) == 0:
            out.append(P(f"{key} cannot be zero", (*path, key)))
    for name in mapping(route.get("match")):
        if not LABEL_RE.fullmatch(name):
            out.append(P(f'invalid label name "{name}"', (*path, "match", name)))
    for i, text in enumerate(_list(route.get("matchers"))):
        if not isinstance(text, str) or parse_matchers(text) is None:
            out.append(P(f"bad matcher {text!r} (want label=value, !=, =~ or !~)", (*path, "matchers", i)))
    for i, child in enumerate(_list(route.get("routes"))):
        if isinstance(child, dict):
            out += _route_problems(child, (*path, "routes", i), names, intervals)
    return out


def _regex_ok(text: str) -> bool:
    return regexes.valid(text)  # Alertmanager's syntax (RE2), as amtool check-config refuses it


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def struct_problems(doc: Any, struct: str, version: Version = DEFAULT) -> list[pr.Problem]:
    """What Alertmanager refuses decoding `doc` as one of its config structs alone (yaml.UnmarshalStrict into
    an EmailConfig, a SlackConfig, ...): its types and its own checks, none of the whole file's."""
    out: list[pr.Problem] = []
    schema.walk(doc, struct, (), version, lambda m, path: out.append(pr.Problem(m, path)), RULES)
    return out
