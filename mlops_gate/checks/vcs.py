"""vcs checks: the default and release branches are protected where the platform enforces it.

One implementation per rule over the host-neutral BranchProtection fact: GitHub (classic
protection merged with rulesets), GitLab (protected branches, approval rules) and Azure DevOps
(branch policies) all yield it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlops_gate.checks._platform import VCS_TARGET, branches_scope, for_branches, not_protected
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.platform import BranchProtection
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class ProtectedParams:
    """The params of vcs.branch-protected.

    branches: the branches that must be protected: names, globs (`release/*`) or `@default` (the default
        branch); empty means the default branch.
        e.g. ["@default", "release/*"]
    block_force_push: force pushes to those branches must be blocked.
    block_deletion: deleting those branches must be blocked.
    """

    branches: tuple[str, ...] = ()  # names or globs; empty: the default branch
    block_force_push: bool = True
    block_deletion: bool = True


@check(
    "vcs.branch-protected",
    title="Branches are protected",
    severity=Severity.CRITICAL,
    needs=("branch_protection",),
    params=ProtectedParams,
    requires_target=VCS_TARGET,
    scope=branches_scope,
)
def branch_protected(facts: Facts, params: ProtectedParams, target: Target) -> Iterator[Outcome]:
    """Each of `branches` (default: the default branch; globs such as `release/*` allowed) is protected,
    and force-pushes and deletion are blocked.

    On GitHub the protection in force is classic branch protection merged with active rulesets
    (`evaluate` rulesets do not count); on GitLab, protected branches; on Azure DevOps, blocking branch
    policies. A branch named exactly that does not exist fails; a glob matching no branch passes with a
    note. Fix: protect the branch (GitHub: Settings → Rules → Rulesets), block force pushes and deletion.
    """

    def judge(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
        if not b.protected:
            return not_protected(b)
        violations, unknown = [], []
        for wanted, value, what in (
            (params.block_force_push, b.force_push_allowed, "force pushes"),
            (params.block_deletion, b.deletion_allowed, "deletion"),
        ):
            if wanted and value is None:
                unknown.append(f"whether {what} are allowed")
            elif wanted and value:
                violations.append(Violation(f"{what} allowed on {b.branch}"))
        how = ", ".join(b.sources) or "source unknown"
        if violations:  # the headline agrees with the status: protected, but not enough
            gaps = " and ".join(v.message.split(" allowed on ")[0] for v in violations)
            return f"{b.branch} is protected ({how}) but allows {gaps}", violations, unknown
        return f"{b.branch} is protected ({how})", violations, unknown

    yield from for_branches(facts, params.branches, judge)


@dataclass(frozen=True)
class ReviewParams:
    """The params of vcs.reviews-required.

    branches: the branches whose merges need reviews (names, globs, `@default`); empty means the default branch.
        e.g. ["@default", "release/*"]
    min_approvals: how many approving reviews a merge needs at least.
        e.g. 2
    require_code_owner_review: a code owner (CODEOWNERS) must approve.
    dismiss_stale_reviews: a new push dismisses the approvals given before it.
    require_last_push_approval: the last push must be approved by someone other than its author.
    block_author_approval: the author's own approval does not count.
    """

    branches: tuple[str, ...] = ()
    min_approvals: int = 1
    require_code_owner_review: bool = True
    dismiss_stale_reviews: bool = True
    require_last_push_approval: bool = False
    block_author_approval: bool = True


@check(
    "vcs.reviews-required",
    title="Pull/merge requests need approving reviews",
    severity=Severity.HIGH,
    needs=("branch_protection",),
    params=ReviewParams,
    requires_target=VCS_TARGET,
    scope=branches_scope,
)
def reviews_required(facts: Facts, params: ReviewParams, target: Target) -> Iterator[Outcome]:
    """Merging into `branches` needs at least `min_approvals` approving reviews; with
    `require_code_owner_review` a code owner must approve; with `dismiss_stale_reviews` a new push
    dismisses earlier approvals; with `require_last_push_approval` the last push must be approved by
    someone other than its author; with `block_author_approval` the author's own approval does not count
    (GitHub never counts it; GitLab and Azure DevOps make it a setting).

    A setting the platform did not let us read (a Free GitLab tier, a token without admin read) ends in
    `error` naming what is missing; a definite shortfall fails.
    """

    def judge(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
        if not b.protected:
            return not_protected(b)
        violations, unknown = [], []
        n = b.required_approvals
        if n is None:
            unknown.append("the required approvals")
        elif n < params.min_approvals:
            violations.append(Violation(f"{b.branch} requires {n} approval(s), policy wants {params.min_approvals}"))
        flags = (
            (params.require_code_owner_review, b.code_owner_review, True, "code owner review"),
            (params.dismiss_stale_reviews, b.dismiss_stale, True, "dismissal of stale approvals on push"),
            (params.require_last_push_approval, b.last_push_approval, True, "approval of the last push"),
            (params.block_author_approval, b.author_can_approve, False, "blocking the author's own approval"),
        )
        for wanted, value, good, what in flags:
            if not wanted:
                continue
            if value is None:
                unknown.append(what)
            elif value != good:
                violations.append(Violation(f"{b.branch} does not require {what}"))
        return f"{b.branch} requires {n if n is not None else '?'} approval(s)", violations, unknown

    yield from for_branches(facts, params.branches, judge)


@dataclass(frozen=True)
class StatusParams:
    """The params of vcs.status-checks-required.

    branches: the branches whose merges need passing CI (names, globs, `@default`); empty means the default branch.
        e.g. ["@default"]
    required: check names that must be required status checks; empty means at least one, of any name.
        e.g. [test, lint]
    strict: the branch must be up to date with its target before merging.
    """

    branches: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # check names that must be required; empty: at least one
    strict: bool = True


@check(
    "vcs.status-checks-required",
    title="CI checks are required before merging",
    severity=Severity.HIGH,
    needs=("branch_protection",),
    params=StatusParams,
    requires_target=VCS_TARGET,
    scope=branches_scope,
)
def status_checks_required(facts: Facts, params: StatusParams, target: Target) -> Iterator[Outcome]:
    """Merging into `branches` requires CI to pass: every name in `required` (default: at least one
    check of any name) is a required status check, and with `strict` the branch must be up to date
    before merging. On GitLab, "pipelines must succeed" counts as the required check `pipeline`; on
    Azure DevOps, blocking build-validation and status policies count.
    """

    def judge(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
        if not b.protected:
            return not_protected(b)
        violations: list[Violation] = []
        unknown: list[str] = []
        names = None if b.required_checks is None else sorted({c.name for c in b.required_checks})
        if names is None:
            unknown.append("the required status checks")
        elif not names and not params.required:
            violations.append(Violation(f"{b.branch} requires no status check before merging"))
        else:
            missing = [n for n in params.required if n not in names]
            if missing:
                violations.append(
                    Violation(
                        f"{b.branch} does not require {', '.join(missing)} (required: {', '.join(names) or 'none'})"
                    )
                )
        if params.strict and b.strict is None and names:
            unknown.append("whether the branch must be up to date")
        elif params.strict and names and not b.strict:
            violations.append(Violation(f"{b.branch} does not require the branch to be up to date before merging"))
        return (
            f"{b.branch} requires {len(names or ())} check(s): {', '.join(names or ()) or 'none'}",
            violations,
            unknown,
        )

    yield from for_branches(facts, params.branches, judge)
