"""GitHub branch protection in force: classic protection merged with the rulesets that apply.

Rulesets are read through `GET /repos/{o}/{r}/rules/branches/{b}` (metadata read: the default
GITHUB_TOKEN can) and `GET /repos/{o}/{r}/rulesets/{id}` for enforcement and bypass actors. Classic
protection needs Administration: read; when it is unreadable the fields only it could set stay None.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from typing import Any

from mlops_gate.facts.platform import BranchProtection, BypassActor, RequiredCheck
from mlops_gate.providers import Meter
from mlops_gate.providers._github_api import Api
from mlops_gate.providers._github_rulesets import Part, rules_parts

CLASSIC_UNREADABLE = (
    "classic branch protection unreadable: the token needs Administration: read (fine-grained) "
    "or repo scope; judged on rulesets only"
)


def glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def expand(api: Api, meter: Meter, default: str, scope: frozenset[str]) -> tuple[list[str], tuple[str, ...]]:
    """The branch names to judge (sorted, unique) and the names/globs that were asked for."""
    requested = tuple(sorted({default if s == "@default" else s for s in scope} or {default}))
    names = {r for r in requested if not glob(r)}
    patterns = [r for r in requested if glob(r)]
    if patterns:
        path = f"/repos/{api.slug}/branches"
        branches = api.paginate(meter, path, what=f"branches of {api.slug}")
        meter.read(api.url(path))
        for b in branches:
            name = b.get("name") if isinstance(b, dict) else None
            if isinstance(name, str) and any(fnmatch.fnmatchcase(name, p) for p in patterns):
                names.add(name)
    return sorted(names), requested


def protection(
    api: Api, meter: Meter, branch: str, rulesets: dict[int, dict[str, Any] | None], notes: list[str]
) -> BranchProtection | None:
    """The merged protection of one branch (None when the branch does not exist)."""
    quoted = urllib.parse.quote(branch)
    own_notes: list[str] = []
    classic = _classic(api, meter, branch, quoted, own_notes)
    if classic == "missing":
        notes.append(f"branch {branch} not found in {api.slug}")
        return None
    parts = rules_parts(api, meter, branch, quoted, rulesets, own_notes)
    unknown = classic is None
    if isinstance(classic, Part):
        parts.insert(0, classic)
    if unknown:
        summary = _branch_summary(api, meter, branch, quoted, own_notes)
        if summary is False:  # the branch reports no classic protection: nothing classic is unknown
            unknown = False
            own_notes.remove(CLASSIC_UNREADABLE)
            own_notes.append(
                "classic branch protection unreadable in detail (Administration: read), but the branch reports none"
            )
        elif isinstance(summary, Part):
            parts.insert(0, summary)
    protected = True if parts else (None if unknown else False)  # nothing readable applies: unknown, not "off"
    return _merge(branch, protected, parts, unknown, own_notes, api.url(f"/repos/{api.slug}/rules/branches/{quoted}"))


def _classic(api: Api, meter: Meter, branch: str, quoted: str, notes: list[str]) -> Part | str | None:
    """Part when protected, "off" when not protected, "missing" when no such branch, None: unreadable."""
    path = f"/repos/{api.slug}/branches/{quoted}/protection"
    reply = api.get(meter, path, what=f"classic protection of {branch}", allow=(403, 404))
    meter.read(api.url(path))
    if reply.status == 404 and "not protected" in reply.message.lower():
        return "off"
    if reply.status == 404 and "branch not found" in reply.message.lower():
        return "missing"
    if reply.status != 200:
        notes.append(CLASSIC_UNREADABLE)
        return None
    if not isinstance(reply.data, dict):
        raise api.malformed(f"classic protection of {branch}", api.url(path), "expected an object")
    return _classic_part(api, meter, branch, quoted, reply.data, notes)


def _enabled(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return bool(value.get("enabled")) if isinstance(value, dict) and "enabled" in value else None


def _classic_part(api: Api, meter: Meter, branch: str, quoted: str, data: dict[str, Any], notes: list[str]) -> Part:
    part = Part(
        "classic",
        approvals=0,
        code_owner=False,
        dismiss_stale=False,
        last_push=False,
        checks=[],
        strict=False,
        force_push_allowed=bool(_enabled(data, "allow_force_pushes")),
        deletion_allowed=bool(_enabled(data, "allow_deletions")),
    )
    reviews = data.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        part.approvals = int(reviews.get("required_approving_review_count") or 0)
        part.code_owner = bool(reviews.get("require_code_owner_reviews"))
        part.dismiss_stale = bool(reviews.get("dismiss_stale_reviews"))
        part.last_push = bool(reviews.get("require_last_push_approval"))
        allowances = reviews.get("bypass_pull_request_allowances") or {}
        for kind, key, field_name in (("user", "users", "login"), ("team", "teams", "slug"), ("app", "apps", "slug")):
            for actor in allowances.get(key) or ():
                if isinstance(actor, dict):
                    part.bypass = [*(part.bypass or []), BypassActor(kind, str(actor.get(field_name)), "always")]
    checks = data.get("required_status_checks")
    if isinstance(checks, dict):
        part.strict = bool(checks.get("strict"))
        listed = [
            RequiredCheck(str(c["context"]), None if c.get("app_id") is None else str(c["app_id"]))
            for c in checks.get("checks") or ()
            if isinstance(c, dict) and c.get("context")
        ]
        named = {c.name for c in listed}
        listed += [RequiredCheck(str(c)) for c in checks.get("contexts") or () if str(c) not in named]
        part.checks = listed
    if _enabled(data, "enforce_admins") is not True:
        part.bypass = [*(part.bypass or []), BypassActor("admins", "repository administrators", "always")]
    part.signed = _enabled(data, "required_signatures")
    if part.signed is None:  # older payloads: a sub-resource
        path = f"/repos/{api.slug}/branches/{quoted}/protection/required_signatures"
        reply = api.get(meter, path, what=f"required signatures of {branch}", allow=(403, 404))
        meter.read(api.url(path))
        if reply.status == 200 and isinstance(reply.data, dict):
            part.signed = bool(reply.data.get("enabled"))
        else:
            notes.append(f"required signatures of {branch} unreadable ({reply.status} from {api.url(path)})")
    return part


def _branch_summary(api: Api, meter: Meter, branch: str, quoted: str, notes: list[str]) -> Part | bool | None:
    """Without Administration: read, the branch itself (metadata read) still says whether classic protection
    is on and which status checks it requires: False (off), a Part (on), None (unknown)."""
    path = f"/repos/{api.slug}/branches/{quoted}"
    reply = api.get(meter, path, what=f"branch {branch}", allow=(403, 404))
    meter.read(api.url(path))
    if reply.status != 200 or not isinstance(reply.data, dict) or not isinstance(reply.data.get("protected"), bool):
        return None
    if not reply.data["protected"]:
        return False
    part = Part("classic", bypass=None)  # on, details unknown
    summary = (reply.data.get("protection") or {}).get("required_status_checks") or {}
    level = summary.get("enforcement_level")
    if level is None or level == "off":
        part.checks = [] if level == "off" else None
        return part
    checks = [
        RequiredCheck(str(c["context"]), None if c.get("app_id") is None else str(c["app_id"]))
        for c in summary.get("checks") or ()
        if isinstance(c, dict) and c.get("context")
    ]
    named = {c.name for c in checks}
    part.checks = checks + [RequiredCheck(str(c)) for c in summary.get("contexts") or () if str(c) not in named]
    return part


def _merge(
    branch: str, protected: bool | None, parts: list[Part], unknown: bool, notes: list[str], url: str
) -> BranchProtection:
    def most(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return max(known) if known and (not unknown or max(known) > 0) else (None if unknown else 0)

    def required(values: list[bool | None]) -> bool | None:  # a requirement any source imposes holds
        return True if any(v is True for v in values) else (None if unknown else False)

    def allowed(values: list[bool | None]) -> bool | None:  # allowed only if no source blocks it
        return False if any(v is False for v in values) else (None if unknown else True)

    checks: dict[RequiredCheck, None] = {}
    for p in parts:
        checks.update(dict.fromkeys(p.checks or ()))
    any_checks = any(p.checks is not None for p in parts)
    bypass: dict[BypassActor, None] | None = None
    if not unknown and all(p.bypass is not None for p in parts):  # unreadable classic may let admins bypass
        bypass = {a: None for p in parts for a in p.bypass or ()}
    return BranchProtection(
        branch=branch,
        protected=protected,
        required_approvals=most([p.approvals for p in parts]),
        code_owner_review=required([p.code_owner for p in parts]),
        dismiss_stale=required([p.dismiss_stale for p in parts]),
        last_push_approval=required([p.last_push for p in parts]),
        author_can_approve=False,  # GitHub never counts a pull request author's own approval
        required_checks=tuple(checks) if checks or any_checks or not unknown else None,
        strict=required([p.strict for p in parts]),
        force_push_allowed=allowed([p.force_push_allowed for p in parts]),
        deletion_allowed=allowed([p.deletion_allowed for p in parts]),
        signed_commits=required([p.signed for p in parts]),
        bypass_actors=tuple(bypass) if bypass is not None else None,
        sources=tuple(p.source for p in parts),
        notes=tuple(notes),
        url=url,
    )
