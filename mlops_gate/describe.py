"""The catalogue in words: `mlops-gate checks` (which are on in the built-in profiles) and `mlops-gate explain ID`
(the check's documentation, and each param's type, default, meaning and an example). Returns text; the CLI
prints it. The params' meanings are their dataclasses' field docs (mlops_gate.fielddoc), as in the schema."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from typing import Any

from mlops_gate import typed
from mlops_gate.catalogue import Catalogue, catalogue
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import UsageError, closest
from mlops_gate.fielddoc import FieldDoc, field_docs, type_name


def profile_switches() -> dict[str, dict[str, bool]]:
    """check id -> {"default": on?, "strict": on?} as the built-in profiles set them."""
    from mlops_gate import policies, policy

    out: dict[str, dict[str, bool]] = {}
    for name in ("default", "strict"):
        loaded = policy.load(policies.PROFILES_DIR / f"{name}.yaml")
        for cid, config in loaded.checks.items():
            out.setdefault(cid, {})[name] = config.enabled
    return out


def checks_rows(cat: Catalogue) -> list[dict[str, Any]]:
    switches = profile_switches()
    return [
        {
            "id": s.id,
            "severity": s.severity.value,
            "title": s.title,
            "needs": list(s.needs),
            "origin": s.origin,
            "default": switches.get(s.id, {}).get("default", True),
            "strict": switches.get(s.id, {}).get("strict", True),
        }
        for s in cat.checks.values()
    ]


def checks_text(rows: list[dict[str, Any]]) -> str:
    width = max((len(r["id"]) for r in rows), default=10)
    lines = [f"{'id':<{width}}  {'severity':<8}  {'default':<7}  title"]
    for r in rows:
        on = "on" if r["default"] else ("off" + ("*" if r["strict"] else ""))
        lines.append(f"{r['id']:<{width}}  {r['severity']:<8}  {on:<7}  {r['title']}")
    off = sum(1 for r in rows if not r["default"])
    lines += [
        "",
        f"default: on or off in the `default` profile (what a repository without a policy gets); {off} are off.",
        "off*: on in the `strict` profile (`mlops-gate audit` without a policy). Turn one on in your policy:",
        "  checks: {ID: {enabled: true}}   ·   `mlops-gate explain ID` says what it needs",
    ]
    return "\n".join(lines)


def find(check_id: str, checks: dict[str, CheckSpec]) -> CheckSpec:
    spec = checks.get(check_id)
    if spec is None:
        close = closest(check_id, checks)
        raise UsageError(
            f"unknown check id {check_id!r}" + (f" (did you mean {close}?)" if close else ""),
            "`mlops-gate checks` lists them",
        )
    return spec


def explain(check_id: str) -> str:
    spec = find(check_id, catalogue().checks)
    on = profile_switches().get(spec.id, {})
    profile = (
        "on by default"
        if on.get("default", True)
        else "off by default" + (" (on in `strict`)" if on.get("strict") else "")
    )
    facts = f"needs: {', '.join(spec.needs) or 'nothing'}"
    target = f"    target: {', '.join(spec.requires_target)}" if spec.requires_target else ""
    out = [
        f"{spec.id} — {spec.title}",
        "",
        f"default severity: {spec.severity.value}    {profile}    {facts}{target}",
        f"docs: {spec.docs_url}",
        "",
        spec.doc,
    ]
    fields = dataclasses.fields(spec.params)
    if fields:
        out += ["", f"params (in your policy, under checks: {spec.id}: params:):"]
        defaults = typed.to_data(spec.params())
        docs = field_docs(spec.params)
        for f in fields:
            out += ["", *param_lines(f.name, typed.hints(spec.params)[f.name], defaults[f.name], docs.get(f.name))]
    else:
        out += ["", "params: none"]
    return "\n".join(out)


def param_lines(name: str, tp: Any, default: Any, doc: FieldDoc | None) -> list[str]:
    lines = [f"  {name}  ({type_name(tp)}; default {shown(default)})"]
    meaning = doc.text if doc is not None else "(not documented)"
    lines += textwrap.wrap(meaning, 100, initial_indent="      ", subsequent_indent="      ")
    example = example_of(tp, default, doc)
    if example is not None:
        lines.append(f"      example:  {name}: {example}")
    return lines


def example_of(tp: Any, default: Any, doc: FieldDoc | None) -> str | None:
    """The documented example as a policy writes it; for a true/false param, the other value."""
    if doc is not None and doc.has_example:
        return shown(doc.example)
    if tp is bool:
        return shown(not default)
    return None


def shown(value: Any) -> str:
    """A value as YAML flow style accepts it (JSON is YAML)."""
    return json.dumps(value, ensure_ascii=False)
