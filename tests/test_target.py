"""CI detection for GitHub Actions, GitLab CI and Azure Pipelines, and the flag > policy > detection order."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_gate.target import Target, detect, merge

HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
GH = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/churn", "GITHUB_SHA": "merge-commit-sha"}


def test_outside_ci_detects_nothing() -> None:
    assert detect({}) == Target()


def test_github_push_and_pull_request() -> None:
    base = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/churn",
        "GITHUB_SHA": "abc",
        "GITHUB_API_URL": "https://ghe.example/api/v3",
    }
    push = detect({**base, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"})
    assert push == Target(
        platform="github",
        repository="acme/churn",
        branch="main",
        commit="abc",
        api_url="https://ghe.example/api/v3",
        event="push",
    )
    pr = detect(
        {
            **base,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/7/merge",
            "GITHUB_HEAD_REF": "feature",
            "GITHUB_BASE_REF": "main",
        }
    )
    assert (pr.branch, pr.base_branch, pr.event) == ("feature", "main", "pull_request")
    tag = detect(
        {
            **base,
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/tags/v1",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_REF_NAME": "v1",
        }
    )
    assert (tag.branch, tag.release) == (None, "v1")


def test_gitlab_merge_request_and_branch() -> None:
    base = {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "ml/churn",
        "CI_COMMIT_SHA": "def",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
    }
    mr = detect(
        {
            **base,
            "CI_MERGE_REQUEST_IID": "3",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
            "CI_PIPELINE_SOURCE": "merge_request_event",
        }
    )
    assert mr == Target(
        platform="gitlab",
        repository="ml/churn",
        branch="feat",
        commit="def",
        api_url="https://gitlab.example/api/v4",
        base_branch="main",
        event="merge_request",
    )
    push = detect({**base, "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "push"})
    assert (push.branch, push.event) == ("main", "push")


def test_azure_pipelines() -> None:
    env = {
        "TF_BUILD": "True",
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/contoso/",
        "SYSTEM_TEAMPROJECT": "ml",
        "BUILD_REPOSITORY_NAME": "churn",
        "BUILD_SOURCEVERSION": "f00",
        "BUILD_SOURCEBRANCH": "refs/heads/main",
        "BUILD_REASON": "IndividualCI",
    }
    t = detect(env)
    assert t == Target(
        platform="azure",
        repository="contoso/ml/churn",
        branch="main",
        commit="f00",
        api_url="https://dev.azure.com/contoso/",
        event="IndividualCI",
    )
    pr = detect(
        {
            **env,
            "BUILD_REASON": "PullRequest",
            "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/feat",
            "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
        }
    )
    assert (pr.branch, pr.base_branch, pr.event) == ("feat", "main", "pull_request")


def test_later_layers_win_field_by_field() -> None:
    detected = Target(platform="github", repository="a/b", commit="1")
    from_policy = Target(repository="c/d", model="churn@champion")
    flags = Target(commit="2")
    assert merge(detected, from_policy, flags) == Target(
        platform="github", repository="c/d", commit="2", model="churn@champion"
    )


def test_github_merge_queue_reads_the_target_branch_from_the_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "checks_requested",
                "merge_group": {
                    "head_sha": HEAD_SHA,
                    "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-abc",
                    "base_ref": "refs/heads/main",
                },
            }
        )
    )
    env = {
        **GH,
        "GITHUB_EVENT_NAME": "merge_group",
        "GITHUB_REF": "refs/heads/gh-readonly-queue/main/pr-7-abc",
        "GITHUB_EVENT_PATH": str(event),
    }
    t = detect(env)
    assert (t.event, t.base_branch, t.commit) == ("pull_request", "main", "merge-commit-sha")
    assert detect({**env, "GITHUB_BASE_REF": "release"}).base_branch == "release"  # the variable wins when set


def test_github_pull_request_commit_is_the_head_from_the_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"number": 7, "pull_request": {"head": {"sha": HEAD_SHA, "ref": "feature"}, "base": {"ref": "main"}}}
        )
    )
    for name in ("pull_request", "pull_request_target"):
        t = detect(
            {
                **GH,
                "GITHUB_EVENT_NAME": name,
                "GITHUB_HEAD_REF": "feature",
                "GITHUB_BASE_REF": "main",
                "GITHUB_EVENT_PATH": str(event),
            }
        )
        assert (t.commit, t.branch, t.base_branch, t.event) == (HEAD_SHA, "feature", "main", "pull_request")
    push_payload = tmp_path / "push.json"
    push_payload.write_text(json.dumps({"ref": "refs/heads/main", "head_commit": {"id": HEAD_SHA}}))
    push = detect(
        {**GH, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(push_payload)}
    )
    assert push.commit == "merge-commit-sha"  # only pull request events take the head from the payload
    # a payload naming a pull request makes any event one (fail closed), whatever the event is called
    odd = detect({**GH, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(event)})
    assert (odd.event, odd.base_branch, odd.commit) == ("pull_request", "main", HEAD_SHA)


def test_github_event_payload_problems_fall_back_to_the_environment(tmp_path: Path) -> None:
    env = {**GH, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main"}
    bad = {
        "missing": None,
        "malformed": "{not json",
        "not-utf8": b"\xff\xfe{",
        "a-list": json.dumps([1, 2]),
        "no-head": json.dumps({"pull_request": {"head": None}}),
        "sha-not-a-string": json.dumps({"pull_request": {"head": {"sha": 7}}}),
        "sha-not-hex": json.dumps({"pull_request": {"head": {"sha": "main; rm -rf /"}}}),
        "deep": "[" * 100000 + "]" * 100000,
    }
    for name, content in bad.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)
        t = detect({**env, "GITHUB_EVENT_PATH": str(path)})
        assert (t.commit, t.base_branch) == ("merge-commit-sha", "main"), name
    assert detect({**env, "GITHUB_EVENT_PATH": str(tmp_path)}).commit == "merge-commit-sha"  # a directory
    assert detect(env).commit == "merge-commit-sha"  # no GITHUB_EVENT_PATH
    merge_group = detect({**GH, "GITHUB_EVENT_NAME": "merge_group", "GITHUB_EVENT_PATH": str(tmp_path / "malformed")})
    assert (merge_group.event, merge_group.base_branch) == ("pull_request", None)


def test_every_github_event_that_checks_out_a_pull_request_is_one(tmp_path: Path) -> None:
    """Review events set no GITHUB_BASE_REF/GITHUB_HEAD_REF but check out refs/pull/N/merge as pull_request does:
    the target and head branch come from the payload."""
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"head": {"sha": HEAD_SHA, "ref": "feature"}, "base": {"ref": "main"}}})
    )
    for name in ("pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "new_pr_event"):
        t = detect(
            {**GH, "GITHUB_EVENT_NAME": name, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_EVENT_PATH": str(event)}
        )
        assert (t.event, t.base_branch, t.branch, t.commit) == ("pull_request", "main", "feature", HEAD_SHA), name


def test_a_pull_request_checkout_without_a_target_branch_is_still_one() -> None:
    """A refs/pull/* checkout of an event the gate does not know, without a payload: a pull request whose target
    branch is unknown, which the run refuses (exit 3), never a push."""
    t = detect({**GH, "GITHUB_EVENT_NAME": "some_future_event", "GITHUB_REF": "refs/pull/7/merge"})
    assert (t.event, t.base_branch, t.branch) == ("pull_request", None, None)


def test_events_that_only_mention_a_pull_request_are_not_one(tmp_path: Path) -> None:
    """workflow_run, check_run and issue_comment name requests deeper in their payload and check out the default
    branch unless told otherwise (a job that checks out the head passes --base-branch)."""
    payloads = {
        "workflow_run": {"workflow_run": {"pull_requests": [{"base": {"ref": "main"}, "head": {"ref": "f"}}]}},
        "check_run": {"check_run": {"pull_requests": [{"base": {"ref": "main"}}]}},
        "issue_comment": {"issue": {"pull_request": {"url": "https://api.github.com/repos/a/b/pulls/7"}}},
        "push": {"ref": "refs/heads/main"},
    }
    for name, payload in payloads.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(payload))
        t = detect({**GH, "GITHUB_EVENT_NAME": name, "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(path)})
        assert (t.event, t.base_branch, t.branch) == (name, None, "main"), name


def test_gitlab_external_pull_request_pipelines_are_merge_requests() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "acme/x",
        "CI_COMMIT_SHA": "abc",
        "CI_PIPELINE_SOURCE": "external_pull_request_event",
        "CI_EXTERNAL_PULL_REQUEST_IID": "7",
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_BRANCH": "feature",
    }
    t = detect(env)
    assert (t.event, t.base_branch, t.branch) == ("merge_request", "main", "feature")
    # a merge request pipeline source without its variables: a merge request whose target is unknown
    bare = detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event", "CI_COMMIT_BRANCH": "feature"})
    assert (bare.event, bare.base_branch) == ("merge_request", None)
    push = detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"})
    assert (push.event, push.base_branch) == ("push", None)


def test_azure_pull_request_variables_make_a_pull_request_build() -> None:
    env = {
        "TF_BUILD": "True",
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
        "BUILD_REASON": "Manual",  # queued by hand for a pull request: the pull request variables say what it is
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "7",
        "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/feat",
        "SYSTEM_PULLREQUEST_TARGETBRANCHNAME": "main",
        "BUILD_SOURCEBRANCH": "refs/pull/7/merge",
    }
    t = detect(env)
    assert (t.event, t.base_branch, t.branch) == ("pull_request", "main", "feat")
