"""A run on a checkout of a change under review is a pull-request run, whatever the CI event is called
(docs/security.md): the same request — an unpinned Dockerfile the target branch's policy blocks, and its own
policy that would let it through — is judged the same under every event that checks it out, or the run
refuses to judge (exit 3). A real git repository, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.cli import main
from tests.support.git_repos import commit_all, git

ONLY = "image.base-pinned,policy.unchanged"


@pytest.fixture
def request_checkout(tmp_path: Path) -> Path:
    """main: fail_on medium and a pinned Dockerfile (origin/main as a CI clone has it); the request, checked out
    detached as CI does: the Dockerfile unpinned and fail_on critical."""
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / ".mlops-gate.yml").write_text("version: 1\nfail_on: medium\n")
    (repo / "Dockerfile").write_text("FROM python@sha256:" + "a" * 64 + "\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    (repo / "Dockerfile").write_text("FROM python:latest\n")
    (repo / ".mlops-gate.yml").write_text("version: 1\nfail_on: critical\n")
    commit_all(repo, "the request")
    (tmp_path / "event.json").write_text(
        json.dumps({"pull_request": {"base": {"ref": "main"}, "head": {"ref": "evil", "sha": "0" * 40}}})
    )
    return repo


def run(capsys: pytest.CaptureFixture[str], repo: Path, env: dict[str, str]) -> tuple[int, str]:
    code = main(["check", "--repo", str(repo), "--only", ONLY, "-q"], env={"HOME": str(repo.parent), **env})
    return code, capsys.readouterr().err


def github(repo: Path, event: str, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/x",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_EVENT_PATH": str(repo.parent / "event.json"),
        **extra,
    }


@pytest.mark.parametrize(
    "event",
    ["pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "unknown_event"],
)
def test_every_github_event_checking_out_the_request_is_judged_by_the_target_branch(
    request_checkout: Path, capsys: pytest.CaptureFixture[str], event: str
) -> None:
    code, err = run(capsys, request_checkout, github(request_checkout, event))
    assert code == 1, err  # main's fail_on: medium blocks; the request's fail_on: critical is compared, not used
    assert "the pull/merge request is judged by origin/main:.mlops-gate.yml" in err


def test_a_pull_request_ref_without_a_known_target_branch_fails_closed(
    request_checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = github(request_checkout, "unknown_event")
    del env["GITHUB_EVENT_PATH"]
    code, err = run(capsys, request_checkout, env)
    assert code == 3, err
    assert "a pull/merge request without a known target branch" in err


def test_gitlab_external_pull_request_pipelines_are_judged_by_the_target_branch(
    request_checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "external_pull_request_event",
        "CI_PROJECT_PATH": "acme/x",
        "CI_EXTERNAL_PULL_REQUEST_IID": "7",
        "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME": "evil",
    }
    code, err = run(capsys, request_checkout, env)
    assert code == 1, err
    assert "judged by origin/main:.mlops-gate.yml" in err


def test_azure_pull_request_variables_are_judged_by_the_target_branch(
    request_checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "TF_BUILD": "True",
        "BUILD_REASON": "Manual",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "7",
        "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/evil",
        "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
    }
    code, err = run(capsys, request_checkout, env)
    assert code == 1, err
    assert "judged by origin/main:.mlops-gate.yml" in err


def test_control_a_push_trusts_the_checkout(request_checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = github(request_checkout, "push", GITHUB_REF="refs/heads/evil")
    del env["GITHUB_EVENT_PATH"]
    code, err = run(capsys, request_checkout, env)
    assert code == 0, err  # a push to a branch is judged by its own policy (run the gate on protected branches)
