"""CI detection for GitHub Actions, GitLab CI and Azure Pipelines, and the flag > policy > detection order."""

from __future__ import annotations

from mlops_gate.target import Target, detect, merge


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
