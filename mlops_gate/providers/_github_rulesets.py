"""GitHub rulesets: the rules in force on a branch (`GET /repos/{o}/{r}/rules/branches/{b}`, a metadata read the
default GITHUB_TOKEN can make), each ruleset's enforcement and bypass actors (`GET .../rulesets/{id}`), as the
`Part` each one contributes to the protection in force (merged with classic protection in _github_protection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_gate.facts.platform import BypassActor, RequiredCheck
from mlops_gate.providers import Meter
from mlops_gate.providers._github_api import Api, NotFound

_ACTOR_KINDS = {
    "Integration": "app",
    "Team": "team",
    "User": "user",
    "RepositoryRole": "role",
    "OrganizationAdmin": "org-admin",
    "EnterpriseOwner": "org-admin",
    "DeployKey": "deploy-key",
}
_ROLES = {2: "maintain", 4: "write", 5: "admin"}


@dataclass
class Part:
    """What one source (classic protection, or one ruleset) requires; None: that source says nothing."""

    source: str
    approvals: int | None = None
    code_owner: bool | None = None
    dismiss_stale: bool | None = None
    last_push: bool | None = None
    checks: list[RequiredCheck] | None = None
    strict: bool | None = None
    force_push_allowed: bool | None = None
    deletion_allowed: bool | None = None
    signed: bool | None = None
    bypass: list[BypassActor] | None = field(default_factory=list)


def rules_parts(
    api: Api, meter: Meter, branch: str, quoted: str, rulesets: dict[int, dict[str, Any] | None], notes: list[str]
) -> list[Part]:
    path = f"/repos/{api.slug}/rules/branches/{quoted}"
    try:
        rules = api.paginate(meter, path, what=f"rules for branch {branch}")
    except NotFound:  # GitHub Enterprise Server before rulesets: judge on classic protection only
        notes.append(f"rulesets unreadable ({path} answered 404): judged on classic protection only")
        return []
    meter.read(api.url(path))
    by_id: dict[int, list[dict[str, Any]]] = {}
    for rule in rules:
        if isinstance(rule, dict) and isinstance(rule.get("ruleset_id"), int):
            by_id.setdefault(rule["ruleset_id"], []).append(rule)
    parts = []
    for rid, items in sorted(by_id.items()):
        ruleset = _ruleset(api, meter, rid, rulesets, items[0].get("ruleset_source", ""), notes)
        enforcement = ruleset.get("enforcement", "active") if ruleset else "active"  # the endpoint lists active ones
        name = ruleset.get("name") if ruleset else None
        label = f"ruleset:{rid} {name}" if name else f"ruleset:{rid}"
        if enforcement != "active":
            notes.append(f"{label} is in {enforcement} mode: not enforced, ignored")
            continue
        part = _ruleset_part(label, items)
        part.bypass = _bypass(ruleset, label, notes)
        parts.append(part)
    return parts


def _ruleset(
    api: Api, meter: Meter, rid: int, cache: dict[int, dict[str, Any] | None], source: str, notes: list[str]
) -> dict[str, Any] | None:
    if rid not in cache:
        path = f"/repos/{api.slug}/rulesets/{rid}"
        reply = api.get(meter, path, what=f"ruleset {rid}", allow=(403, 404))
        meter.read(api.url(path))
        cache[rid] = reply.data if reply.status == 200 and isinstance(reply.data, dict) else None
        if cache[rid] is None:
            notes.append(
                f"ruleset {rid} ({source or 'organization'}) unreadable ({reply.status}): its rules are "
                "counted as active, its bypass actors are unknown; an organization ruleset needs a token "
                "that can read the organization's rulesets"
            )
    return cache[rid]


def _ruleset_part(label: str, rules: list[dict[str, Any]]) -> Part:
    part = Part(label)
    for rule in rules:
        kind, params = rule.get("type"), rule.get("parameters") or {}
        if kind == "pull_request":
            part.approvals = int(params.get("required_approving_review_count") or 0)
            part.code_owner = bool(params.get("require_code_owner_review"))
            part.dismiss_stale = bool(params.get("dismiss_stale_reviews_on_push"))
            part.last_push = bool(params.get("require_last_push_approval"))
        elif kind == "required_status_checks":
            part.checks = [
                RequiredCheck(str(c["context"]), None if c.get("integration_id") is None else str(c["integration_id"]))
                for c in params.get("required_status_checks") or ()
                if isinstance(c, dict) and c.get("context")
            ]
            part.strict = bool(params.get("strict_required_status_checks_policy"))
        elif kind == "non_fast_forward":
            part.force_push_allowed = False
        elif kind == "deletion":
            part.deletion_allowed = False
        elif kind == "required_signatures":
            part.signed = True
    return part  # any active rule protects the branch, even one this gate does not judge


def _bypass(ruleset: dict[str, Any] | None, label: str, notes: list[str]) -> list[BypassActor] | None:
    actors = ruleset.get("bypass_actors") if ruleset else None
    if not isinstance(actors, list):
        if ruleset is not None:
            notes.append(f"bypass actors of {label} not visible: the token needs write access to the ruleset")
        return None
    out = []
    for a in actors:
        if not isinstance(a, dict):
            continue
        kind = _ACTOR_KINDS.get(str(a.get("actor_type")), str(a.get("actor_type", "")).lower())
        aid = a.get("actor_id")
        name = {"org-admin": "organization admins", "deploy-key": "deploy keys"}.get(kind) or (
            _ROLES.get(aid if isinstance(aid, int) else -1, f"role {aid}") if kind == "role" else f"{kind} {aid}"
        )
        out.append(BypassActor(kind, name, "pull_request" if a.get("bypass_mode") == "pull_request" else "always"))
    return out
