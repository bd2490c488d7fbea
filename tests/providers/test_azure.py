"""The Azure DevOps provider over the real azure-devops SDK, against hand-written payloads in the
documented REST shapes served on loopback (resource areas and OPTIONS locations included)."""

from __future__ import annotations

import base64
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import RequiredCheck, Run
from mlops_gate.providers import Context, azure
from mlops_gate.target import Target
from tests.support.azure_devops import (
    BUILD,
    COMMENTS,
    MIN_REVIEWERS,
    OTHER_REPO_ID,
    OTHER_SHA,
    PROJECT,
    REPO_ID,
    REQUIRED_REVIEWERS,
    SHA,
    STATUS,
    TOKEN,
    business,
    collection,
    ctx_for,
    exact,
    policy,
    prefix,
    refs,
    replay_answers_options,
    serve_discovery,
    serve_policies,
    serve_repository,
)
from tests.support.replay import ReplayServer

__all__ = ["replay_answers_options"]  # the autouse fixture that lets the replay server answer OPTIONS


# --- branch policies -------------------------------------------------------------------------------


def test_min_reviewers_and_build_validation_on_main(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    serve_policies(
        replay,
        [
            policy(
                11,
                MIN_REVIEWERS,
                {
                    "minimumApproverCount": 2,
                    "creatorVoteCounts": False,
                    "allowDownvotes": False,
                    "resetOnSourcePush": True,
                    "requireVoteOnLastIteration": True,
                    "blockLastPusherVote": True,
                },
                [exact("refs/heads/main")],
                name="Minimum number of reviewers",
            ),
            policy(
                12,
                BUILD,
                {
                    "buildDefinitionId": 7,
                    "queueOnSourceUpdateOnly": False,
                    "manualQueueOnly": False,
                    "displayName": None,
                    "validDuration": 0,
                },
                [exact("refs/heads/main")],
                name="Build",
            ),
            policy(
                13,
                STATUS,
                {"statusGenre": "security", "statusName": "dependency-scan", "invalidateOnSourceUpdate": True},
                [exact("refs/heads/main")],
                name="Status",
            ),
            policy(14, COMMENTS, {}, [exact("refs/heads/main")], name="Comment requirements"),
            policy(
                15,
                REQUIRED_REVIEWERS,
                {
                    "requiredReviewerIds": ["1d1dad71-f27c-4370-810d-838ec41efd41"],
                    "filenamePatterns": ["/models/*"],
                    "minimumApproverCount": 1,
                },
                [exact("refs/heads/main")],
                name="Required reviewers",
            ),
        ],
    )
    replay.add(
        "GET",
        f"{PROJECT}/build/definitions",
        200,
        collection([{"id": 7, "name": "churn-ci", "revision": 3}]),
        query={"definitionIds": "7"},
    )
    ctx = ctx_for(tmp_path, replay)

    facts = azure.branch_protection(ctx)

    assert facts.default_branch == "main" and facts.requested == ("@default",)
    (main,) = facts.branches
    assert main.branch == "main" and main.protected
    assert main.required_approvals == 2
    assert main.author_can_approve is False
    assert main.dismiss_stale is True and main.last_push_approval is True
    assert main.code_owner_review is True
    assert main.required_checks == (RequiredCheck("churn-ci"), RequiredCheck("security/dependency-scan"))
    assert main.strict is True
    # no ACL grants anyone Force push or a bypass: the policies refuse every direct push and the deletion
    assert main.force_push_allowed is False and main.deletion_allowed is False and main.bypass_actors == ()
    assert main.signed_commits is None
    assert any("group membership is not expanded" in n for n in main.notes)
    assert any("comments must be resolved" in n for n in main.notes)
    assert main.sources[0] == "azure:policy:11 Minimum number of reviewers"
    assert not replay.unmatched()
    assert replay.requests("GET", f"{PROJECT}/git/refs") == []  # the default branch needs no listing
    auth = replay.requests("GET", f"{PROJECT}/policy/configurations")[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode()
    assert ctx.meter.requests == len(replay.seen)
    assert any(s.endswith("/contoso/ml/_apis/policy/configurations") for s in ctx.meter.sources)


def test_exact_and_prefix_scopes_across_release_branches(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/{REPO_ID}/refs",
        200,
        refs("main", "release/1.0", "release/2.0", "releases", "feature/x"),
        query={"filter": "heads/"},
    )
    serve_policies(
        replay,
        [
            policy(
                1, MIN_REVIEWERS, {"minimumApproverCount": 1, "creatorVoteCounts": True}, [exact("refs/heads/main")]
            ),
            policy(
                2,
                MIN_REVIEWERS,
                {"minimumApproverCount": 2, "creatorVoteCounts": False},
                [prefix("refs/heads/release/", repo=None)],
            ),
            policy(3, MIN_REVIEWERS, {"minimumApproverCount": 5}, [exact("refs/heads/release")]),  # not release/*
            policy(4, MIN_REVIEWERS, {"minimumApproverCount": 4}, [exact("refs/heads/main", OTHER_REPO_ID)]),
            policy(
                5,
                BUILD,
                {"buildDefinitionId": 9, "queueOnSourceUpdateOnly": True, "validDuration": 720},
                [prefix("refs/heads/release/")],
            ),
        ],
    )
    replay.add("GET", f"{PROJECT}/build/definitions", 200, collection([{"id": 9, "name": "release-ci"}]))
    facts = azure.branch_protection(ctx_for(tmp_path, replay, scope=("main", "release/*", "hotfix")))

    by_name = {b.branch: b for b in facts.branches}
    assert sorted(by_name) == ["main", "release/1.0", "release/2.0"]  # hotfix does not exist: left out
    assert by_name["main"].required_approvals == 1 and by_name["main"].author_can_approve is True
    assert by_name["main"].required_checks == () and by_name["main"].strict is False
    release = by_name["release/1.0"]
    assert release.required_approvals == 2 and release.author_can_approve is False
    assert release.required_checks == (RequiredCheck("release-ci"),) and release.strict is False
    assert facts.requested == ("hotfix", "main", "release/*")


def test_disabled_and_optional_policies_do_not_protect(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    serve_policies(
        replay,
        [
            policy(21, MIN_REVIEWERS, {"minimumApproverCount": 3}, [exact("refs/heads/main")], enabled=False),
            policy(
                22,
                BUILD,
                {"buildDefinitionId": 4, "displayName": "nightly"},
                [exact("refs/heads/main")],
                blocking=False,
            ),
            policy(
                23,
                "2e26e725-8201-4edd-8bf5-978563c34a80",
                {"maximumGitBlobSizeInBytes": 10485760},
                [{"repositoryId": REPO_ID}],
                name="File size restriction",
            ),
        ],
    )
    (main,) = azure.branch_protection(ctx_for(tmp_path, replay)).branches
    assert main.protected is False
    assert main.required_approvals == 0 and main.required_checks == ()
    assert any("21" in n and "disabled" in n for n in main.notes)
    assert any("22" in n and "optional" in n for n in main.notes)
    assert any("direct pushes are allowed" in n for n in main.notes)
    assert replay.requests("GET", f"{PROJECT}/build/definitions") == []  # only blocking builds are named


def test_unprotected_branch_and_default_branch_prefix_policy(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay, default_branch="refs/heads/trunk")
    serve_policies(
        replay,
        [
            policy(
                31,
                MIN_REVIEWERS,
                {"minimumApproverCount": 1},
                [{"repositoryId": None, "refName": None, "matchKind": "DefaultBranch"}],
            ),
        ],
    )
    replay.add("GET", f"{PROJECT}/git/repositories/{REPO_ID}/refs", 200, refs("trunk", "dev"))
    facts = azure.branch_protection(ctx_for(tmp_path, replay, scope=("@default", "dev")))
    by_name = {b.branch: b for b in facts.branches}
    assert facts.default_branch == "trunk"
    assert by_name["trunk"].protected and by_name["trunk"].required_approvals == 1
    assert not by_name["dev"].protected and by_name["dev"].sources == ()


def test_policies_and_refs_follow_continuation_tokens(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/{REPO_ID}/refs",
        200,
        refs("release/1.0"),
        headers={"X-MS-ContinuationToken": "refs-page-2"},
    )
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/{REPO_ID}/refs",
        200,
        refs("release/2.0"),
        query={"continuationToken": "refs-page-2"},
    )
    page1 = collection([policy(41, MIN_REVIEWERS, {"minimumApproverCount": 1}, [prefix("refs/heads/release/")])])
    page2 = collection([policy(42, MIN_REVIEWERS, {"minimumApproverCount": 3}, [exact("refs/heads/release/2.0")])])
    replay.add("GET", f"{PROJECT}/policy/configurations", 200, page1, headers={"X-MS-ContinuationToken": "42"})
    replay.add("GET", f"{PROJECT}/policy/configurations", 200, page2, query={"continuationToken": "42"})
    ctx = ctx_for(tmp_path, replay, scope=("release/*",))
    facts = azure.branch_protection(ctx)
    assert [(b.branch, b.required_approvals) for b in facts.branches] == [("release/1.0", 1), ("release/2.0", 3)]
    assert replay.requests("GET", f"{PROJECT}/git/repositories/{REPO_ID}/refs")[0].query["filter"] == "heads/release/"
    assert len(business(replay)) == 8  # repository, 2 ref pages, 2 policy pages, 3 ACLs (root, project, repo)
    assert ctx.meter.requests == len(replay.seen)


# --- builds and statuses on the commit -------------------------------------------------------------


def build(bid: int, name: str, sha: str, status: str, result: str | None, start: str | None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "id": bid,
        "buildNumber": f"2024.{bid}",
        "status": status,
        "sourceVersion": sha,
        "sourceBranch": "refs/heads/main",
        "queueTime": "2024-05-02T09:00:00Z",
        "definition": {"id": bid % 7, "name": name, "type": "build"},
        "repository": {"id": REPO_ID, "type": "TfsGit"},
        "url": f"https://dev.azure.com/contoso/ml/_apis/build/Builds/{bid}",
        "_links": {"web": {"href": f"https://dev.azure.com/contoso/ml/_build/results?buildId={bid}"}},
    }
    if result:
        b["result"] = result
    if start:
        b["startTime"] = start
    return b


def test_builds_and_statuses_for_the_exact_commit(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/build/builds",
        200,
        collection(
            [
                build(103, "churn-ci", SHA, "completed", "failed", "2024-05-02T11:00:00Z"),
                build(102, "churn-ci", OTHER_SHA, "completed", "succeeded", "2024-05-02T10:30:00Z"),
                build(101, "churn-ci", SHA.upper(), "completed", "succeeded", "2024-05-02T10:00:00Z"),
                build(104, "train", SHA, "inProgress", None, "2024-05-02T11:05:00Z"),
                build(105, "docs", SHA, "notStarted", None, None),
                build(106, "lint", SHA, "completed", "partiallySucceeded", "2024-05-02T10:01:00Z"),
            ]
        ),
        query={"repositoryId": REPO_ID, "repositoryType": "TfsGit"},
    )
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/{REPO_ID}/commits/{SHA}/statuses",
        200,
        collection(
            [
                {
                    "id": 2,
                    "state": "pending",
                    "description": "scanning",
                    "context": {"name": "dependency-scan", "genre": "security"},
                    "creationDate": "2024-05-02T11:10:00Z",
                    "targetUrl": "https://scanner.example/run/2",
                },
                {
                    "id": 1,
                    "state": "succeeded",
                    "context": {"name": "dependency-scan", "genre": "security"},
                    "creationDate": "2024-05-02T10:10:00Z",
                },
                {
                    "id": 3,
                    "state": "notApplicable",
                    "context": {"name": "docs-preview"},
                    "creationDate": "2024-05-02T10:11:00Z",
                },
                {"id": 4, "state": "error", "context": {"name": "model-eval"}, "creationDate": "2024-05-02T10:12:00Z"},
            ]
        ),
    )
    ctx = ctx_for(tmp_path, replay)
    facts = azure.commit_runs(ctx)

    assert facts.sha == SHA and facts.platform == "azure"
    builds = [r for r in facts.runs if r.source == "build"]
    assert [(r.name, r.status, r.conclusion, r.id) for r in builds] == [
        ("churn-ci", "completed", "failure", "103"),
        ("churn-ci", "completed", "success", "101"),
        ("train", "in_progress", None, "104"),
        ("docs", "queued", None, "105"),
        ("lint", "completed", "neutral", "106"),
    ]
    assert builds[0] == Run(
        "churn-ci",
        "completed",
        "failure",
        "build",
        url="https://dev.azure.com/contoso/ml/_build/results?buildId=103",
        started_at="2024-05-02T11:00:00Z",
        id="103",
    )
    statuses = [(r.name, r.status, r.conclusion) for r in facts.runs if r.source == "status"]
    assert statuses == [
        ("security/dependency-scan", "in_progress", None),
        ("security/dependency-scan", "completed", "success"),
        ("docs-preview", "completed", "skipped"),
        ("model-eval", "completed", "error"),
    ]
    assert ctx.meter.requests == len(replay.seen)
    assert len(business(replay)) == 3  # repository, builds, statuses


def test_builds_follow_continuation_token(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/build/builds",
        200,
        collection([build(9, "other", OTHER_SHA, "completed", "succeeded", "2024-05-02T10:00:00Z")]),
        headers={"X-MS-ContinuationToken": "2024-05-01T00:00:00Z"},
    )
    replay.add(
        "GET",
        f"{PROJECT}/build/builds",
        200,
        collection([build(8, "churn-ci", SHA, "completed", "succeeded", "2024-05-01T10:00:00Z")]),
        query={"continuationToken": "2024-05-01T00:00:00Z"},
    )
    replay.add("GET", f"{PROJECT}/git/repositories/{REPO_ID}/commits/{SHA}/statuses", 200, collection([]))
    facts = azure.commit_runs(ctx_for(tmp_path, replay))
    assert [(r.name, r.conclusion) for r in facts.runs] == [("churn-ci", "success")]


def test_no_runs_is_noted(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add("GET", f"{PROJECT}/build/builds", 200, collection([]))
    replay.add("GET", f"{PROJECT}/git/repositories/{REPO_ID}/commits/{SHA}/statuses", 200, collection([]))
    facts = azure.commit_runs(ctx_for(tmp_path, replay))
    assert facts.runs == () and "no build or status" in facts.notes[0]


# --- environments ----------------------------------------------------------------------------------


def test_missing_environment(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add(
        "GET",
        f"{PROJECT}/distributedtask/environments",
        200,
        collection([{"id": 3, "name": "production-eu", "project": {"name": "ml"}}]),
        query={"name": "production"},
    )
    facts = azure.environments(ctx_for(tmp_path, replay))
    (env,) = facts.environments
    assert env.name == "production" and env.exists is False
    assert "cannot see it" in env.notes[0]


def test_environment_with_approval_and_branch_control(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add(
        "GET",
        f"{PROJECT}/distributedtask/environments",
        200,
        collection([{"id": 12, "name": "Production", "description": "", "project": {"name": "ml"}}]),
    )
    approval = {
        "id": 101,
        "version": 2,
        "timeout": 43200,
        "resource": {"type": "environment", "id": "12", "name": "Production"},
        "type": {"id": "8C6F20A7-A545-4486-9777-F762FAFE0D4D", "name": "Approval"},
        "settings": {
            "approvers": [
                {"displayName": "Ada Lovelace", "id": "a1", "uniqueName": "ada@contoso.com"},
                {"displayName": "[ml]\\Release Managers", "id": "g1"},
            ],
            "executionOrder": "anyOrder",
            "minRequiredApprovers": 0,
            "instructions": "check the model card",
            "blockedApprovers": [],
            "requesterCannotBeApprover": True,
        },
    }
    branch_control = {
        "id": 102,
        "version": 1,
        "timeout": 1440,
        "resource": {"type": "environment", "id": "12"},
        "type": {"id": "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7", "name": "Task Check"},
        "settings": {
            "displayName": "Branch control",
            "definitionRef": {
                "id": "86b05a0c-73e6-4f7d-b3cf-e38f3b39a75b",
                "name": "evaluatebranchProtection",
                "version": "0.0.1",
            },
            "inputs": {
                "allowedBranches": "refs/heads/main,refs/heads/release/*",
                "ensureProtectionOfBranch": "true",
                "allowUnknownStatusBranch": "false",
            },
        },
    }
    hours = {
        "id": 103,
        "type": {"id": "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7", "name": "Task Check"},
        "settings": {"displayName": "Business Hours", "definitionRef": {"name": "evaluateBusinessHours"}},
    }
    replay.add(
        "GET",
        f"{PROJECT}/pipelines/checks/configurations",
        200,
        collection([approval, branch_control, hours]),
        query={"resourceType": "environment", "resourceId": "12", "$expand": "settings"},
    )
    ctx = ctx_for(tmp_path, replay, scope=("production",))
    (env,) = azure.environments(ctx).environments
    assert env.exists and env.name == "Production"
    assert env.reviewers == ("ada@contoso.com", "[ml]\\Release Managers")
    assert env.min_approvals == 2  # minRequiredApprovers 0 = every approver
    assert env.self_review_allowed is False
    assert env.branch_policy == "protected" and env.branch_patterns == ("main", "release/*")
    assert env.other_rules == ("Task Check: Business Hours",)
    assert env.url == f"{replay.url}/contoso/ml/_environments/12"
    assert ctx.meter.requests == len(replay.seen) and len(business(replay)) == 2


def test_environment_without_checks(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add("GET", f"{PROJECT}/distributedtask/environments", 200, collection([{"id": 5, "name": "production"}]))
    replay.add("GET", f"{PROJECT}/pipelines/checks/configurations", 200, collection([]))
    (env,) = azure.environments(ctx_for(tmp_path, replay)).environments
    assert env.exists and env.min_approvals == 0 and env.reviewers == () and env.branch_policy == "any"
    assert "needs nobody's approval" in env.notes[0]


# --- reliability and errors ------------------------------------------------------------------------


def test_429_with_retry_after_then_success(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    serve_policies(replay, [])
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/churn",
        responses=[
            (429, {"message": "Request was blocked due to exceeding usage of resource"}, {"Retry-After": "1"}),
            (200, {"id": REPO_ID, "name": "churn", "defaultBranch": "refs/heads/main"}),
        ],
    )
    ctx = ctx_for(tmp_path, replay)
    started = time.monotonic()
    facts = azure.branch_protection(ctx)
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert facts.branches[0].branch == "main"
    assert len(replay.requests("GET", f"{PROJECT}/git/repositories/churn")) == 2
    assert ctx.meter.requests == len(replay.seen)  # the retried request is counted too


def test_500_then_success(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/policy/configurations",
        responses=[
            (500, {"message": "TF400898: An Internal Error Occurred", "typeKey": "VssServiceException"}),
            (200, collection([policy(1, MIN_REVIEWERS, {"minimumApproverCount": 1}, [exact("refs/heads/main")])])),
        ],
    )
    ctx = ctx_for(tmp_path, replay)
    assert azure.branch_protection(ctx).branches[0].required_approvals == 1
    assert ctx.meter.requests == len(replay.seen)


def test_persistent_500_is_a_fact_error(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add("GET", f"{PROJECT}/policy/configurations", 503, {"message": "Service Unavailable"})
    with pytest.raises(FactError, match="answered 503 after"):
        azure.branch_protection(ctx_for(tmp_path, replay))


def test_malformed_json(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add("GET", f"{PROJECT}/policy/configurations", 200, b'{"count": 1, "value": [{"id": ')
    with pytest.raises(
        FactError,
        match=r"branch policies: malformed response from http://127.0.0.1:\d+/contoso/ml/_apis/policy/configurations$",
    ) as exc:
        azure.branch_protection(ctx_for(tmp_path, replay))
    assert "collection URL" in str(exc.value.hint)


def test_wrong_shape_is_malformed(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add("GET", f"{PROJECT}/policy/configurations", 200, {"policies": []})
    with pytest.raises(FactError, match="malformed response"):
        azure.branch_protection(ctx_for(tmp_path, replay))


def _diagnostics(exc: pytest.ExceptionInfo[FactError]) -> str:
    return exc.value.diagnostics() + repr(exc.value.args)


def test_401_names_the_token_and_its_scopes(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add("GET", f"{PROJECT}/git/repositories/churn", 401, b"", headers={"Content-Type": "text/plain"})
    with pytest.raises(FactError, match="answered 401 Unauthorized") as exc:
        azure.commit_runs(ctx_for(tmp_path, replay))
    assert "AZURE_DEVOPS_TOKEN" in str(exc.value.hint) and "Build (Read)" in str(exc.value.hint)
    assert TOKEN not in _diagnostics(exc)


def test_203_sign_in_page_means_a_rejected_token(tmp_path: Path, replay: ReplayServer) -> None:
    page = b"<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"
    replay.add("OPTIONS", "/contoso/_apis", 203, page, headers={"Content-Type": "text/html; charset=utf-8"})
    with pytest.raises(FactError, match=r"rejected the token.*203 with a sign-in page") as exc:
        azure.environments(ctx_for(tmp_path, replay))
    assert "AZURE_DEVOPS_TOKEN" in str(exc.value.hint)
    assert TOKEN not in _diagnostics(exc)


def test_403_and_404_carry_the_service_message(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add(
        "GET",
        f"{PROJECT}/git/repositories/churn",
        404,
        {
            "$id": "1",
            "innerException": None,
            "errorCode": 0,
            "eventId": 3000,
            "typeKey": "GitRepositoryNotFoundException",
            "typeName": "Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server",
            "message": "TF401019: The Git repository with name or identifier churn does not exist or you do not have permissions",
        },
    )
    with pytest.raises(FactError, match="404 Not Found: TF401019") as exc:
        azure.branch_protection(ctx_for(tmp_path, replay))
    assert "--repository ORG/PROJECT/REPO" in str(exc.value.hint)

    replay.add(
        "GET",
        f"{PROJECT}/distributedtask/environments",
        403,
        {
            "$id": "1",
            "typeKey": "UnauthorizedRequestException",
            "errorCode": 0,
            "eventId": 3000,
            "message": "TF400813: The user is not authorized to access this resource.",
        },
    )
    with pytest.raises(FactError, match="403 Forbidden: TF400813") as exc2:
        azure.environments(ctx_for(tmp_path, replay))
    assert "Environment (Read & manage)" in str(exc2.value.hint)


def test_repository_error_is_read_once_per_run(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add("GET", f"{PROJECT}/git/repositories/churn", 404, {"message": "TF401019: not found", "typeKey": "X"})
    ctx = ctx_for(tmp_path, replay)
    for fact in (azure.branch_protection, azure.commit_runs):
        with pytest.raises(FactError, match="TF401019"):
            fact(ctx)
    assert len(replay.requests("GET", f"{PROJECT}/git/repositories/churn")) == 1


def test_connection_refused_names_the_url_and_api_url_flag(tmp_path: Path, replay: ReplayServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = ctx_for(tmp_path, replay, api_url=f"http://127.0.0.1:{port}/contoso/")
    with pytest.raises(FactError, match=f"cannot reach http://127.0.0.1:{port}/contoso") as exc:
        azure.branch_protection(ctx)
    assert "--api-url" in str(exc.value.hint)


def test_bad_repository_slug(tmp_path: Path, replay: ReplayServer) -> None:
    ctx = Context(root=tmp_path, target=Target(platform="azure", repository="contoso/churn"), env={})
    with pytest.raises(FactError, match="not ORG/PROJECT/REPO"):
        azure.branch_protection(ctx)


def test_system_accesstoken_is_the_fallback(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.add("GET", f"{PROJECT}/distributedtask/environments", 200, collection([]))
    azure.environments(ctx_for(tmp_path, replay, env={"SYSTEM_ACCESSTOKEN": "pipeline-token"}))
    auth = replay.requests("GET", f"{PROJECT}/distributedtask/environments")[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b":pipeline-token").decode()


def serve_typical(replay: ReplayServer) -> None:
    serve_repository(replay)
    serve_policies(replay, [policy(1, BUILD, {"buildDefinitionId": 7}, [exact("refs/heads/main")])])
    replay.add("GET", f"{PROJECT}/build/definitions", 200, collection([{"id": 7, "name": "churn-ci"}]))
    replay.add("GET", f"{PROJECT}/build/builds", 200, collection([]))
    replay.add("GET", f"{PROJECT}/git/repositories/{REPO_ID}/commits/{SHA}/statuses", 200, collection([]))
    replay.add("GET", f"{PROJECT}/distributedtask/environments", 200, collection([{"id": 5, "name": "production"}]))
    replay.add("GET", f"{PROJECT}/pipelines/checks/configurations", 200, collection([]))


FACTS = (
    ("branch_protection", azure.branch_protection),
    ("commit_runs", azure.commit_runs),
    ("environments", azure.environments),
)


def test_typical_run_request_counts(tmp_path: Path, replay: ReplayServer) -> None:
    """Default policy on Azure: branch protection of the default branch, runs on the commit, production."""
    serve_typical(replay)
    base = ctx_for(tmp_path, replay)
    counts = {}
    for name, fact in FACTS:
        ctx = Context(root=tmp_path, target=base.target, env=base.env, shared=base.shared, kind=name)
        fact(ctx)
        counts[name] = ctx.meter.requests
    assert sum(counts.values()) == len(replay.seen)
    # repository once, policies, definitions, 3 ACLs, builds, statuses, environment, checks
    assert len(business(replay)) == 10
    assert len(replay.requests("GET", "/contoso/_apis/ResourceAreas")) == 1  # discovery shared across facts


def test_timeout_names_the_url_and_the_setting(tmp_path: Path, replay: ReplayServer) -> None:
    serve_discovery(replay)
    replay.delay_s = 1.0
    ctx = ctx_for(tmp_path, replay, env={"AZURE_DEVOPS_TOKEN": TOKEN, "MLOPS_GATE_HTTP_TIMEOUT": "0.2"})
    with pytest.raises(FactError, match=r"did not answer within 0.2 s") as exc:
        azure.environments(ctx)
    assert "MLOPS_GATE_HTTP_TIMEOUT" in str(exc.value.hint)


def test_concurrent_facts_share_discovery_and_the_repository(tmp_path: Path, replay: ReplayServer) -> None:
    """As the engine runs them: one thread per fact, one Shared; each meter counts only its own requests."""
    serve_typical(replay)
    replay.delay_s = 0.05
    base = ctx_for(tmp_path, replay)
    ctxs = [Context(root=tmp_path, target=base.target, env=base.env, shared=base.shared, kind=n) for n, _ in FACTS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda pair: pair[1](pair[0]), zip(ctxs, (f for _, f in FACTS), strict=True)))
    assert results[0].branches[0].required_checks == (RequiredCheck("churn-ci"),)
    assert sum(c.meter.requests for c in ctxs) == len(replay.seen)
    assert len(replay.requests("GET", f"{PROJECT}/git/repositories/churn")) == 1
    assert len(replay.requests("GET", "/contoso/_apis/ResourceAreas")) == 1
    assert ctxs[2].meter.requests >= 2 and all(not s.endswith("/churn") for s in ctxs[2].meter.sources)


def test_build_walk_is_bounded_and_says_so(tmp_path: Path, replay: ReplayServer) -> None:
    serve_repository(replay)
    replay.add(
        "GET",
        f"{PROJECT}/build/builds",
        200,
        collection([build(1, "other", OTHER_SHA, "completed", "succeeded", "2024-05-02T10:00:00Z")]),
        headers={"X-MS-ContinuationToken": "more"},
    )
    replay.add("GET", f"{PROJECT}/git/repositories/{REPO_ID}/commits/{SHA}/statuses", 200, collection([]))
    facts = azure.commit_runs(ctx_for(tmp_path, replay))
    assert len(replay.requests("GET", f"{PROJECT}/build/builds")) == azure.BUILD_PAGES
    assert any(f"stopped after {azure.BUILD_PAGES} pages" in n for n in facts.notes)
