"""Azure DevOps branch policies -> the host-neutral BranchProtection (pure: no I/O).

A policy configuration applies to a branch when one of its `settings.scope` entries names the repository
(`repositoryId` null = every repository of the project) and the ref (`matchKind` Exact, Prefix, or
DefaultBranch). Disabled policies are ignored; optional (non-blocking) ones are noted but never counted
as required. Any blocking branch policy makes Azure DevOps refuse direct pushes, so it makes the branch
protected. Type ids are the built-in policy types (`GET _apis/policy/types`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlops_gate.facts.platform import BranchProtection, RequiredCheck
from mlops_gate.providers._azure_security import Permissions, Security

MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
REQUIRED_REVIEWERS = "fd2167ab-b0be-447a-8ec8-39368250530e"
BUILD = "0609b952-1397-4640-95ec-e00a01b2c241"
STATUS = "cbdc66da-9728-4af8-aada-9a5a32e4a226"
COMMENTS = "c6a1889d-b943-4856-b76f-9e46bb6b0df2"
WORK_ITEMS = "40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e"
MERGE_STRATEGY = "fa4e907d-c16b-4a4c-9dfa-4916e5d171ab"
PULL_REQUEST_TYPES = frozenset({MIN_REVIEWERS, REQUIRED_REVIEWERS, BUILD, STATUS, COMMENTS, WORK_ITEMS, MERGE_STRATEGY})

NOT_READ = (
    "force push, branch deletion and policy bypass are Git repository permissions in Azure DevOps ('Force push "
    "(rewrite history, delete branches and tags)', 'Bypass policies when pushing/completing pull requests'); "
    "the security namespace was not read, so they are unknown — review them in Project settings > "
    "Repositories > Security"
)
NO_SIGNING = "Azure Repos has no setting that requires signed commits"

Policy = Mapping[str, Any]


def type_id(policy: Policy) -> str:
    kind = policy.get("type")
    return str(kind.get("id", "") if isinstance(kind, Mapping) else "").lower()


def _label(policy: Policy) -> str:
    kind = policy.get("type")
    name = kind.get("displayName") if isinstance(kind, Mapping) else None
    return f"{policy.get('id')} {name or type_id(policy) or 'unknown type'}"


def _settings(policy: Policy) -> Mapping[str, Any]:
    settings = policy.get("settings")
    return settings if isinstance(settings, Mapping) else {}


def scope_matches(scope: Mapping[str, Any], repo_id: str, branch: str, default_branch: str | None) -> bool:
    """Does one `settings.scope` entry cover this branch of this repository? (Azure Repos compares
    branch names case-insensitively.)"""
    repository = scope.get("repositoryId")
    if repository and str(repository).lower() != repo_id.lower():
        return False
    kind = str(scope.get("matchKind") or "exact").lower()
    if kind == "defaultbranch":
        return default_branch is not None and branch.casefold() == default_branch.casefold()
    ref_name = scope.get("refName")
    if not ref_name:
        return True  # a repository-wide policy
    ref, name = f"refs/heads/{branch}".casefold(), str(ref_name).casefold()
    return ref.startswith(name) if kind == "prefix" else ref == name


def branch_scoped(policy: Policy, repo_id: str, branch: str, default_branch: str | None) -> bool | None:
    """None: the policy does not apply; else whether a matching scope names a branch (not repository-wide)."""
    scopes = _settings(policy).get("scope")
    hits = [s for s in scopes or () if isinstance(s, Mapping) and scope_matches(s, repo_id, branch, default_branch)]
    if not hits:
        return None
    return any(s.get("refName") or str(s.get("matchKind", "")).lower() == "defaultbranch" for s in hits)


def build_definition_ids(
    policies: Iterable[Policy], repo_id: str, branches: Iterable[str], default_branch: str | None
) -> list[int]:
    """The build definitions that enabled, blocking build policies require on any of `branches`."""
    names = list(branches)
    ids = {
        _settings(p).get("buildDefinitionId")
        for p in policies
        if type_id(p) == BUILD
        and p.get("isEnabled")
        and p.get("isBlocking")
        and not p.get("isDeleted")
        and any(branch_scoped(p, repo_id, b, default_branch) is not None for b in names)
    }
    return sorted(i for i in ids if isinstance(i, int))


def _build_check(settings: Mapping[str, Any], names: Mapping[int, str]) -> str:
    definition = settings.get("buildDefinitionId")
    if isinstance(definition, int) and definition in names:
        return names[definition]
    return str(settings.get("displayName") or f"build definition {definition}")


def _status_check(settings: Mapping[str, Any]) -> str:
    genre, name = settings.get("statusGenre"), settings.get("statusName")
    return f"{genre}/{name}" if genre else str(name)


def protection(
    branch: str,
    policies: Iterable[Policy],
    repo_id: str,
    default_branch: str | None,
    definition_names: Mapping[int, str],
    url: str | None = None,
    extra_notes: Iterable[str] = (),
    security: Security | None = None,
) -> BranchProtection:
    """The protection the project's policy configurations put on `refs/heads/<branch>` of one repository;
    force push, deletion and bypass from the `security` read (judged for the protection found), else unknown."""
    notes: list[str] = list(extra_notes)
    sources: list[str] = []
    reviewers: list[Mapping[str, Any]] = []
    checks: list[str] = []
    strict: list[bool] = []
    protected = code_owner = False
    for policy in policies:
        scoped = branch_scoped(policy, repo_id, branch, default_branch)
        if scoped is None or policy.get("isDeleted"):
            continue
        kind, settings, label = type_id(policy), _settings(policy), _label(policy)
        if not policy.get("isEnabled", False):
            notes.append(f"policy {label} is disabled: ignored")
            continue
        if not policy.get("isBlocking", False):
            notes.append(f"policy {label} is optional (not blocking): not counted as required")
            continue
        sources.append(f"azure:policy:{label}")
        protected = protected or scoped or kind in PULL_REQUEST_TYPES
        if kind == MIN_REVIEWERS:
            reviewers.append(settings)
        elif kind == REQUIRED_REVIEWERS:
            code_owner = True
            paths = settings.get("filenamePatterns") or ["any path"]
            notes.append(
                f"policy {label}: required reviewers for {', '.join(map(str, paths))} stand in for code "
                "owners (Azure Repos has no CODEOWNERS)"
            )
        elif kind == BUILD:
            checks.append(_build_check(settings, definition_names))
            strict.append(settings.get("queueOnSourceUpdateOnly") is False)  # expires when the target moves
            if settings.get("filenamePatterns"):
                notes.append(f"policy {label}: build required only for changes to {settings['filenamePatterns']}")
        elif kind == STATUS:
            checks.append(_status_check(settings))
        elif kind == COMMENTS:
            notes.append(f"policy {label}: comments must be resolved before completion")
        else:
            notes.append(f"policy {label}: applies (not judged by mlops-gate)")
    if not protected:
        notes.append(f"no blocking branch policy applies to refs/heads/{branch}: direct pushes are allowed")
    perms = security.permissions(branch, protected) if security else Permissions(None, None, None, (NOT_READ,))
    notes.extend(perms.notes)
    notes.append(NO_SIGNING)
    approvals = max((int(s.get("minimumApproverCount") or 0) for s in reviewers), default=0)
    last_push = [s for s in reviewers if _approves_last_push(s)]
    if reviewers and not last_push and any(_votes_after_push(s) for s in reviewers):
        notes.append("approvals must follow the last push, but its pusher may approve it (blockLastPusherVote off)")
    return BranchProtection(
        branch=branch,
        protected=protected,
        required_approvals=approvals,
        code_owner_review=code_owner,
        dismiss_stale=any(s.get("resetOnSourcePush") or s.get("requireVoteOnEachIteration") for s in reviewers),
        last_push_approval=bool(last_push),
        author_can_approve=all(bool(s.get("creatorVoteCounts")) for s in reviewers),
        required_checks=tuple(RequiredCheck(name) for name in dict.fromkeys(checks)),
        strict=bool(strict) and all(strict),
        force_push_allowed=perms.force_push_allowed,
        deletion_allowed=perms.deletion_allowed,
        signed_commits=None,
        bypass_actors=perms.bypass_actors,
        sources=tuple(sources),
        notes=tuple(notes),
        url=url,
    )


def _votes_after_push(settings: Mapping[str, Any]) -> bool:
    keys = ("requireVoteOnLastIteration", "resetOnSourcePush", "requireVoteOnEachIteration")
    return any(bool(settings.get(k)) for k in keys)


def _approves_last_push(settings: Mapping[str, Any]) -> bool:
    """GitHub's 'require approval of the most recent push' = an approval after the last push, by someone
    other than its pusher: in Azure, a vote required after the push and `blockLastPusherVote`."""
    return _votes_after_push(settings) and bool(settings.get("blockLastPusherVote"))
