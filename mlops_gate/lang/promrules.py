"""Prometheus rule files validated the way Prometheus loads them (model/rulefmt) and `promtool check rules`
checks them, for a given release, without Prometheus.

Pure: a parsed YAML document in, problems with key paths out. PromQL expressions (`promql.py`) and Go
templates (`gotemplate.py`) get structural parsers, not a full type checker. Messages use Prometheus's
own words; `tests/lang/test_promtool_oracle.py` measures agreement with promtool and
`tests/lang/test_conformance_prometheus.py` with Prometheus's own test data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang import gotemplate as gt
from mlops_gate.lang.promql import promql_problem
from mlops_gate.lang.promql_lex import Dialect, duration_seconds
from mlops_gate.lang.versions import PROMETHEUS_DEFAULT, Version, parse

LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
GROUP_KEYS = {
    "name": "2.42",
    "interval": "2.42",
    "limit": "2.42",
    "rules": "2.42",
    "query_offset": "2.53",
    "labels": "3.0",
}
RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


@dataclass(frozen=True)
class Problem:
    """One thing that keeps Prometheus from loading a rule file (or makes a rule fail when it runs), at a key path."""

    message: str
    path: tuple[object, ...]  # key path inside the document, for the line
    runtime: bool = False  # loads, but fails when it runs (a template field the data does not have)


@dataclass(frozen=True)
class RuleFormat:
    """The rule file format of one Prometheus release, with its feature flags and name validation."""

    version: Version = field(default_factory=lambda: parse(PROMETHEUS_DEFAULT))
    features: frozenset[str] = frozenset()
    legacy_names: bool = False  # `metric_name_validation_scheme: legacy` (the only scheme before 3.0)

    @property
    def dialect(self) -> Dialect:
        return Dialect(self.version, self.features)

    @property
    def utf8(self) -> bool:
        return self.version.at_least("3.0") and not self.legacy_names

    def label_name(self, name: str) -> bool:
        return bool(name) if self.utf8 else LABEL_RE.fullmatch(name) is not None

    def metric_name(self, name: str) -> bool:
        return bool(name) if self.utf8 else METRIC_RE.fullmatch(name) is not None


DEFAULT = RuleFormat()


@dataclass(frozen=True)
class Rule:
    """A rule as read: `kind` is alert or record; `for_s` is 0 without `for`, None when it is invalid."""

    kind: str
    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]
    for_s: float | None
    has_for: bool
    path: tuple[object, ...]


def parse_duration(value: object) -> float | None:
    """Seconds of a Prometheus duration (`1h30m`, `0`, `10ms`), or None when it is not one."""
    text = scalar(value)
    return None if text is None else duration_seconds(text)


def scalar(value: object) -> str | None:
    """The string a Go YAML decoder would put in a string field; None for mappings and lists."""
    if isinstance(value, (dict, list)):
        return None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate(doc: Any, fmt: RuleFormat = DEFAULT) -> list[Problem]:
    """Every problem Prometheus would report loading a rule file's first YAML document (and the template
    fields its alerts' data does not have, marked `runtime`)."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return [Problem(f"top level is a {_kind(doc)}, not a mapping with `groups`", ())]
    problems = [
        Problem(f"field {k} not found in type rulefmt.RuleGroups (only `groups`)", (k,)) for k in doc if k != "groups"
    ]
    groups = doc.get("groups")
    if groups is None:
        return problems
    if not isinstance(groups, list):
        return [*problems, Problem(f"`groups` is a {_kind(groups)}, not a list", ("groups",))]
    seen: set[str] = set()
    for gi, group in enumerate(groups):
        if group is not None:
            problems += _group(group, ("groups", gi), seen, fmt)
    return problems


def _group(group: Any, path: tuple[object, ...], seen: set[str], fmt: RuleFormat) -> list[Problem]:
    if not isinstance(group, dict):
        return [Problem(f"group {path[-1]} is a {_kind(group)}, not a mapping", path)]
    out = [
        Problem(_unknown(k, "rulefmt.RuleGroup", GROUP_KEYS.get(k), fmt), (*path, k))
        for k in group
        if k not in GROUP_KEYS or not fmt.version.at_least(GROUP_KEYS[k])
    ]
    name = scalar(group.get("name"))
    label = f"group {name!r}" if name else f"group {path[-1]}"
    if name is None:
        out.append(Problem(f"{label}: `name` is a {_kind(group['name'])}, not a string", (*path, "name")))
    elif not name:
        out.append(Problem("Groupname must not be empty", path))
    elif name in seen:
        out.append(Problem(f'groupname: "{name}" is repeated in the same file', (*path, "name")))
    else:
        seen.add(name)
    for key in ("interval", "query_offset"):
        if key in group and parse_duration(group[key]) is None:
            out.append(Problem(f"{label}: {key} {_show(group[key])} is not a valid duration", (*path, key)))
    limit = group.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        out.append(Problem(f"{label}: limit {_show(limit)} is not an integer", (*path, "limit")))
    if "labels" in group and fmt.version.at_least("3.0"):
        out += _pairs(group["labels"], (*path, "labels"), label, "labels", fmt, None)
    rules = group.get("rules")
    if rules is not None and not isinstance(rules, list):
        return [*out, Problem(f"{label}: `rules` is a {_kind(rules)}, not a list", (*path, "rules"))]
    for ri, rule in enumerate(rules or []):
        if rule is not None:
            out += _rule(rule, (*path, "rules", ri), f"{label}, rule {ri + 1}", fmt)
    return out


