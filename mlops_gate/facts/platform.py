"""Fact types of the source-control platforms (GitHub, GitLab, Azure DevOps): one shape for all three,
filled in by mlops_gate.providers.platform and the host modules it dispatches to.

A field that is None was not read (no permission, not offered by the platform or tier); a check that
needs it ends in `error` with the note that says why — None is never "off".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequiredCheck:
    """A status check a branch requires before merging, and the app pinned to report it, if any."""

    name: str
    # the app that must report it, where pinned: a GitHub App id, as branch protection and rulesets name it
    # (a slug is matched against Run.app); None or "-1": any source
    app: str | None = None


@dataclass(frozen=True)
class BypassActor:
    """Someone who may bypass a branch's protection (role, team, user, app...): always, or only by pull request."""

    kind: str  # admins | role | team | user | app | deploy-key | org-admin | maintainers | group
    name: str
    mode: str = "always"  # always | pull_request (may bypass only through a pull request)


@dataclass(frozen=True)
class BranchProtection:
    """The protection actually in force on one branch, merged from every source that applies."""

    branch: str
    protected: bool | None  # None: whether any protection applies could not be read
    required_approvals: int | None = None
    code_owner_review: bool | None = None
    dismiss_stale: bool | None = None
    last_push_approval: bool | None = None
    author_can_approve: bool | None = None
    required_checks: tuple[RequiredCheck, ...] | None = None  # () = none required
    strict: bool | None = None  # the branch must be up to date before merging
    force_push_allowed: bool | None = None
    deletion_allowed: bool | None = None
    signed_commits: bool | None = None
    bypass_actors: tuple[BypassActor, ...] | None = None
    sources: tuple[str, ...] = ()  # classic | ruleset:<id> <name> | gitlab:protected_branch | azure:policy:<id>
    notes: tuple[str, ...] = ()  # what could not be read and how to fix it
    url: str | None = None


@dataclass(frozen=True)
class BranchProtections:
    """The protection in force on the branches asked for, in one repository (the `branch_protection` kind)."""

    platform: str
    repository: str
    default_branch: str | None
    branches: tuple[BranchProtection, ...] = ()
    requested: tuple[str, ...] = ()  # the names/globs asked for; a glob matching nothing is a finding
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """One CI result reported on a commit: a check run, a commit status, a pipeline or job, a build."""

    name: str
    status: str  # queued | in_progress | completed
    conclusion: str | None  # success | failure | neutral | skipped | cancelled | timed_out ...; None: pending
    source: str  # check-run | status | pipeline | job | build
    app: str | None = None  # the GitHub App's slug (check runs)
    url: str | None = None
    started_at: str | None = None  # ISO 8601; the latest attempt of a name decides
    id: str = ""
    app_id: str | None = None  # the GitHub App's id (check runs): what a required check is pinned to


@dataclass(frozen=True)
class CommitRuns:
    """The CI results reported on one commit of a repository (the `commit_runs` kind)."""

    platform: str
    repository: str
    sha: str
    runs: tuple[Run, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Environment:
    """One deployment environment the checks asked for and its protection rules; `exists` is false when the
    repository has none of that name."""

    name: str
    exists: bool
    reviewers: tuple[str, ...] = ()
    min_approvals: int | None = None
    self_review_allowed: bool | None = None
    branch_policy: str | None = None  # protected | patterns | any
    branch_patterns: tuple[str, ...] = ()
    other_rules: tuple[str, ...] = ()  # custom protection rules, Azure checks, wait timers
    notes: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Environments:
    """A repository's deployment environments the checks asked for (the `environments` kind)."""

    platform: str
    repository: str
    environments: tuple[Environment, ...] = ()
    notes: tuple[str, ...] = ()
