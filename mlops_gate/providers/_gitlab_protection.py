"""GitLab's protected branches, project settings, approval rules and push rules -> BranchProtection.

Pure mapping, no I/O. How GitLab's settings become the host-neutral fields:
- A branch matched by several protected-branch rules (exact name and wildcards like `release/*`) gets
  the most permissive of them, as GitLab applies it: force push if any rule allows it, push access
  from every rule; code owner approval is the exception: required if any rule requires it.
- Whoever may push to a protected branch can skip the merge request: every push access level above
  "No access" is a bypass actor (role, user, group or deploy key). Deletion through Git is always
  blocked on a protected branch.
- required_checks: `only_allow_merge_if_pipeline_succeeds` requires the merge request's pipeline,
  reported as the single check "pipeline"; `strict`: merge methods `ff` and `rebase_merge` require the
  source branch to be up to date with the target.
- Approvals (Premium): required_approvals is the largest `approvals_required` of the rules that apply
  to the branch (rules scoped to its protected-branch rules, to all protected branches, or to every
  branch), else the project's `approvals_before_merge`. dismiss_stale = `reset_approvals_on_push`,
  author_can_approve = `merge_requests_author_approval`, last_push_approval =
  `merge_requests_disable_committers_approval` (nobody who added commits, so not the last pusher, may
  approve).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlops_gate.facts.platform import BranchProtection, BypassActor, RequiredCheck

ROLES = {30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
DEVELOPERS = BypassActor("role", ROLES[30])


@dataclass(frozen=True)
class Settings:
    """Project-wide settings read once; None where a tier or the token hid them (see notes)."""

    project: dict[str, Any]
    protected: tuple[dict[str, Any], ...]
    approvals: dict[str, Any] | None
    rules: tuple[dict[str, Any], ...] | None
    push_rule: dict[str, Any] | None
    push_rule_read: bool
    notes: tuple[str, ...] = ()
    url: str | None = None


def wildcard_match(pattern: str, branch: str) -> bool:
    """GitLab's protected-branch wildcards: `*` matches any characters, `/` included; nothing else is special."""
    if "*" not in pattern:
        return pattern == branch
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), branch, re.DOTALL) is not None


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def pushers(levels: Iterable[dict[str, Any]]) -> tuple[BypassActor, ...]:
    actors: list[BypassActor] = []
    for level in levels:
        described = str(level.get("access_level_description") or "")
        if level.get("deploy_key_id") is not None:
            actor = BypassActor("deploy-key", described or f"deploy key {level['deploy_key_id']}")
        elif level.get("user_id") is not None:
            actor = BypassActor("user", described or f"user {level['user_id']}")
        elif level.get("group_id") is not None:
            actor = BypassActor("group", described or f"group {level['group_id']}")
        elif isinstance(level.get("access_level"), int) and level["access_level"] > 0:
            actor = BypassActor("role", ROLES.get(level["access_level"], described or str(level["access_level"])))
        else:
            continue  # "No access"
        if actor not in actors:
            actors.append(actor)
    return tuple(actors)


def _applies(rule: dict[str, Any], matched: set[str], protected: bool) -> bool:
    if rule.get("rule_type") == "report_approver":  # security-scan approvals, not review of every change
        return False
    if truthy(rule.get("applies_to_all_protected_branches")):
        return protected
    scoped = rule.get("protected_branches") or []
    return not scoped or any(isinstance(pb, dict) and pb.get("name") in matched for pb in scoped)


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def protection(branch: str, s: Settings) -> BranchProtection:
    rules = [p for p in s.protected if wildcard_match(str(p.get("name", "")), branch)]
    matched = {str(p.get("name")) for p in rules}
    notes = list(s.notes)
    sources = [f"gitlab:protected_branch:{p.get('name')}" for p in rules]

    required_approvals: int | None = None
    if s.rules is not None:
        applying = [r for r in s.rules if _applies(r, matched, bool(rules))]
        sources += [f"gitlab:approval_rule:{r.get('id')} {r.get('name')}" for r in applying]
        fallback = as_int(s.approvals.get("approvals_before_merge")) if s.approvals else 0
        required_approvals = max(as_int(r.get("approvals_required")) for r in applying) if applying else fallback

    approvals = s.approvals
    pipeline = s.project.get("only_allow_merge_if_pipeline_succeeds")
    checks = None if pipeline is None else (RequiredCheck("pipeline"),) if truthy(pipeline) else ()
    if pipeline is None:
        notes.append("the project settings do not say whether merge requests need a successful pipeline")
    method = s.project.get("merge_method")

    if rules:
        force = [p.get("allow_force_push") for p in rules]
        owners = [p.get("code_owner_approval_required") for p in rules]
        if any(o is None for o in owners):
            notes.append(
                "code owner approval needs GitLab Premium; the protected branches on this instance do not report it"
            )
        protected_fields: dict[str, Any] = {
            "force_push_allowed": None if any(f is None for f in force) else any(truthy(f) for f in force),
            "deletion_allowed": False,
            "code_owner_review": None if any(o is None for o in owners) else any(truthy(o) for o in owners),
            "bypass_actors": pushers(level for p in rules for level in p.get("push_access_levels") or ()),
        }
    else:  # unprotected: any Developer may push, force-push and delete
        protected_fields = {
            "force_push_allowed": True,
            "deletion_allowed": True,
            "code_owner_review": False,
            "bypass_actors": (DEVELOPERS,),
        }
    return BranchProtection(
        branch=branch,
        protected=bool(rules),
        required_approvals=required_approvals,
        dismiss_stale=None if approvals is None else truthy(approvals.get("reset_approvals_on_push")),
        last_push_approval=None
        if approvals is None
        else truthy(approvals.get("merge_requests_disable_committers_approval")),
        author_can_approve=None if approvals is None else truthy(approvals.get("merge_requests_author_approval")),
        required_checks=checks,
        strict=None if method is None else method in ("ff", "rebase_merge"),
        signed_commits=(truthy((s.push_rule or {}).get("reject_unsigned_commits")) if s.push_rule_read else None),
        sources=(*sources, "gitlab:project_settings"),
        notes=tuple(notes),
        url=s.url,
        **protected_fields,
    )


def project_notes(project: dict[str, Any]) -> tuple[str, ...]:
    if truthy(project.get("only_allow_merge_if_pipeline_succeeds")) and truthy(
        project.get("allow_merge_on_skipped_pipeline")
    ):
        return ("merge requests may also merge when their pipeline is skipped (allow_merge_on_skipped_pipeline)",)
    return ()
