"""Git answers only for the checkout's own repository (docs/security.md): a pull request that commits a folder
looking like a git directory (an "embedded bare repository": HEAD, config, objects/, refs/) where the gate
runs (`--repo ml`, the Action's working-directory) supplies neither the target branch nor configuration that
runs commands; `--repo` reached through a link the change holds, or a submodule, is refused on a pull request;
and a `pull_request_target` job that checks out the base branch is judged by that branch's policy. Real git
repositories, end to end through the CLI; every outcome is exact."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from mlops_gate.providers import git as gitmod
from tests.support.git_repos import GIT_ENV, git

PINNED = "FROM python:3.12@sha256:" + "0" * 64 + "\n"
UNPINNED = "FROM python:latest\n"
TRUSTED_POLICY = "version: 1\nfail_on: medium\nchecks:\n  image.base-pinned: {severity: high}\n"
ATTACKER_POLICY = "version: 1\nfail_on: critical\n"  # image.base-pinned then blocks nothing
ONLY = "image.base-pinned,policy.unchanged"


def pr_env(tmp_path: Path, head: str = "evil", event: str = "pull_request") -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": head,
        "GITHUB_REPOSITORY": "acme/x",
        "GITHUB_TOKEN": "ghp_secret123456789abcdef",
        "HOME": str(tmp_path),
    }


def gate(capsys: pytest.CaptureFixture[str], repo: Path, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--repo", str(repo), "--only", ONLY, "--format", "json"], env=env)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def origin_and_clone(tmp_path: Path) -> Path:
    """`origin` whose main holds ml/ (the trusted policy, a pinned Dockerfile), cloned to `work` on branch evil
    with the Dockerfile unpinned: the change the trusted policy blocks."""
    origin = tmp_path / "origin"
    (origin / "ml").mkdir(parents=True)
    (origin / "ml" / ".mlops-gate.yml").write_text(TRUSTED_POLICY)
    (origin / "ml" / "Dockerfile").write_text(PINNED)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "base")
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, env={**os.environ, **GIT_ENV})
    git(work, "checkout", "-q", "-b", "evil")
    (work / "ml" / "Dockerfile").write_text(UNPINNED)
    return work


def plant_fake_git_dir(work: Path, marker: Path, *, with_ref: bool = True) -> None:
    """What the request commits in ml/: a git directory whose refs/remotes/origin/main is a commit holding the
    attacker's policy, and whose config runs a command (core.fsmonitor) and names the attacker's origin."""
    fake = work.parent / "fake.git"
    subprocess.run(["git", "init", "-q", "--bare", str(fake)], check=True, env={**os.environ, **GIT_ENV})
    genv = {**os.environ, **GIT_ENV, "GIT_DIR": str(fake)}

    def plumb(*args: str, text: str | None = None) -> str:
        done = subprocess.run(["git", *args], input=text, capture_output=True, text=True, env=genv, check=True)
        return done.stdout.strip()

    blob = plumb("hash-object", "-w", "--stdin", text=ATTACKER_POLICY)
    tree = plumb("mktree", text=f"100644 blob {blob}\t.mlops-gate.yml\n")
    commit = plumb("commit-tree", tree, "-m", "fake")
    if with_ref:
        plumb("update-ref", "refs/remotes/origin/main", commit)
    ml = work / "ml"
    subprocess.run(["cp", "-r", str(fake / "objects"), str(fake / "refs"), str(ml)], check=True)
    for folder in [*ml.joinpath("objects").rglob("*"), *ml.joinpath("refs").rglob("*"), ml / "refs"]:
        if folder.is_dir() and not any(folder.iterdir()):
            (folder / ".keep").write_text("")
    (ml / "HEAD").write_text("ref: refs/heads/not-main\n")
    (ml / ".mlops-gate.yml").write_text(ATTACKER_POLICY)  # the same as its fake target branch: "unchanged"
    (ml / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n"
        f'\tfsmonitor = "echo GITHUB_TOKEN=$GITHUB_TOKEN >> {marker}; false"\n'
        '[remote "origin"]\n\turl = https://attacker.invalid/x\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
    )
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "innocent looking change")


def test_control_the_unpinned_dockerfile_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = origin_and_clone(tmp_path)
    git(work, "commit", "-qam", "unpin")
    code, report, err = gate(capsys, work / "ml", pr_env(tmp_path))
    assert code == 1, err
    assert {r["check"]: r["status"] for r in report["results"]} == {
        "image.base-pinned": "failed",
        "policy.unchanged": "passed",
    }


@pytest.mark.parametrize("with_ref", [True, False], ids=["fake-target-branch", "fetch-from-fake-origin"])
def test_an_embedded_git_directory_is_never_the_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], with_ref: bool
) -> None:
    work = origin_and_clone(tmp_path)
    marker = tmp_path / "pwned"
    plant_fake_git_dir(work, marker, with_ref=with_ref)
    code, report, err = gate(capsys, work / "ml", pr_env(tmp_path))
    assert (code, report) == (3, {}), err  # nothing judged, nothing fetched
    assert "cannot use bare repository" in err and "is not a git repository the gate can trust" in err
    assert not marker.exists(), "the change's core.fsmonitor ran"
    assert "ghp_secret" not in err


def test_an_embedded_git_directory_is_refused_where_git_would_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git older than 2.38 ignores safe.bareRepository: the checkout's own .git is still required."""
    work = origin_and_clone(tmp_path)
    marker = tmp_path / "pwned"
    plant_fake_git_dir(work, marker)
    i = gitmod.HARDENED.index("safe.bareRepository=explicit")
    monkeypatch.setattr(gitmod, "HARDENED", gitmod.HARDENED[: i - 1] + gitmod.HARDENED[i + 1 :])
    code, report, err = gate(capsys, work / "ml", pr_env(tmp_path))
    assert (code, report) == (3, {}), err
    assert f"git answers with the git directory {work / 'ml'}, not the .git of the checkout" in err
    assert not marker.exists()


