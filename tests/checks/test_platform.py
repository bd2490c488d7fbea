"""The platform checks as pure functions over hand-built host-neutral facts (one rule, every platform)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mlops_gate.checks import cd_environment, ci_runs, vcs, vcs_rules
from mlops_gate.facts import Facts
from mlops_gate.facts.platform import (
    BranchProtection,
    BranchProtections,
    BypassActor,
    CommitRuns,
    Environment,
    Environments,
    RequiredCheck,
    Run,
)
from mlops_gate.model import Outcome
from mlops_gate.target import Target

T = Target(platform="github", repository="acme/churn", commit="a" * 40)
GOOD = BranchProtection(
    branch="main",
    protected=True,
    required_approvals=2,
    code_owner_review=True,
    dismiss_stale=True,
    last_push_approval=True,
    author_can_approve=False,
    required_checks=(RequiredCheck("test", "github-actions"),),
    strict=True,
    force_push_allowed=False,
    deletion_allowed=False,
    signed_commits=True,
    bypass_actors=(),
    sources=("classic", "ruleset:7 main"),
)


def bp(*branches: BranchProtection, platform: str = "github", default: str = "main") -> Facts:
    return Facts(branch_protection=BranchProtections(platform, "acme/churn", default, branches))


def one(outcomes: Any) -> Outcome:
    (o,) = list(outcomes)
    return o


def status(o: Outcome) -> str:
    return "error" if o.error else "failed" if o.violations else "passed"


@pytest.mark.parametrize("platform", ["github", "gitlab", "azure"])
def test_well_protected_branch_passes_every_vcs_check_on_every_platform(platform: str) -> None:
    facts = bp(GOOD, platform=platform)
    for func, params in (
        (vcs.branch_protected, vcs.ProtectedParams()),
        (vcs.reviews_required, vcs.ReviewParams()),
        (vcs.status_checks_required, vcs.StatusParams()),
        (vcs_rules.no_bypass, vcs_rules.BypassParams()),
        (vcs_rules.signed_commits, vcs_rules.SignedParams()),
    ):
        o = one(func(facts, params, T))
        assert status(o) == "passed", (func.__name__, o)
        assert o.subject == f"{platform}:acme/churn@main"


def test_unprotected_branch_fails_every_vcs_check() -> None:
    facts = bp(BranchProtection("main", protected=False))
    o = one(vcs.branch_protected(facts, vcs.ProtectedParams(), T))
    assert status(o) == "failed" and o.violations[0].message == "branch main has no protection in force"
    assert status(one(vcs.reviews_required(facts, vcs.ReviewParams(), T))) == "failed"


def test_force_push_and_deletion_allowed_fail() -> None:
    o = one(
        vcs.branch_protected(
            bp(replace(GOOD, force_push_allowed=True, deletion_allowed=True)), vcs.ProtectedParams(), T
        )
    )
    assert [v.message for v in o.violations] == ["force pushes allowed on main", "deletion allowed on main"]


def test_unread_field_is_an_error_that_says_why_never_a_pass() -> None:
    unread = replace(GOOD, force_push_allowed=None, notes=("branch permissions need the security API",))
    o = one(vcs.branch_protected(bp(unread), vcs.ProtectedParams(), T))
    assert status(o) == "error"
    assert o.error == (
        "could not read whether force pushes are allowed for main: branch permissions need the security API"
    )
    assert status(one(vcs.branch_protected(bp(unread), vcs.ProtectedParams(block_force_push=False), T))) == "passed"


def test_definite_violation_wins_over_unknowns() -> None:
    b = replace(GOOD, required_approvals=0, code_owner_review=None)
    o = one(vcs.reviews_required(bp(b), vcs.ReviewParams(), T))
    assert status(o) == "failed"
    assert o.violations[0].message == "main requires 0 approval(s), policy wants 1"


def test_review_settings_each_checked() -> None:
    b = replace(GOOD, code_owner_review=False, dismiss_stale=False, last_push_approval=False, author_can_approve=True)
    o = one(vcs.reviews_required(bp(b), vcs.ReviewParams(min_approvals=3, require_last_push_approval=True), T))
    assert [v.message for v in o.violations] == [
        "main requires 2 approval(s), policy wants 3",
        "main does not require code owner review",
        "main does not require dismissal of stale approvals on push",
        "main does not require approval of the last push",
        "main does not require blocking the author's own approval",
    ]


def test_status_checks() -> None:
    none = replace(GOOD, required_checks=())
    assert (
        one(vcs.status_checks_required(bp(none), vcs.StatusParams(), T)).violations[0].message
        == "main requires no status check before merging"
    )
    o = one(vcs.status_checks_required(bp(replace(GOOD, strict=False)), vcs.StatusParams(required=("test", "lint")), T))
    assert [v.message for v in o.violations] == [
        "main does not require lint (required: test)",
        "main does not require the branch to be up to date before merging",
    ]
    unread = replace(GOOD, required_checks=None)
    assert status(one(vcs.status_checks_required(bp(unread), vcs.StatusParams(), T))) == "error"


def test_bypass_actors_and_allow_list() -> None:
    b = replace(
        GOOD,
        bypass_actors=(
            BypassActor("admins", "repository administrators"),
            BypassActor("team", "release", "pull_request"),
        ),
    )
    o = one(vcs_rules.no_bypass(bp(b), vcs_rules.BypassParams(), T))
    assert [v.message for v in o.violations] == [
        "admins repository administrators can bypass the protection of main",
        "team release can bypass the protection of main through a pull request",
    ]
    o = one(vcs_rules.no_bypass(bp(b), vcs_rules.BypassParams(allowed_bypass=("admins:*", "team:release")), T))
    assert status(o) == "passed"
    assert (
        status(one(vcs_rules.no_bypass(bp(replace(GOOD, bypass_actors=None)), vcs_rules.BypassParams(), T))) == "error"
    )


def test_signed_commits() -> None:
    o = one(vcs_rules.signed_commits(bp(replace(GOOD, signed_commits=False)), vcs_rules.SignedParams(), T))
    assert o.violations[0].message == "main accepts unsigned commits"


def test_branch_globs_missing_names_and_default() -> None:
    rel = replace(GOOD, branch="release/1.0", force_push_allowed=True)
    facts = bp(GOOD, rel)
    outs = list(
        vcs.branch_protected(facts, vcs.ProtectedParams(branches=("@default", "release/*", "hotfix/*", "develop")), T)
    )
    by_subject = {o.subject: o for o in outs}
    assert status(by_subject["github:acme/churn@main"]) == "passed"
    assert status(by_subject["github:acme/churn@release/1.0"]) == "failed"
    assert status(by_subject["github:acme/churn@hotfix/*"]) == "passed"  # a glob matching nothing: noted
    assert by_subject["github:acme/churn@hotfix/*"].message == "no branch matches hotfix/*"
    assert by_subject["github:acme/churn@develop"].violations[0].message == "branch develop not found in acme/churn"


def _runs(*items: Run) -> Facts:
    return Facts({"commit_runs": CommitRuns("github", "acme/churn", "a" * 40, items), **bp(GOOD)})


def test_required_runs_from_branch_protection() -> None:
    ok = Run("test", "completed", "success", "check-run", "github-actions", started_at="2026-11-01T10:00:00Z", id="1")
    o = one(ci_runs.required_runs(_runs(ok), ci_runs.Params(), T))
    assert status(o) == "passed" and o.message == "1 of 1 required run(s) succeeded on aaaaaaaaaaaa"
    assert o.evidence[0] == "required by branch protection: test (app github-actions)"


def test_latest_attempt_decides() -> None:
    green = Run(
        "test", "completed", "success", "check-run", "github-actions", started_at="2026-11-01T10:00:00Z", id="1"
    )
    red = Run(
        "test",
        "completed",
        "failure",
        "check-run",
        "github-actions",
        url="https://ci/2",
        started_at="2026-11-01T11:00:00Z",
        id="2",
    )
    o = one(ci_runs.required_runs(_runs(green, red), ci_runs.Params(), T))
    assert o.violations[0].message == "test: latest run failure"
    assert o.violations[0].location is not None and o.violations[0].location.path == "https://ci/2"
    assert (
        status(
            one(
                ci_runs.required_runs(
                    _runs(red, replace(green, started_at="2026-11-01T12:00:00Z")), ci_runs.Params(), T
                )
            )
        )
        == "passed"
    )


def test_pending_missing_neutral_and_skipped() -> None:
    pending = Run("test", "in_progress", None, "check-run", "github-actions")
    assert (
        one(ci_runs.required_runs(_runs(pending), ci_runs.Params(), T)).violations[0].message
        == "test: still in_progress"
    )
    neutral = Run("lint", "completed", "neutral", "status")
    o = one(ci_runs.required_runs(_runs(neutral), ci_runs.Params(required=("lint", "e2e")), T))
    assert [v.message for v in o.violations] == ["lint: latest run neutral", "e2e: no run on aaaaaaaaaaaa"]
    assert (
        status(one(ci_runs.required_runs(_runs(neutral), ci_runs.Params(required=("lint",), allow_neutral=True), T)))
        == "passed"
    )


def test_no_required_checks_means_every_run_must_pass_and_one_must_exist() -> None:
    facts = Facts(
        {"commit_runs": CommitRuns("gitlab", "acme/churn", "b" * 40, ()), **bp(replace(GOOD, required_checks=()))}
    )
    o = one(ci_runs.required_runs(facts, ci_runs.Params(), T))
    assert status(o) == "failed" and o.violations[0].message == f"no CI run reported on commit {'b' * 40}"


PROD = Environment(
    "production",
    True,
    reviewers=("team:sre",),
    min_approvals=1,
    self_review_allowed=False,
    branch_policy="protected",
    other_rules=("wait_timer: 10 min",),
)


def env(*items: Environment) -> Facts:
    return Facts(environments=Environments("github", "acme/churn", items))


def test_production_environment() -> None:
    o = one(cd_environment.production_environment(env(PROD), cd_environment.Params(), T))
    assert status(o) == "passed" and "rule: wait_timer: 10 min" in o.evidence
    o = one(cd_environment.production_environment(env(Environment("production", False)), cd_environment.Params(), T))
    assert o.violations[0].message == "no environment named production: create it with protection rules"
    loose = replace(PROD, min_approvals=0, self_review_allowed=True, branch_policy="any")
    assert [
        v.message for v in one(cd_environment.production_environment(env(loose), cd_environment.Params(), T)).violations
    ] == [
        "production needs 0 approval(s), policy wants 1",
        "whoever triggers a deployment to production may approve it",
        "production accepts deployments from any branch",
    ]


def test_production_environment_patterns_and_unknowns() -> None:
    pat = replace(PROD, branch_policy="patterns", branch_patterns=("main", "feature/*"))
    o = one(
        cd_environment.production_environment(
            env(pat), cd_environment.Params(allowed_branches=("main", "release/*")), T
        )
    )
    assert o.violations[0].message == (
        "production accepts deployments from branch patterns feature/* not in allowed_branches"
    )
    unknown = replace(PROD, min_approvals=None, notes=("protected environments need GitLab Premium",))
    o = one(cd_environment.production_environment(env(unknown), cd_environment.Params(), T))
    assert o.error == "could not read its required approvals: protected environments need GitLab Premium"


def test_latest_attempt_compares_instants_across_time_zones() -> None:
    early = Run("test", "completed", "success", "check-run", started_at="2026-11-01T11:30:00+02:00", id="9")
    late = Run("test", "completed", "failure", "check-run", started_at="2026-11-01T10:00:00Z", id="1")
    assert ci_runs.attempts((early, late), "test") == [late]  # 09:30Z before 10:00Z, whatever the strings say


def test_unknown_protection_is_an_error_not_unprotected() -> None:
    b = BranchProtection("main", protected=None, notes=("classic protection unreadable: needs Administration: read",))
    o = one(vcs.branch_protected(bp(b), vcs.ProtectedParams(), T))
    assert o.error == (
        "could not read whether main is protected: classic protection unreadable: needs Administration: read"
    )


def test_the_gates_own_running_job_is_not_counted() -> None:
    from mlops_gate.providers.platform import without_current_job

    runs_ = CommitRuns(
        "github",
        "acme/churn",
        "a" * 40,
        (
            Run("test", "completed", "success", "check-run", url="https://github.com/acme/churn/actions/runs/77/job/1"),
            Run("gate", "in_progress", None, "check-run", url="https://github.com/acme/churn/actions/runs/77/job/2"),
            Run("e2e", "in_progress", None, "check-run", url="https://github.com/acme/churn/actions/runs/80/job/5"),
        ),
    )
    kept = without_current_job(runs_, {"GITHUB_RUN_ID": "77", "GITHUB_JOB": "gate"})
    assert [r.name for r in kept.runs] == ["test", "e2e"]  # another workflow's pending run still counts
    assert kept.notes == ("not counted (the gate's own pipeline, still running): gate",)
    sibling = CommitRuns(
        "github",
        "acme/churn",
        "a" * 40,
        (
            *runs_.runs,
            Run(
                "unit-tests",
                "in_progress",
                None,
                "check-run",
                url="https://github.com/acme/churn/actions/runs/77/job/3",
            ),
        ),
    )
    assert "unit-tests" in [
        r.name for r in without_current_job(sibling, {"GITHUB_RUN_ID": "77", "GITHUB_JOB": "gate"}).runs
    ]
    named = without_current_job(runs_, {"GITHUB_RUN_ID": "77", "GITHUB_JOB": "g", "MLOPS_GATE_JOB_NAME": "Gate"})
    assert [r.name for r in named.runs] == ["test", "e2e"]
    gl = CommitRuns(
        "gitlab",
        "acme/churn",
        "a" * 40,
        (
            Run("pipeline", "in_progress", None, "pipeline", id="501"),
            Run("unit", "completed", "success", "job", id="9"),
            Run("gate", "in_progress", None, "job", id="10"),
        ),
    )
    assert [r.name for r in without_current_job(gl, {"CI_PIPELINE_ID": "501", "CI_JOB_ID": "10"}).runs] == ["unit"]
    az = CommitRuns("azure", "c/p/r", "a" * 40, (Run("ci", "in_progress", None, "build", id="3"),))
    assert without_current_job(az, {"BUILD_BUILDID": "3"}).runs == ()
    assert without_current_job(az, {}).runs == az.runs
