"""What a pull/merge request's run reads before it trusts anything (docs/security.md): the request's own policy
is read only inside the repository, after the target branch's (never a file the request names elsewhere on
the runner), and replayed facts (`--facts-in`) are judged by the target branch's policy as a live run is,
whatever the request's policy or the replayed run recorded. Real git repositories, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from tests.support.git_repos import PR_ENV, commit_all, git

ONLY = "image.base-pinned,policy.unchanged"
UNPINNED = "FROM python:latest\n"


def repo_with(path: Path, policy: str, extra: dict[str, str] | None = None) -> Path:
    """A repository whose main holds `policy` and an unpinned Dockerfile (image.base-pinned fails, medium),
    with the request's branch `feature` checked out."""
    path.mkdir(parents=True)
    (path / ".mlops-gate.yml").write_text(policy)
    (path / "Dockerfile").write_text(UNPINNED)
    for rel, text in (extra or {}).items():
        (path / rel).write_text(text)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "main")
    git(path, "checkout", "-q", "-b", "feature")
    return path


def gate(capsys: pytest.CaptureFixture[str], *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    code = main(["check", *args, "--format", "json"], env=PR_ENV if env is None else env)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


# --- finding 13: the request's policy is read only inside the repository ------------------------------


def test_the_requests_policy_cannot_extend_a_file_elsewhere_on_the_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An outside file whose first key would be quoted in an `unknown key` error (the runner's secrets)."""
    secret = tmp_path / "runner" / "config.yml"
    secret.parent.mkdir()
    secret.write_text("version: 1\nsecret_value_abc123: 1\n")
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    (repo / ".mlops-gate.yml").write_text(f"version: 1\nextends: {secret}\n")
    commit_all(repo)
    code, report, err = gate(capsys, "--repo", str(repo), "--only", ONLY)
    assert (code, report) == (2, {}), err
    assert f"{repo / '.mlops-gate.yml'}: {secret} is outside the repository" in err
    assert "secret_value" not in err


def test_the_requests_policy_is_never_opened_outside_the_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/proc/self/environ (a regular file to stat, holding the job's credentials): never opened."""
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    (repo / ".mlops-gate.yml").write_text("version: 1\nextends: /proc/self/environ\n")
    commit_all(repo)
    code, report, err = gate(capsys, "--repo", str(repo), "--only", ONLY)
    assert (code, report) == (2, {}), err
    assert "/proc/self/environ is outside the repository" in err
    assert "invalid YAML" not in err


def test_a_runner_file_the_target_branchs_policy_extends_may_be_extended_by_the_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "runner" / "company.yml"
    base.parent.mkdir()
    base.write_text("version: 1\nfail_on: medium\n")
    repo = repo_with(tmp_path / "r", f"version: 1\nextends: {base}\n")
    code, report, err = gate(capsys, "--repo", str(repo), "--only", "image.base-pinned")
    assert code == 1, err  # the company's fail_on: medium blocks the unpinned Dockerfile
    assert [r["status"] for r in report["results"]] == ["failed"]


def test_policy_ref_head_is_read_inside_the_repository_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "runner" / "config.yml"
    secret.parent.mkdir()
    secret.write_text("version: 1\nsecret_value_abc123: 1\n")
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    (repo / ".mlops-gate.yml").write_text(f"version: 1\nextends: {secret}\n")
    commit_all(repo)
    code, _, err = gate(capsys, "--repo", str(repo), "--only", ONLY, "--policy-ref", "HEAD")
    assert code == 2, err
    assert f"{secret} is outside the repository" in err and "secret_value" not in err


def test_a_push_still_reads_the_policy_as_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "runner" / "company.yml"
    base.parent.mkdir()
    base.write_text("version: 1\nfail_on: critical\n")
    repo = repo_with(tmp_path / "r", f"version: 1\nextends: {base}\n")
    code, _, err = gate(capsys, "--repo", str(repo), "--only", "image.base-pinned", env={"HOME": str(tmp_path)})
    assert code == 0, err


# --- finding 8: --facts-in on a pull/merge request is judged by the target branch's policy -----------------


def test_replayed_facts_are_judged_by_the_target_branchs_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    facts = tmp_path / "facts.json"
    code, _, err = gate(capsys, "--repo", str(repo), "--only", ONLY, "--facts-out", str(facts))
    assert code == 1, err  # live: blocked
    (repo / ".mlops-gate.yml").write_text("version: 1\nfail_on: critical\n")  # the request
    commit_all(repo)
    code, report, err = gate(capsys, "--repo", str(repo), "--only", ONLY, "--facts-in", str(facts))
    assert code == 1, err
    assert report["fail_on"] == "medium"
    assert "the pull/merge request is judged by origin/main:.mlops-gate.yml" not in err  # no origin here
    assert "judged by main:.mlops-gate.yml" in err


def test_a_replayed_bundles_run_choices_do_not_apply_to_a_pull_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An evidence bundle recorded `--only policy.unchanged` and `fail_on: critical`: on a pull request the
    target branch's policy decides what runs and what blocks."""
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    git(repo, "tag", "v1")
    bundle = tmp_path / "bundle.json"
    code = main(
        [
            "audit",
            "--release",
            "v1",
            "--repo",
            str(repo),
            "--policy",
            "default",
            "--only",
            "policy.unchanged",
            "--fail-on",
            "critical",
            "--evidence",
            str(bundle),
            "-q",
        ],
        env={"HOME": str(tmp_path)},
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    code, report, err = gate(capsys, "--repo", str(repo), "--facts-in", str(bundle))
    assert code == 3, err  # image.base-pinned was not recorded: it cannot be judged, and is not skipped
    assert report["fail_on"] == "medium"
    statuses = {r["check"]: r["status"] for r in report["results"]}
    assert statuses["image.base-pinned"] == "error"


def test_replayed_facts_on_a_pull_request_need_the_clone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with(tmp_path / "r", "version: 1\nfail_on: medium\n")
    facts = tmp_path / "facts.json"
    code, _, _ = gate(capsys, "--repo", str(repo), "--only", ONLY, "--facts-out", str(facts), env={"HOME": "/x"})
    assert code == 1
    elsewhere = tmp_path / "not-a-clone"
    elsewhere.mkdir()
    (elsewhere / ".mlops-gate.yml").write_text("version: 1\nfail_on: critical\n")
    code, report, err = gate(capsys, "--repo", str(elsewhere), "--only", ONLY, "--facts-in", str(facts))
    assert (code, report) == (3, {}), err
    assert "is not a git repository" in err