def test_repo_reached_through_a_link_of_the_change_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second checkout in the workspace (actions/checkout with `path:`) whose main judges nothing: the
    request links ml/ to it."""
    work = origin_and_clone(tmp_path)
    other = tmp_path / "tools"
    (other / "svc").mkdir(parents=True)
    (other / "svc" / ".mlops-gate.yml").write_text(ATTACKER_POLICY)
    (other / "svc" / "Dockerfile").write_text(UNPINNED)
    git(other, "init", "-q", "-b", "main")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "tools")
    git(other, "checkout", "-q", "-b", "evil")
    git(work, "rm", "-rqf", "ml")
    (work / "ml").symlink_to(other / "svc")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "link")
    code, report, err = gate(capsys, work / "ml", pr_env(tmp_path))
    assert (code, report) == (3, {}), err
    assert f"--repo {work / 'ml'} is reached through the symbolic link {work / 'ml'}" in err


def test_a_submodule_is_not_the_target_branchs_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / ".mlops-gate.yml").write_text(ATTACKER_POLICY)
    (sub / "Dockerfile").write_text(UNPINNED)
    git(sub, "init", "-q", "-b", "main")
    git(sub, "add", "-A")
    git(sub, "commit", "-q", "-m", "sub")
    work = origin_and_clone(tmp_path)
    git(work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendored")
    git(work, "commit", "-q", "-m", "vendor")
    git(work / "vendored", "checkout", "-q", "--detach")  # as `git submodule update` checks it out
    code, report, err = gate(capsys, work / "vendored", pr_env(tmp_path))
    assert (code, report) == (3, {}), err
    assert f"{work / 'vendored'} is a submodule of {work}" in err


def test_pull_request_target_checking_out_the_base_is_judged_by_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pull_request_target` checks out the base branch by default (a local `main`): the gate judges it with
    main's policy, read from origin/main, instead of refusing to compare main with itself."""
    work = origin_and_clone(tmp_path)
    git(work, "checkout", "-q", "-f", "main")
    (work / "ml" / "Dockerfile").write_text(UNPINNED)  # main's working tree, as judged
    code, report, err = gate(capsys, work / "ml", pr_env(tmp_path, event="pull_request_target"))
    assert code == 1, err
    assert {r["check"]: r["status"] for r in report["results"]} == {
        "image.base-pinned": "failed",
        "policy.unchanged": "passed",
    }
    # --base-branch naming the checked-out branch is still refused (a flag, not CI, named it)
    code = main(["check", "--repo", str(work / "ml"), "--only", ONLY, "--base-branch", "main"], env={"HOME": "/x"})
    assert code == 3
    assert "the target branch is the branch being checked (main)" in capsys.readouterr().err


def test_the_checkout_of_a_folder_answers_for_its_top_as_git_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git is asked once for a folder of a checkout; the top folder (which the run asks for next) gets what git
    answers from there, without a second rev-parse."""
    top = tmp_path / "repo"
    (top / "ml").mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    asked: list[list[str]] = []
    real = gitmod._run

    def counted(argv: list[str], *args: Any, **kwargs: Any) -> bytes:
        asked.append(argv)
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(gitmod, "_run", counted)
    inner = gitmod.checkout(top / "ml")
    at_top = gitmod.checkout(top)
    assert len(asked) == 1 and asked[0][0] == "rev-parse"
    monkeypatch.setattr(gitmod, "_CHECKOUTS", {})
    assert gitmod.checkout(top) == at_top and len(asked) == 2  # what git answers from the top itself
    assert (inner.top, inner.git_dir) == (at_top.top, at_top.git_dir)
