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
    push = detect({**GH, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(event)})
    assert push.commit == "merge-commit-sha"  # only pull request events take the head from the payload


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
