"""The gate leaves its own outputs out of the files it judges only when they are its own: a file the change
committed under an output's name (the GitLab component writes `mlops-gate-codequality.json` into the project
folder) is judged like any other, then overwritten, with a warning. Real git repositories, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_gate.cli import main
from tests.support.git_repos import commit_all, git

POD = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "nginx:latest"}]},
        }
    ],
}
OUTPUT = "mlops-gate-codequality.json"


def run(capsys: pytest.CaptureFixture[str], repo: Path) -> tuple[int, str]:
    code = main(
        [
            *("check", "--repo", str(repo), "--only", "image.digest-pinned", "-q"),
            *("--output", f"gitlab-codequality={repo / OUTPUT}"),
        ],
        env={"HOME": str(repo.parent)},
    )
    return code, capsys.readouterr().err


def repo_with_manifest_at_the_output(tmp_path: Path, commit: bool) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "README.md").write_text("x\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "main")
    (repo / OUTPUT).write_text(json.dumps(POD))
    if commit:
        commit_all(repo, "the request: a manifest named like the gate's report")
    return repo


def test_a_committed_file_at_an_output_path_is_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_manifest_at_the_output(tmp_path, commit=True)
    code, err = run(capsys, repo)
    assert code == 1, err
    assert f"warning: {repo / OUTPUT} is a file of the repository: it is judged, then overwritten" in err
    assert json.loads((repo / OUTPUT).read_text())[0]["check_name"] == "image.digest-pinned"  # then overwritten


def test_an_earlier_runs_untracked_output_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_manifest_at_the_output(tmp_path, commit=False)
    code, err = run(capsys, repo)
    assert code == 0, err
    assert "is a file of the repository" not in err


def test_an_output_written_for_the_first_time_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_manifest_at_the_output(tmp_path, commit=False)
    (repo / OUTPUT).unlink()
    code, err = run(capsys, repo)
    assert code == 0, err
    assert (repo / OUTPUT).exists() and "is a file of the repository" not in err


def test_outside_a_git_repository_an_existing_file_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / OUTPUT).write_text(json.dumps(POD))
    code, err = run(capsys, repo)
    assert code == 1, err  # git cannot say it is not the project's: judged
    assert "is a file of the repository" in err
