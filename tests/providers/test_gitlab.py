"""The GitLab provider against the real python-gitlab, over HTTP, with hand-written payloads in the shapes
GitLab's REST API documents (projects, protected branches, approvals, pipelines, jobs, environments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BranchProtection, BypassActor, RequiredCheck
from mlops_gate.providers import Context, Shared, gitlab
from mlops_gate.target import Target
from tests.support.replay import ReplayServer

SLUG = "acme/ml/churn"
P = "/api/v4/projects/acme%2Fml%2Fchurn"
SHA = "0f3c2a9e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a"
TOKEN = "t0ken-for-tests"
JOB_TOKEN = "j0b-t0ken-for-tests"


def make_ctx(
    replay: ReplayServer,
    scope: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    shared: Shared | None = None,
    api_url: str | None = None,
) -> Context:
    return Context(
        root=Path("."),
        target=Target(
            platform="gitlab",
            repository=SLUG,
            commit=SHA,
            api_url=api_url if api_url is not None else replay.url + "/api/v4",
        ),
        env={"GITLAB_TOKEN": TOKEN} if env is None else env,
        scope=frozenset(scope),
        shared=shared or Shared(),
    )


def project(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 4711,
        "name": "churn",
        "path_with_namespace": SLUG,
        "default_branch": "main",
        "web_url": "https://gitlab.example.com/acme/ml/churn",
        "visibility": "private",
        "only_allow_merge_if_pipeline_succeeds": True,
        "allow_merge_on_skipped_pipeline": False,
        "only_allow_merge_if_all_discussions_are_resolved": True,
        "merge_method": "ff",
        "approvals_before_merge": 0,
    }
    return {**body, **overrides}


def level(access: int | None, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": 900 + (access or 0) + len(extra),
        "access_level": access,
        "access_level_description": description,
        **extra,
    }


def protected_branch(
    name: str,
    *,
    push: list[dict[str, Any]] | None = None,
    force: bool = False,
    code_owners: bool | None = False,
    pb_id: int = 11,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": pb_id,
        "name": name,
        "push_access_levels": push if push is not None else [level(0, "No one")],
        "merge_access_levels": [level(40, "Maintainers")],
        "unprotect_access_levels": [level(40, "Maintainers")],
        "allow_force_push": force,
    }
    if code_owners is not None:
        body["code_owner_approval_required"] = code_owners
    return body


APPROVALS = {
    "approvers": [],
    "approver_groups": [],
    "approvals_before_merge": 1,
    "reset_approvals_on_push": True,
    "selective_code_owner_removals": False,
    "disable_overriding_approvers_per_merge_request": True,
    "merge_requests_author_approval": False,
    "merge_requests_disable_committers_approval": True,
    "require_password_to_approve": False,
}


def approval_rule(
    rule_id: int,
    name: str,
    required: int,
    branches: list[dict[str, Any]] | None = None,
    all_protected: bool = False,
    rule_type: str = "regular",
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "rule_type": rule_type,
        "eligible_approvers": [],
        "approvals_required": required,
        "users": [],
        "groups": [{"id": 77, "name": "ml-leads", "full_path": "acme/ml-leads"}],
        "applies_to_all_protected_branches": all_protected,
        "protected_branches": branches or [],
        "contains_hidden_groups": False,
    }


def premium_project(
    replay: ReplayServer, *, protected: list[dict[str, Any]] | None = None, **project_overrides: Any
) -> None:
    main = protected_branch(
        "main", push=[level(40, "Maintainers"), level(40, "Deploy key", deploy_key_id=3)], code_owners=True
    )
    replay.add("GET", P, 200, project(**project_overrides))
    replay.add("GET", f"{P}/protected_branches", 200, [main] if protected is None else protected)
    replay.add("GET", f"{P}/approvals", 200, APPROVALS)
    replay.add(
        "GET",
        f"{P}/approval_rules",
        200,
        [
            approval_rule(1, "ML leads", 2, branches=[main]),
            approval_rule(2, "All protected", 1, all_protected=True),
            approval_rule(3, "Vulnerability-Check", 5, rule_type="report_approver"),
        ],
    )
    replay.add(
        "GET",
        f"{P}/push_rule",
        200,
        {
            "id": 1,
            "project_id": 4711,
            "commit_message_regex": "",
            "deny_delete_tag": True,
            "member_check": False,
            "prevent_secrets": True,
            "reject_unsigned_commits": True,
        },
    )


# --- branch protection ---------------------------------------------------------------------------


def test_protected_default_branch_with_premium_approvals(replay: ReplayServer) -> None:
    premium_project(replay)
    ctx = make_ctx(replay, scope=("@default",))
    facts = gitlab.branch_protection(ctx)
    assert facts.default_branch == "main" and facts.requested == ("main",)
    (bp,) = facts.branches
    assert bp == BranchProtection(
        branch="main",
        protected=True,
        required_approvals=2,
        code_owner_review=True,
        dismiss_stale=True,
        last_push_approval=True,
        author_can_approve=False,
        required_checks=(RequiredCheck("pipeline"),),
        strict=True,
        force_push_allowed=False,
        deletion_allowed=False,
        signed_commits=True,
        bypass_actors=(BypassActor("role", "Maintainers"), BypassActor("deploy-key", "Deploy key")),
        sources=bp.sources,
        notes=(),
        url=f"{replay.url}{P}/protected_branches",
    )
    assert "gitlab:protected_branch:main" in bp.sources
    assert "gitlab:approval_rule:1 ML leads" in bp.sources
    assert not any("Vulnerability" in s for s in bp.sources)
    assert ctx.meter.requests == 5
    assert f"{replay.url}{P}/approval_rules" in ctx.meter.sources
    assert all(s.headers.get("PRIVATE-TOKEN") == TOKEN for s in replay.seen)
    assert not replay.unmatched()


def test_nobody_may_push_means_no_bypass(replay: ReplayServer) -> None:
    premium_project(replay, protected=[protected_branch("main", push=[level(0, "No one")])])
    (bp,) = gitlab.branch_protection(make_ctx(replay)).branches
    assert bp.protected and bp.bypass_actors == () and bp.code_owner_review is False


def test_unprotected_branch(replay: ReplayServer) -> None:
    premium_project(replay, protected=[], only_allow_merge_if_pipeline_succeeds=False, merge_method="merge")
    replay.add("GET", f"{P}/repository/branches/main", 200, {"name": "main", "protected": False, "default": True})
    (bp,) = gitlab.branch_protection(make_ctx(replay, scope=("main",))).branches
    assert not bp.protected
    assert bp.force_push_allowed is True and bp.deletion_allowed is True
    assert bp.bypass_actors == (BypassActor("role", "Developers + Maintainers"),)
    assert bp.required_checks == () and bp.strict is False
    assert bp.required_approvals == 1  # no rule applies to it: the project's approvals_before_merge


def test_skipped_pipeline_merges_are_noted(replay: ReplayServer) -> None:
    premium_project(replay, allow_merge_on_skipped_pipeline=True)
    (bp,) = gitlab.branch_protection(make_ctx(replay)).branches
    assert bp.required_checks == (RequiredCheck("pipeline"),)
    assert any("allow_merge_on_skipped_pipeline" in n for n in bp.notes)


def test_wildcard_protected_branch_and_branch_glob_across_pages(replay: ReplayServer) -> None:
    release = protected_branch("release/*", push=[level(30, "Developers + Maintainers")], pb_id=12)
    exact = protected_branch("release/2.0", force=True, pb_id=13)
    premium_project(replay, protected=[protected_branch("main"), release, exact])
    page1 = [{"name": "main", "protected": True, "default": True}, {"name": "release/1.0", "protected": True}]
    page2 = [{"name": "release/2.0", "protected": True}, {"name": "feature/x", "protected": False}]
    nxt = f"{{url}}{P}/repository/branches?page=2&per_page=2"
    replay.add(
        "GET",
        f"{P}/repository/branches",
        200,
        page1,
        headers={
            "Link": f'<{nxt}>; rel="next", <{{url}}{P}/repository/branches?page=1&per_page=2>; rel="first"',
            "X-Next-Page": "2",
            "X-Page": "1",
            "X-Per-Page": "2",
            "X-Total": "4",
            "X-Total-Pages": "2",
        },
    )
    replay.add(
        "GET",
        f"{P}/repository/branches",
        200,
        page2,
        query={"page": "2"},
        headers={"X-Next-Page": "", "X-Page": "2", "X-Per-Page": "2", "X-Total": "4", "X-Total-Pages": "2"},
    )
    ctx = make_ctx(replay, scope=("release/*",))
    facts = gitlab.branch_protection(ctx)
    assert facts.requested == ("release/*",)
    assert [b.branch for b in facts.branches] == ["release/1.0", "release/2.0"]
    one, two = facts.branches
    assert one.protected and one.force_push_allowed is False
    assert one.bypass_actors == (BypassActor("role", "Developers + Maintainers"),)
    assert two.force_push_allowed is True  # the most permissive matching rule wins, as in GitLab
    assert set(two.sources) >= {"gitlab:protected_branch:release/*", "gitlab:protected_branch:release/2.0"}
    assert len(replay.requests("GET", f"{P}/repository/branches")) == 2
    assert ctx.meter.requests == 7


def test_explicit_branch_that_does_not_exist(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/repository/branches/release%2F9.9", 404, {"message": "404 Branch Not Found"})
    facts = gitlab.branch_protection(make_ctx(replay, scope=("@default", "release/9.9")))
    assert facts.requested == ("main", "release/9.9")
    assert [b.branch for b in facts.branches] == ["main"]  # the checks report release/9.9 as missing


def test_glob_matching_nothing(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/repository/branches", 200, [{"name": "main"}])
    facts = gitlab.branch_protection(make_ctx(replay, scope=("hotfix/*", "@default")))
    assert facts.requested == ("main", "hotfix/*")
    assert [b.branch for b in facts.branches] == ["main"]


def test_free_tier_leaves_premium_settings_unread_with_a_note(replay: ReplayServer) -> None:
    replay.add("GET", P, 200, project())
    replay.add("GET", f"{P}/protected_branches", 200, [protected_branch("main", code_owners=None)])
    replay.add("GET", f"{P}/approvals", 404, {"error": "404 Not Found"})
    replay.add("GET", f"{P}/approval_rules", 403, {"message": "403 Forbidden"})
    replay.add("GET", f"{P}/push_rule", 404, {"error": "404 Not Found"})
    (bp,) = gitlab.branch_protection(make_ctx(replay)).branches
    assert bp.protected and bp.force_push_allowed is False
    assert bp.required_approvals is None and bp.dismiss_stale is None and bp.author_can_approve is None
    assert bp.code_owner_review is None and bp.signed_commits is None
    notes = " | ".join(bp.notes)
    assert "merge request approval rules need GitLab Premium; on this instance they could not be read" in notes
    assert "push rules (signed commits) need GitLab Premium" in notes
    assert "code owner approval needs GitLab Premium" in notes


def test_no_push_rule_means_unsigned_commits_accepted(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/push_rule", 200, None)
    (bp,) = gitlab.branch_protection(make_ctx(replay)).branches
    assert bp.signed_commits is False


def test_job_token_cannot_read_protection(replay: ReplayServer) -> None:
    for path in (P, f"{P}/protected_branches", f"{P}/approvals", f"{P}/approval_rules", f"{P}/push_rule"):
        replay.add("GET", path, 404, {"message": "404 Project Not Found"})
    with pytest.raises(FactError) as err:
        gitlab.branch_protection(make_ctx(replay, env={"CI_JOB_TOKEN": JOB_TOKEN}))
    assert "CI_JOB_TOKEN cannot read project settings, needed by the vcs.* checks" in err.value.message
    assert err.value.hint == "set GITLAB_TOKEN to a token with read_api (a project access token)"
    assert JOB_TOKEN not in err.value.diagnostics()
    assert replay.seen[0].headers.get("JOB-TOKEN") == JOB_TOKEN


def test_gitlab_token_wins_over_job_token(replay: ReplayServer) -> None:
    premium_project(replay)
    gitlab.branch_protection(make_ctx(replay, env={"GITLAB_TOKEN": TOKEN, "CI_JOB_TOKEN": JOB_TOKEN}))
    assert all(s.headers.get("PRIVATE-TOKEN") == TOKEN and "JOB-TOKEN" not in s.headers for s in replay.seen)


@pytest.mark.parametrize("api_url", ["{url}", "{url}/", "{url}/api/v4/"])
def test_server_url_forms(replay: ReplayServer, api_url: str) -> None:
    premium_project(replay)
    facts = gitlab.branch_protection(make_ctx(replay, api_url=api_url.format(url=replay.url)))
    assert facts.branches[0].protected and not replay.unmatched()


# --- errors ----------------------------------------------------------------------------------------


def test_unauthorized_names_the_token(replay: ReplayServer) -> None:
    replay.add("GET", P, 401, {"message": "401 Unauthorized"})
    for path in ("protected_branches", "approvals", "approval_rules", "push_rule"):
        replay.add("GET", f"{P}/{path}", 401, {"message": "401 Unauthorized"})
    with pytest.raises(FactError) as err:
        gitlab.branch_protection(make_ctx(replay))
    assert "401" in err.value.message and "GITLAB_TOKEN" in (err.value.hint or "")
    assert "read_api" in (err.value.hint or "") and TOKEN not in err.value.diagnostics()


def test_project_not_found(replay: ReplayServer) -> None:
    with pytest.raises(FactError) as err:
        gitlab.branch_protection(make_ctx(replay))
    assert "not found or the token cannot see it" in err.value.message
    assert TOKEN not in err.value.diagnostics()


def test_forbidden(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/protected_branches", 403, {"message": "403 Forbidden"})
    with pytest.raises(FactError) as err:
        gitlab.branch_protection(make_ctx(replay))
    assert "403" in err.value.message and "protected branches" in err.value.message
    assert "read_api" in (err.value.hint or "")


def test_malformed_json(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/protected_branches", 200, b'[{"name": "main", ')
    with pytest.raises(FactError) as err:
        gitlab.branch_protection(make_ctx(replay))
    assert "malformed response" in err.value.message and "protected_branches" in err.value.message


def test_connection_refused_names_the_url() -> None:
    ctx = Context(
        root=Path("."),
        target=Target(platform="gitlab", repository=SLUG, commit=SHA, api_url="http://127.0.0.1:9/api/v4"),
        env={"GITLAB_TOKEN": TOKEN},
    )
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(ctx)
    assert "cannot reach http://127.0.0.1:9/api/v4/projects/" in err.value.message
    assert "--api-url" in (err.value.hint or "") and TOKEN not in err.value.diagnostics()


def test_rate_limited_then_success(replay: ReplayServer) -> None:
    replay.add(
        "GET",
        f"{P}/pipelines",
        responses=[
            (429, {"message": "Retry later"}, {"Retry-After": "1", "RateLimit-Remaining": "0"}),
            (200, [pipeline(101, "success")]),
        ],
    )
    replay.add("GET", f"{P}/pipelines/101/jobs", 200, [])
    ctx = make_ctx(replay)
    runs = gitlab.commit_runs(ctx)
    assert runs.runs[0].conclusion == "success"
    assert len(replay.requests("GET", f"{P}/pipelines")) == 2
    assert ctx.meter.requests == 3  # the retry is counted


def test_rate_limit_longer_than_we_wait(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 429, {"message": "Retry later"}, headers={"Retry-After": "3600"})
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(make_ctx(replay))
    assert "rate limited" in err.value.message and "3600" in err.value.message
    assert len(replay.requests("GET", f"{P}/pipelines")) == 1  # fails now instead of hanging the CI job


def test_server_error_then_success(replay: ReplayServer) -> None:
    replay.add(
        "GET",
        f"{P}/pipelines",
        responses=[
            (500, {"message": "500 Internal Server Error"}),
            (502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
            (200, [pipeline(101, "success")]),
        ],
    )
    replay.add("GET", f"{P}/pipelines/101/jobs", 200, [])
    ctx = make_ctx(replay)
    assert gitlab.commit_runs(ctx).runs[0].conclusion == "success"
    assert ctx.meter.requests == 4


def test_persistent_server_error(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 503, {"message": "503 Service Unavailable"})
    with pytest.raises(FactError) as err:
        gitlab.commit_runs(make_ctx(replay))
    assert "503" in err.value.message
    assert len(replay.requests("GET", f"{P}/pipelines")) == 5  # one try and four bounded retries


# --- commit runs -----------------------------------------------------------------------------------


def pipeline(pid: int, status: str, created: str = "2026-03-02T10:00:00.000Z") -> dict[str, Any]:
    return {
        "id": pid,
        "iid": pid - 100,
        "project_id": 4711,
        "sha": SHA,
        "ref": "main",
        "status": status,
        "source": "push",
        "created_at": created,
        "updated_at": created,
        "web_url": f"https://gitlab.example.com/acme/ml/churn/-/pipelines/{pid}",
    }


def job(jid: int, name: str, status: str, started: str | None, *, retried: bool = False) -> dict[str, Any]:
    return {
        "id": jid,
        "name": name,
        "stage": "test",
        "status": status,
        "ref": "main",
        "tag": False,
        "allow_failure": False,
        "created_at": "2026-03-02T10:00:00.000Z",
        "started_at": started,
        "finished_at": None,
        "retried": retried,
        "pipeline": {"id": 102, "project_id": 4711, "ref": "main", "sha": SHA, "status": "failed"},
        "web_url": f"https://gitlab.example.com/acme/ml/churn/-/jobs/{jid}",
    }


def test_latest_pipeline_and_every_attempt_of_its_jobs(replay: ReplayServer) -> None:
    replay.add(
        "GET",
        f"{P}/pipelines",
        200,
        [pipeline(102, "failed", "2026-03-02T11:00:00.000Z"), pipeline(101, "success")],
        query={"sha": SHA},
    )
    replay.add(
        "GET",
        f"{P}/pipelines/102/jobs",
        200,
        [
            job(201, "unit-tests", "success", "2026-03-02T11:01:00.000Z", retried=True),
            job(205, "unit-tests", "failed", "2026-03-02T11:20:00.000Z"),
            job(202, "lint", "success", "2026-03-02T11:01:00.000Z"),
        ],
        query={"include_retried": "true"},
    )
    ctx = make_ctx(replay)
    facts = gitlab.commit_runs(ctx)
    assert facts.sha == SHA and facts.platform == "gitlab"
    first = facts.runs[0]
    assert (first.name, first.source, first.status, first.conclusion, first.id) == (
        "pipeline",
        "pipeline",
        "completed",
        "failure",
        "102",
    )
    tests = sorted((r for r in facts.runs if r.name == "unit-tests"), key=lambda r: r.started_at or "")
    assert [(r.conclusion, r.id) for r in tests] == [("success", "201"), ("failure", "205")]
    assert all(r.source == "job" for r in facts.runs[1:])
    assert any("latest, #102, decides" in n for n in facts.notes)
    assert ctx.meter.requests == 2


def test_pending_pipeline(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 200, [pipeline(103, "pending")])
    replay.add(
        "GET",
        f"{P}/pipelines/103/jobs",
        200,
        [
            job(301, "unit-tests", "pending", None),
            job(302, "train", "running", "2026-03-02T10:00:30.000Z"),
            job(303, "deploy", "manual", None),
        ],
    )
    runs = {r.name: r for r in gitlab.commit_runs(make_ctx(replay)).runs}
    assert (runs["pipeline"].status, runs["pipeline"].conclusion) == ("queued", None)
    assert (runs["unit-tests"].status, runs["unit-tests"].conclusion) == ("queued", None)
    assert runs["unit-tests"].started_at == "2026-03-02T10:00:00.000Z"  # not started: its creation orders it
    assert (runs["train"].status, runs["train"].conclusion) == ("in_progress", None)
    assert runs["deploy"].conclusion is None


@pytest.mark.parametrize(
    ("status", "conclusion"),
    [("success", "success"), ("failed", "failure"), ("canceled", "cancelled"), ("skipped", "skipped")],
)
def test_finished_statuses(replay: ReplayServer, status: str, conclusion: str) -> None:
    replay.add("GET", f"{P}/pipelines", 200, [pipeline(104, status)])
    replay.add("GET", f"{P}/pipelines/104/jobs", 200, [])
    (run,) = gitlab.commit_runs(make_ctx(replay)).runs
    assert (run.status, run.conclusion) == ("completed", conclusion)


def test_no_pipeline_on_the_commit(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 200, [])
    facts = gitlab.commit_runs(make_ctx(replay))
    assert facts.runs == () and SHA in facts.notes[0]


def test_jobs_across_pages(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/pipelines", 200, [pipeline(105, "success")])
    first = [job(400 + i, f"job-{i}", "success", "2026-03-02T10:01:00.000Z") for i in range(3)]
    replay.add(
        "GET",
        f"{P}/pipelines/105/jobs",
        200,
        first,
        headers={
            "Link": f'<{{url}}{P}/pipelines/105/jobs?include_retried=true&page=2&per_page=3>; rel="next"',
            "X-Next-Page": "2",
            "X-Page": "1",
            "X-Per-Page": "3",
            "X-Total": "4",
            "X-Total-Pages": "2",
        },
    )
    replay.add(
        "GET",
        f"{P}/pipelines/105/jobs",
        200,
        [job(410, "job-last", "success", None)],
        query={"page": "2"},
        headers={"X-Page": "2", "X-Per-Page": "3", "X-Total": "4"},
    )
    ctx = make_ctx(replay)
    names = [r.name for r in gitlab.commit_runs(ctx).runs]
    assert names == ["pipeline", "job-0", "job-1", "job-2", "job-last"]
    assert ctx.meter.requests == 3


# --- environments --------------------------------------------------------------------------------


def environment(env_id: int, name: str) -> dict[str, Any]:
    return {
        "id": env_id,
        "name": name,
        "slug": name,
        "external_url": f"https://{name}.example.com",
        "state": "available",
        "tier": name,
        "created_at": "2026-01-01T00:00:00.000Z",
    }


PROTECTED_PRODUCTION = {
    "name": "production",
    "deploy_access_levels": [level(40, "Maintainers", user_id=None, group_id=None, group_inheritance_type=0)],
    "required_approval_count": 0,
    "approval_rules": [
        {
            "id": 38,
            "user_id": None,
            "group_id": 134,
            "access_level": None,
            "access_level_description": "ml-leads",
            "required_approvals": 2,
            "group_inheritance_type": 0,
        },
        {
            "id": 39,
            "user_id": 42,
            "group_id": None,
            "access_level": None,
            "access_level_description": "Ada Lovelace",
            "required_approvals": 1,
            "group_inheritance_type": 0,
        },
    ],
}


def test_protected_environment_with_approvals(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")], query={"name": "production"})
    replay.add("GET", f"{P}/protected_environments", 200, [PROTECTED_PRODUCTION])
    replay.add("GET", P, 200, project())
    ctx = make_ctx(replay)
    (env,) = gitlab.environments(ctx).environments
    assert env.exists and env.min_approvals == 2
    assert env.reviewers == ("group:ml-leads", "user:Ada Lovelace")
    assert env.self_review_allowed is False and env.branch_policy == "protected"
    assert env.other_rules == ("deployers: role:Maintainers",)
    assert env.url == f"{replay.url}{P}/environments/9"
    assert ctx.meter.requests == 3  # environment, protected environments, project (the self-approval setting)


def test_pipeline_trigger_may_approve(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")])
    replay.add("GET", f"{P}/protected_environments", 200, [PROTECTED_PRODUCTION])
    replay.add("GET", P, 200, project(allow_pipeline_trigger_approve_deployment=True))
    (env,) = gitlab.environments(make_ctx(replay)).environments
    assert env.self_review_allowed is True


def test_unified_approvals_and_developer_deployers(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")])
    replay.add(
        "GET",
        f"{P}/protected_environments",
        200,
        [
            {
                "name": "production",
                "required_approval_count": 1,
                "deploy_access_levels": [level(30, "Developers + Maintainers", user_id=None, group_id=None)],
            }
        ],
    )
    replay.add("GET", P, 200, project())
    (env,) = gitlab.environments(make_ctx(replay)).environments
    assert env.min_approvals == 1 and env.reviewers == ("role:Developers + Maintainers",)
    assert env.branch_policy == "any"


def test_unprotected_and_missing_environments(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")], query={"name": "production"})
    replay.add("GET", f"{P}/environments", 200, [], query={"name": "staging"})
    replay.add("GET", f"{P}/protected_environments", 200, [])
    ctx = make_ctx(replay, scope=("production", "staging"))
    prod, staging = gitlab.environments(ctx).environments
    assert prod.exists and prod.min_approvals == 0 and prod.branch_policy == "any"
    assert prod.self_review_allowed is True and prod.reviewers == ()
    assert staging.name == "staging" and not staging.exists
    assert ctx.meter.requests == 3


def test_free_tier_environments(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")])
    replay.add("GET", f"{P}/protected_environments", 403, {"message": "403 Forbidden"})
    (env,) = gitlab.environments(make_ctx(replay)).environments
    assert env.exists and env.min_approvals is None and env.branch_policy is None
    assert "protected environments (deployment approvals and deploy access) need GitLab Premium" in env.notes[0]


def test_job_token_environments(replay: ReplayServer) -> None:
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")])
    replay.add("GET", f"{P}/protected_environments", 401, {"message": "401 Unauthorized"})
    (env,) = gitlab.environments(make_ctx(replay, env={"CI_JOB_TOKEN": JOB_TOKEN})).environments
    assert env.exists and env.min_approvals is None
    assert "CI_JOB_TOKEN cannot read" in env.notes[0] and "read_api" in env.notes[0]
    assert JOB_TOKEN not in env.notes[0]


# --- a typical run: the default branch, the commit's runs, production ---------------------------


def test_typical_run_request_count(replay: ReplayServer) -> None:
    premium_project(replay)
    replay.add("GET", f"{P}/pipelines", 200, [pipeline(101, "success")])
    replay.add("GET", f"{P}/pipelines/101/jobs", 200, [job(201, "unit-tests", "success", "2026-03-02T10:01:00Z")])
    replay.add("GET", f"{P}/environments", 200, [environment(9, "production")])
    replay.add("GET", f"{P}/protected_environments", 200, [PROTECTED_PRODUCTION])
    shared = Shared()
    contexts = [make_ctx(replay, shared=shared) for _ in range(3)]
    gitlab.branch_protection(contexts[0])
    gitlab.commit_runs(contexts[1])
    gitlab.environments(contexts[2])
    assert [c.meter.requests for c in contexts] == [5, 2, 2]  # the project is read once per run
    assert len(replay.requests("GET", P)) == 1 and not replay.unmatched()
    for seen in replay.seen:
        assert TOKEN not in seen.path and all(TOKEN not in v for v in seen.query.values())
