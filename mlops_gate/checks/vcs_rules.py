"""vcs checks on what the protection rules let through: nobody bypasses them, commits are signed.

The same host-neutral BranchProtection fact as vcs.py (GitHub rulesets and classic protection, GitLab, Azure
DevOps branch policies)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass

from mlops_gate.checks._platform import VCS_TARGET, branches_scope, for_branches, not_protected
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.platform import BranchProtection
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class BypassParams:
    """The params of vcs.no-bypass.

    branches: the branches whose rules nobody may bypass (names, globs, `@default`); empty means the default branch.
        e.g. ["@default"]
    allowed_bypass: actors allowed to bypass anyway: globs over `kind:name` (`team:`, `user:`, `app:`, `role:`).
        e.g. ["app:release-bot", "team:sre"]
    """

    branches: tuple[str, ...] = ()
    allowed_bypass: tuple[str, ...] = ()  # globs over "kind:name", e.g. "app:release-bot", "team:sre"


@check(
    "vcs.no-bypass",
    title="Nobody can bypass branch protection",
    severity=Severity.HIGH,
    needs=("branch_protection",),
    params=BypassParams,
    requires_target=VCS_TARGET,
    scope=branches_scope,
)
def no_bypass(facts: Facts, params: BypassParams, target: Target) -> Iterator[Outcome]:
    """Administrators and ruleset bypass actors cannot skip the rules on `branches`, except the actors
    matching `allowed_bypass` (globs over `kind:name`, e.g. `team:release-managers`).

    GitHub: classic protection without "include administrators", and ruleset bypass actors (also those
    allowed only through a pull request). GitLab: roles, users or groups allowed to push directly.
    """

    def judge(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
        if not b.protected:
            return not_protected(b)
        if b.bypass_actors is None:
            return f"{b.branch}: bypass actors unknown", [], ["who may bypass the protection"]
        bad = [
            a
            for a in b.bypass_actors
            if not any(fnmatch.fnmatchcase(f"{a.kind}:{a.name}", g) for g in params.allowed_bypass)
        ]
        violations = [
            Violation(
                f"{a.kind} {a.name} can bypass the protection of {b.branch}"
                + (" through a pull request" if a.mode == "pull_request" else "")
            )
            for a in bad
        ]
        return f"{len(b.bypass_actors)} bypass actor(s), {len(bad)} not allowed", violations, []

    yield from for_branches(facts, params.branches, judge)


@dataclass(frozen=True)
class SignedParams:
    """The params of vcs.signed-commits.

    branches: the branches that must only take signed commits (names, globs, `@default`); empty means the
        default branch.
        e.g. ["@default", "release/*"]
    """

    branches: tuple[str, ...] = ()


@check(
    "vcs.signed-commits",
    title="Signed commits are required",
    severity=Severity.MEDIUM,
    needs=("branch_protection",),
    params=SignedParams,
    requires_target=VCS_TARGET,
    scope=branches_scope,
)
def signed_commits(facts: Facts, params: SignedParams, target: Target) -> Iterator[Outcome]:
    """Commits pushed to `branches` must be signed (GitHub: required signatures; GitLab: the push rule
    "reject unsigned commits"). Off in the `default` profile, on in `strict`."""

    def judge(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
        if not b.protected:
            return not_protected(b)
        if b.signed_commits is None:
            return f"{b.branch}: signature requirement unknown", [], ["whether signed commits are required"]
        bad = [] if b.signed_commits else [Violation(f"{b.branch} accepts unsigned commits")]
        return f"{b.branch} {'requires' if b.signed_commits else 'does not require'} signed commits", bad, []

    yield from for_branches(facts, params.branches, judge)
