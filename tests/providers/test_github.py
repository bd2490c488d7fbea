"""The GitHub provider against the real PyGithub, over HTTP, replaying hand-written payloads in the
shapes GitHub's REST documentation gives (repos, branches, branch protection, rules, rulesets,
check runs, commit statuses, environments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BypassActor, RequiredCheck
from mlops_gate.providers import Context, Shared
from mlops_gate.providers import github as gh
from mlops_gate.target import Target
from tests.support.replay import ReplayServer

TOKEN = "t0ken-for-tests"
SHA = "abc1234def5678abc1234def5678abc1234def56"
REPO = "/repos/acme/churn"


def ctx(
    replay: ReplayServer,
    tmp_path: Path,
    scope: set[str] | None = None,
    shared: Shared | None = None,
    env: dict[str, str] | None = None,
    api_url: str | None = None,
) -> Context:
    target = Target(platform="github", repository="acme/churn", commit=SHA, api_url=api_url or replay.url)
    return Context(
        root=tmp_path,
        target=target,
        env={"GITHUB_TOKEN": TOKEN} if env is None else env,
        scope=frozenset(scope or ()),
        shared=shared or Shared(),
    )


def repo(replay: ReplayServer, default: str = "main") -> None:
    replay.add(
        "GET",
        REPO,
        200,
        {
            "id": 1,
            "name": "churn",
            "full_name": "acme/churn",
            "default_branch": default,
            "private": True,
            "url": f"{replay.url}{REPO}",
        },
    )


def classic(**over: Any) -> dict[str, Any]:
    """GET /repos/{o}/{r}/branches/{b}/protection, fully protected."""
    body: dict[str, Any] = {
        "url": "https://api.github.com/repos/acme/churn/branches/main/protection",
        "required_status_checks": {
            "strict": True,
            "contexts": ["test", "lint"],
            "checks": [{"context": "test", "app_id": 15368}, {"context": "lint", "app_id": None}],
        },
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": True,
            "require_code_owner_reviews": True,
            "required_approving_review_count": 2,
            "require_last_push_approval": False,
            "bypass_pull_request_allowances": {"users": [], "teams": [], "apps": []},
        },
        "required_signatures": {"enabled": False},
        "enforce_admins": {"enabled": True},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "required_conversation_resolution": {"enabled": True},
    }
    body.update(over)
    return body


NOT_PROTECTED = {
    "message": "Branch not protected",
    "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
}
NO_ADMIN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
}


def rule(kind: str, rid: int, **params: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": kind,
        "ruleset_source_type": "Repository",
        "ruleset_source": "acme/churn",
        "ruleset_id": rid,
    }
    if params:
        item["parameters"] = params
    return item


def ruleset(
    rid: int, name: str, enforcement: str = "active", bypass: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "name": name,
        "target": "branch",
        "source_type": "Repository",
        "source": "acme/churn",
        "enforcement": enforcement,
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [],
        "bypass_actors": bypass or [],
    }
    return body


MAIN_RULES = [
    rule(
        "pull_request",
        42,
        required_approving_review_count=1,
        require_code_owner_review=True,
        dismiss_stale_reviews_on_push=True,
        require_last_push_approval=True,
        required_review_thread_resolution=False,
    ),
    rule(
        "required_status_checks",
        42,
        strict_required_status_checks_policy=True,
        required_status_checks=[{"context": "test", "integration_id": 15368}, {"context": "train-smoke"}],
    ),
    rule("non_fast_forward", 42),
    rule("deletion", 42),
]


def test_classic_protection(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 200, classic())
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [])
    c = ctx(replay, tmp_path, {"@default"})
    facts = gh.branch_protection(c)
    assert facts.default_branch == "main" and facts.requested == ("main",)
    (bp,) = facts.branches
    assert bp.protected and bp.sources == ("classic",)
    assert (bp.required_approvals, bp.code_owner_review, bp.dismiss_stale, bp.last_push_approval) == (
        2,
        True,
        True,
        False,
    )
    assert bp.required_checks == (RequiredCheck("test", "15368"), RequiredCheck("lint"))
    assert bp.strict is True and bp.force_push_allowed is False and bp.deletion_allowed is False
    assert bp.signed_commits is False and bp.bypass_actors == () and bp.author_can_approve is False
    assert bp.notes == ()
    assert c.meter.requests == 3 and f"{replay.url}{REPO}/branches/main/protection" in c.meter.sources
    assert all(TOKEN not in s for s in c.meter.sources)
    assert all(s.headers.get("Authorization") == f"token {TOKEN}" for s in replay.seen)


def test_unprotected_branch_is_a_fact(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [])
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert not bp.protected and bp.sources == () and bp.notes == ()
    assert bp.required_approvals == 0 and bp.required_checks == () and bp.force_push_allowed is True
    assert bp.deletion_allowed is True and bp.bypass_actors == ()


def test_rulesets_only(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES)
    replay.add("GET", f"{REPO}/rulesets/42", 200, ruleset(42, "main-protection"))
    c = ctx(replay, tmp_path, {"main"})
    (bp,) = gh.branch_protection(c).branches
    assert bp.protected and bp.sources == ("ruleset:42 main-protection",)
    assert (bp.required_approvals, bp.code_owner_review, bp.dismiss_stale, bp.last_push_approval) == (
        1,
        True,
        True,
        True,
    )
    assert bp.required_checks == (RequiredCheck("test", "15368"), RequiredCheck("train-smoke"))
    assert bp.strict and bp.force_push_allowed is False and bp.deletion_allowed is False
    assert bp.signed_commits is False and bp.bypass_actors == ()
    assert c.meter.requests == 4


def test_classic_and_rulesets_merge_to_the_strictest(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/branches/main/protection",
        200,
        classic(allow_force_pushes={"enabled": True}, enforce_admins={"enabled": False}),
    )
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [*MAIN_RULES, rule("required_signatures", 43)])
    replay.add("GET", f"{REPO}/rulesets/42", 200, ruleset(42, "main-protection"))
    replay.add("GET", f"{REPO}/rulesets/43", 200, ruleset(43, "signed"))
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert bp.sources == ("classic", "ruleset:42 main-protection", "ruleset:43 signed")
    assert bp.required_approvals == 2 and bp.last_push_approval is True and bp.signed_commits is True
    assert bp.force_push_allowed is False  # classic allows it, the non_fast_forward rule blocks it
    assert set(bp.required_checks or ()) == {
        RequiredCheck("test", "15368"),
        RequiredCheck("lint"),
        RequiredCheck("train-smoke"),
    }
    assert bp.bypass_actors == (BypassActor("admins", "repository administrators"),)


def test_evaluate_mode_ruleset_is_ignored(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    replay.add(
        "GET",
        f"{REPO}/rules/branches/main",
        200,
        [rule("pull_request", 7, required_approving_review_count=3), rule("non_fast_forward", 7)],
    )
    replay.add("GET", f"{REPO}/rulesets/7", 200, ruleset(7, "trial", enforcement="evaluate"))
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert not bp.protected and bp.required_approvals == 0 and bp.force_push_allowed is True
    assert bp.notes == ("ruleset:7 trial is in evaluate mode: not enforced, ignored",)


def test_bypass_actors(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/branches/main/protection",
        200,
        classic(
            required_pull_request_reviews={
                "required_approving_review_count": 1,
                "bypass_pull_request_allowances": {
                    "users": [{"login": "octocat", "id": 1}],
                    "teams": [{"slug": "release-eng", "id": 9}],
                    "apps": [],
                },
            }
        ),
    )
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES)
    replay.add(
        "GET",
        f"{REPO}/rulesets/42",
        200,
        ruleset(
            42,
            "main-protection",
            bypass=[
                {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"},
                {"actor_id": 1, "actor_type": "OrganizationAdmin", "bypass_mode": "always"},
                {"actor_id": 77, "actor_type": "Integration", "bypass_mode": "pull_request"},
                {"actor_id": None, "actor_type": "DeployKey", "bypass_mode": "always"},
            ],
        ),
    )
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert bp.bypass_actors == (
        BypassActor("user", "octocat"),
        BypassActor("team", "release-eng"),
        BypassActor("role", "admin"),
        BypassActor("org-admin", "organization admins"),
        BypassActor("app", "app 77", "pull_request"),
        BypassActor("deploy-key", "deploy keys"),
    )


def test_hidden_bypass_actors_are_unknown_not_empty(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES)
    hidden = ruleset(42, "main-protection")
    del hidden["bypass_actors"]  # only returned to tokens with write access to the ruleset
    replay.add("GET", f"{REPO}/rulesets/42", 200, hidden)
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert bp.protected and bp.bypass_actors is None
    assert "bypass actors of ruleset:42 main-protection not visible" in bp.notes[0]


def test_classic_403_without_admin_judges_rulesets(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 403, NO_ADMIN)
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES[:1])
    replay.add("GET", f"{REPO}/rulesets/42", 200, ruleset(42, "main-protection"))
    replay.add(
        "GET",
        f"{REPO}/branches/main",
        200,
        {
            "name": "main",
            "protected": True,
            "protection": {
                "enabled": True,
                "required_status_checks": {
                    "enforcement_level": "non_admins",
                    "contexts": ["test"],
                    "checks": [{"context": "test", "app_id": 15368}],
                },
            },
            "protection_url": f"{replay.url}{REPO}/branches/main/protection",
        },
    )
    c = ctx(replay, tmp_path)
    (bp,) = gh.branch_protection(c).branches
    assert bp.protected and bp.required_approvals == 1 and bp.code_owner_review is True
    assert bp.required_checks == (RequiredCheck("test", "15368"),)  # from the branch summary (metadata read)
    assert bp.force_push_allowed is None and bp.deletion_allowed is None  # classic might block them: unknown
    assert bp.strict is None and bp.signed_commits is None and bp.bypass_actors is None
    assert any("Administration: read" in n and "judged on rulesets only" in n for n in bp.notes)
    assert c.meter.requests == 5


def test_classic_404_for_permission_on_an_unprotected_branch(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, {"message": "Not Found"})
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [])
    replay.add("GET", f"{REPO}/branches/main", 200, {"name": "main", "protected": False})
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert not bp.protected and bp.force_push_allowed is True and bp.required_checks == ()
    assert "the branch reports none" in bp.notes[0]


def test_missing_branch_is_left_out(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/nope/protection", 404, {"message": "Branch not found"})
    facts = gh.branch_protection(ctx(replay, tmp_path, {"nope"}))
    assert facts.branches == () and facts.requested == ("nope",)
    assert facts.notes == ("branch nope not found in acme/churn",)


def test_release_glob_across_pages(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/branches",
        200,
        [{"name": "main", "protected": True}, {"name": "release/1.0"}],
        headers={
            "Link": '<{url}/repositories/1/branches?per_page=100&page=2>; rel="next", '
            '<{url}/repositories/1/branches?per_page=100&page=2>; rel="last"'
        },
    )
    replay.add(
        "GET", "/repositories/1/branches", 200, [{"name": "release/2.0"}, {"name": "feature/x"}], query={"page": "2"}
    )
    for b in ("main", "release/1.0", "release/2.0"):
        replay.add("GET", f"{REPO}/branches/{b}/protection", 200, classic())
        replay.add("GET", f"{REPO}/rules/branches/{b}", 200, [])
    c = ctx(replay, tmp_path, {"@default", "release/*"})
    facts = gh.branch_protection(c)
    assert facts.requested == ("main", "release/*")
    assert [b.branch for b in facts.branches] == ["main", "release/1.0", "release/2.0"]
    assert all(b.protected for b in facts.branches)
    assert c.meter.requests == 1 + 2 + 3 * 2
    assert replay.requests("GET", f"{REPO}/branches")[0].query == {"per_page": "100"}


def test_org_ruleset_unreadable_is_noted(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    org_rule = {**rule("non_fast_forward", 900), "ruleset_source_type": "Organization", "ruleset_source": "acme"}
    replay.add("GET", f"{REPO}/rules/branches/main", 200, [org_rule])
    replay.add("GET", f"{REPO}/rulesets/900", 404, {"message": "Not Found"})
    (bp,) = gh.branch_protection(ctx(replay, tmp_path)).branches
    assert bp.protected and bp.force_push_allowed is False and bp.sources == ("ruleset:900",)
    assert bp.bypass_actors is None and "ruleset 900 (acme) unreadable" in bp.notes[0]


# --- commit runs --------------------------------------------------------------------------------


def check_run(rid: int, name: str, status: str, conclusion: str | None, started: str) -> dict[str, Any]:
    return {
        "id": rid,
        "name": name,
        "head_sha": SHA,
        "status": status,
        "conclusion": conclusion,
        "started_at": started,
        "completed_at": started if status == "completed" else None,
        "html_url": f"https://github.com/acme/churn/runs/{rid}",
        "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
    }


def test_commit_runs_paginated_with_pending_and_retried(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    runs = f"{REPO}/commits/{SHA}/check-runs"
    replay.add(
        "GET",
        runs,
        200,
        {
            "total_count": 3,
            "check_runs": [
                check_run(1, "test", "completed", "success", "2024-05-01T10:00:00Z"),
                check_run(2, "test", "completed", "failure", "2024-05-01T11:00:00Z"),
            ],
        },
        headers={
            "Link": f'<{{url}}/repositories/1/commits/{SHA}/check-runs?filter=all&per_page=100&page=2>; rel="next"'
        },
        query={"filter": "all"},
    )
    replay.add(
        "GET",
        f"/repositories/1/commits/{SHA}/check-runs",
        200,
        {"total_count": 3, "check_runs": [check_run(3, "train-smoke", "in_progress", None, "2024-05-01T11:05:00Z")]},
        query={"page": "2"},
    )
    replay.add(
        "GET",
        f"{REPO}/commits/{SHA}/statuses",
        200,
        [
            {
                "id": 11,
                "state": "pending",
                "context": "ci/jenkins",
                "target_url": "https://ci.example/1",
                "created_at": "2024-05-01T11:06:00Z",
                "updated_at": "2024-05-01T11:06:00Z",
            },
            {
                "id": 10,
                "state": "error",
                "context": "ci/jenkins",
                "target_url": None,
                "created_at": "2024-05-01T10:06:00Z",
                "updated_at": "2024-05-01T10:06:00Z",
            },
        ],
    )
    c = ctx(replay, tmp_path)
    facts = gh.commit_runs(c)
    assert facts.sha == SHA and facts.platform == "github" and facts.repository == "acme/churn"
    by = [(r.name, r.status, r.conclusion, r.source, r.id) for r in facts.runs]
    assert by == [
        ("test", "completed", "success", "check-run", "1"),
        ("test", "completed", "failure", "check-run", "2"),
        ("train-smoke", "in_progress", None, "check-run", "3"),
        ("ci/jenkins", "in_progress", None, "status", "11"),
        ("ci/jenkins", "completed", "error", "status", "10"),
    ]
    assert facts.runs[0].app == "github-actions" and facts.runs[0].url == "https://github.com/acme/churn/runs/1"
    assert facts.runs[1].started_at == "2024-05-01T11:00:00Z"
    assert c.meter.requests == 4
    assert replay.unmatched() == []


def test_unknown_commit(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/commits/{SHA}/check-runs", 422, {"message": f"No commit found for SHA: {SHA}"})
    with pytest.raises(FactError) as err:
        gh.commit_runs(ctx(replay, tmp_path))
    assert "No commit found for SHA" in err.value.message


# --- environments ---------------------------------------------------------------------------------


def environment(name: str, rules: list[dict[str, Any]], policy: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": 161088068,
        "name": name,
        "url": f"https://api.github.com/repos/acme/churn/environments/{name}",
        "html_url": f"https://github.com/acme/churn/deployments/activity_log?environments_filter={name}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "can_admins_bypass": False,
        "protection_rules": rules,
        "deployment_branch_policy": policy,
    }


def test_environment_missing(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/environments/production", 404, {"message": "Not Found"})
    facts = gh.environments(ctx(replay, tmp_path))
    (env,) = facts.environments
    assert env.name == "production" and not env.exists


def test_environment_with_reviewers_on_protected_branches(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/environments/production",
        200,
        environment(
            "production",
            [
                {"id": 1, "type": "wait_timer", "wait_timer": 30},
                {
                    "id": 2,
                    "type": "required_reviewers",
                    "prevent_self_review": True,
                    "reviewers": [
                        {"type": "User", "reviewer": {"login": "octocat", "id": 1, "type": "User"}},
                        {"type": "Team", "reviewer": {"id": 9, "name": "ML Platform", "slug": "ml-platform"}},
                    ],
                },
                {"id": 3, "type": "branch_policy"},
            ],
            {"protected_branches": True, "custom_branch_policies": False},
        ),
    )
    (env,) = gh.environments(ctx(replay, tmp_path, {"production"})).environments
    assert env.exists and env.reviewers == ("octocat", "ml-platform") and env.min_approvals == 1
    assert env.self_review_allowed is False and env.branch_policy == "protected"
    assert env.other_rules == ("wait_timer: 30 min",)
    assert env.url and env.url.startswith("https://github.com/acme/churn/deployments")


def test_environment_custom_branch_policies(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/environments/prod%2Feu",
        200,
        environment(
            "prod/eu",
            [{"id": 5, "type": "custom", "app": {"id": 3, "slug": "sentry-gate"}}],
            {"protected_branches": False, "custom_branch_policies": True},
        ),
    )
    replay.add(
        "GET",
        f"{REPO}/environments/prod%2Feu/deployment-branch-policies",
        200,
        {
            "total_count": 2,
            "branch_policies": [{"id": 1, "name": "main", "type": "branch"}, {"id": 2, "name": "v*", "type": "tag"}],
        },
    )
    c = ctx(replay, tmp_path, {"prod/eu"})
    (env,) = gh.environments(c).environments
    assert env.branch_policy == "patterns" and env.branch_patterns == ("main", "tag:v*")
    assert env.reviewers == () and env.min_approvals == 0 and env.self_review_allowed is True
    assert env.other_rules == ("custom: sentry-gate",)
    assert c.meter.requests == 3


def test_environment_any_branch(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/environments/production", 200, environment("production", [], None))
    (env,) = gh.environments(ctx(replay, tmp_path)).environments
    assert env.exists and env.branch_policy == "any"


# --- one client, one repository read, counted -------------------------------------------------------


def test_typical_run_shares_client_and_repo(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 200, classic())
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES)
    replay.add("GET", f"{REPO}/rulesets/42", 200, ruleset(42, "main-protection"))
    replay.add("GET", f"{REPO}/commits/{SHA}/check-runs", 200, {"total_count": 0, "check_runs": []})
    replay.add("GET", f"{REPO}/commits/{SHA}/statuses", 200, [])
    replay.add("GET", f"{REPO}/environments/production", 200, environment("production", [], None))
    shared = Shared()
    counts = []
    for fn, scope in ((gh.branch_protection, {"@default"}), (gh.commit_runs, set()), (gh.environments, {"production"})):
        c = ctx(replay, tmp_path, scope, shared=shared)
        fn(c)
        counts.append(c.meter.requests)
        assert f"{replay.url}{REPO}" in c.meter.sources
    assert counts == [4, 2, 1] and len(replay.requests("GET", REPO)) == 1 and len(replay.seen) == 7


# --- failures ----------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(
        "GET",
        REPO,
        responses=[
            (429, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "0"}),
            (200, {"id": 1, "full_name": "acme/churn", "default_branch": "main"}, {}),
        ],
    )
    replay.add("GET", f"{REPO}/environments/production", 404, {"message": "Not Found"})
    c = ctx(replay, tmp_path)
    assert not gh.environments(c).environments[0].exists
    assert c.meter.requests == 3 and len(replay.requests("GET", REPO)) == 2


def test_500_then_success(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add(
        "GET",
        f"{REPO}/environments/production",
        responses=[
            (500, {"message": "Server Error"}),
            (502, b"<html>bad gateway</html>"),
            (200, environment("production", [], None)),
        ],
    )
    c = ctx(replay, tmp_path)
    assert gh.environments(c).environments[0].exists
    assert c.meter.requests == 4


def test_long_retry_after_fails_now_instead_of_hanging(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/environments/production", 429, {"message": "slow down"}, headers={"Retry-After": "3600"})
    with pytest.raises(FactError) as err:
        gh.environments(ctx(replay, tmp_path))
    assert "rate limited" in err.value.message and "3600" in err.value.message
    assert len(replay.requests("GET", f"{REPO}/environments/production")) == 1


def test_rate_limit_exhausted(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(
        "GET",
        REPO,
        403,
        {"message": "API rate limit exceeded for installation ID 1."},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": "1"},
    )
    with pytest.raises(FactError) as err:
        gh.branch_protection(ctx(replay, tmp_path))
    assert "rate limited" in err.value.message and "GITHUB_TOKEN" in (err.value.hint or "")


def test_malformed_json(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/commits/{SHA}/check-runs", 200, b'{"total_count": 1, "check_runs": [')
    with pytest.raises(FactError) as err:
        gh.commit_runs(ctx(replay, tmp_path))
    assert "malformed response from" in err.value.message and f"{REPO}/commits/{SHA}/check-runs" in err.value.message


def test_not_json_at_all(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add("GET", REPO, 200, b"<html>proxy login</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(FactError) as err:
        gh.environments(ctx(replay, tmp_path))
    assert "malformed response" in err.value.message


def test_401_names_the_token_and_never_shows_it(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add("GET", REPO, 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
    with pytest.raises(FactError) as err:
        gh.branch_protection(ctx(replay, tmp_path))
    assert "401" in err.value.message and "GITHUB_TOKEN" in (err.value.hint or "")
    assert TOKEN not in err.value.diagnostics()


def test_repo_404(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add("GET", REPO, 404, {"message": "Not Found"})
    shared = Shared()
    for fn in (gh.branch_protection, gh.commit_runs, gh.environments):
        with pytest.raises(FactError) as err:
            fn(ctx(replay, tmp_path, shared=shared))
        assert "repository acme/churn not found or the token cannot see it" in err.value.message
    assert len(replay.requests("GET", REPO)) == 1  # the failure is shared too


def test_server_message_echoing_the_token_is_scrubbed(replay: ReplayServer, tmp_path: Path) -> None:
    repo(replay)
    replay.add("GET", f"{REPO}/environments/production", 403, {"message": f"token {TOKEN} lacks scope"})
    with pytest.raises(FactError) as err:
        gh.environments(ctx(replay, tmp_path))
    assert TOKEN not in err.value.diagnostics() and "Environments: read" in (err.value.hint or "")


def test_unreachable_api(tmp_path: Path) -> None:
    target = Target(platform="github", repository="acme/churn", commit=SHA, api_url="http://127.0.0.1:9/api/v3")
    c = Context(root=tmp_path, target=target, env={"GITHUB_TOKEN": TOKEN, "MLOPS_GATE_HTTP_TIMEOUT": "2"})
    with pytest.raises(FactError) as err:
        gh.environments(c)
    assert "cannot reach http://127.0.0.1:9/api/v3" in err.value.message and "--api-url" in (err.value.hint or "")
    assert c.meter.requests >= 1


def test_enterprise_base_path_and_anonymous(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add("GET", f"/api/v3{REPO}", 200, {"id": 1, "default_branch": "trunk"})
    replay.add("GET", f"/api/v3{REPO}/environments/production", 404, {"message": "Not Found"})
    c = ctx(replay, tmp_path, env={}, api_url=replay.url + "/api/v3/")
    assert not gh.environments(c).environments[0].exists
    assert all("Authorization" not in s.headers for s in replay.seen)
    assert c.meter.sources[0] == f"{replay.url}/api/v3{REPO}"


def test_concurrent_collection_counts_each_request_once(replay: ReplayServer, tmp_path: Path) -> None:
    from mlops_gate.engine import collect

    replay.delay_s = 0.05  # the three facts overlap on the one shared client
    repo(replay)
    replay.add("GET", f"{REPO}/branches/main/protection", 404, NOT_PROTECTED)
    replay.add("GET", f"{REPO}/rules/branches/main", 200, MAIN_RULES)
    replay.add("GET", f"{REPO}/rulesets/42", 200, ruleset(42, "main-protection"))
    replay.add("GET", f"{REPO}/commits/{SHA}/check-runs", 200, {"total_count": 0, "check_runs": []})
    replay.add("GET", f"{REPO}/commits/{SHA}/statuses", 200, [])
    replay.add("GET", f"{REPO}/environments/production", 404, {"message": "Not Found"})
    target = Target(platform="github", repository="acme/churn", commit=SHA, api_url=replay.url)
    kinds = {"branch_protection": frozenset({"@default"}), "commit_runs": frozenset(), "environments": frozenset()}
    records = collect(kinds, tmp_path, target, {"GITHUB_TOKEN": TOKEN})
    assert all(r.error is None for r in records.values()), {k: r.error for k, r in records.items()}
    assert sum(r.requests for r in records.values()) == len(replay.seen) == 7
    assert len(replay.requests("GET", REPO)) == 1
    assert records["branch_protection"].value.branches[0].sources == ("ruleset:42 main-protection",)