def _unknown(key: str, where: str, since: str | None, fmt: RuleFormat) -> str:
    later = f" (Prometheus {since} reads it; judged as {fmt.version})" if since else ""
    return f"field {key} not found in type {where}{later}"


def _rule(rule: Any, path: tuple[object, ...], where: str, fmt: RuleFormat) -> list[Problem]:
    if not isinstance(rule, dict):
        return [Problem(f"{where}: a {_kind(rule)}, not a mapping", path)]
    alert, record = scalar(rule.get("alert")) or "", scalar(rule.get("record")) or ""
    if alert or record:
        where = f"{where} ({'alert' if alert else 'record'} {alert or record})"
    out = [
        Problem(f"{where}: {_unknown(k, 'rulefmt.Rule', None, fmt)}", (*path, k)) for k in rule if k not in RULE_KEYS
    ]
    if alert and record:
        out.append(Problem(f"{where}: only one of 'record' and 'alert' must be set", path))
    elif not alert and not record:
        out.append(Problem(f"{where}: one of 'record' or 'alert' must be set", path))
    expr = scalar(rule.get("expr")) or ""
    if not expr.strip():
        out.append(Problem(f"{where}: field 'expr' must be set in rule", (*path, "expr")))
    else:
        err = promql_problem(expr, fmt.dialect)
        if err:
            out.append(Problem(f"{where}: could not parse expression: {err}", (*path, "expr")))
    for key in ("for", "keep_firing_for"):
        seconds = parse_duration(rule[key]) if key in rule else 0.0
        if seconds is None:
            out.append(Problem(f"{where}: {key!r} {_show(rule[key])} is not a valid duration", (*path, key)))
        elif record and seconds:
            out.append(Problem(f"{where}: invalid field {key!r} in recording rule", (*path, key)))
    if record:
        if isinstance(rule.get("annotations"), dict) and rule["annotations"]:
            out.append(Problem(f"{where}: invalid field 'annotations' in recording rule", (*path, "annotations")))
        if not fmt.metric_name(record):
            out.append(Problem(f"{where}: invalid recording rule name: {record}", (*path, "record")))
        if ("{" in record or "}" in record) and fmt.version.at_least("3.2"):
            message = f"braces present in the recording rule name; should it be in expr?: {record}"
            out.append(Problem(f"{where}: {message}", (*path, "record")))
    flavour = gt.prometheus(fmt.version) if alert else None
    for key in ("labels", "annotations"):
        out += _pairs(rule.get(key), (*path, key), where, key, fmt, flavour)
    return out


def _pairs(
    value: Any, path: tuple[object, ...], where: str, key: str, fmt: RuleFormat, flavour: gt.Flavour | None
) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Problem(f"{where}: `{key}` is a {_kind(value)}, not a mapping", path)]
    out = []
    what = key[:-1]
    for name, text in value.items():
        if not fmt.label_name(name) or (key == "labels" and name == "__name__"):
            out.append(Problem(f"{where}: invalid {what} name: {name}", (*path, name)))
        string = scalar(text)
        if string is None:
            out.append(Problem(f"{where}: {what} {name!r} is a {_kind(text)}, not a string", (*path, name)))
        elif flavour is not None:
            checked = gt.check(string, flavour)
            if checked.error:
                out.append(Problem(f'{where}: {what} "{name}": template: {checked.error}', (*path, name)))
            out += [
                Problem(
                    f'{where}: {what} "{name}": template: {f} (it fails every time the alert fires)',
                    (*path, name),
                    True,
                )
                for f in checked.fields
            ]
    return out


def rules_of_file(f: SourceFile) -> list[Rule]:
    """The rules of a rule file: of its first document, the only one promtool reads."""
    return rules_of(f.documents[0] if f.documents else None)


def rules_of(doc: Any) -> list[Rule]:
    """The well-formed rules of a document (alert or record set, mapping-shaped), in order."""
    out: list[Rule] = []
    groups = doc.get("groups") if isinstance(doc, dict) else None
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, dict) else None
        for ri, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                continue
            alert, record = scalar(rule.get("alert")) or "", scalar(rule.get("record")) or ""
            if not (alert or record):
                continue
            out.append(
                Rule(
                    kind="alert" if alert else "record",
                    name=alert or record,
                    expr=scalar(rule.get("expr")) or "",
                    labels=_strings(rule.get("labels")),
                    annotations=_strings(rule.get("annotations")),
                    for_s=parse_duration(rule["for"]) if "for" in rule else 0.0,
                    has_for="for" in rule,
                    path=("groups", gi, "rules", ri),
                )
            )
    return out


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: s for k, v in value.items() if (s := scalar(v)) is not None}


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _show(value: Any) -> str:
    text = scalar(value)
    return repr(text) if text is not None else f"(a {_kind(value)})"
