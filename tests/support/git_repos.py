"""Real git repositories in tmp dirs: the churn example committed on `main`, a `feature` branch checked out
(a pull request's working tree), and the environment GitHub Actions sets on a pull request."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "examples" / "churn-model"
POLICY = ".mlops-gate.yml"
PR_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_BASE_REF": "main",
    "GITHUB_HEAD_REF": "feature",
    "GITHUB_REPOSITORY": "acme/churn-model",
}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def make_repo(path: Path, policy_text: str | None = None) -> Path:
    """The churn example as a git repository on `main`, then a `feature` branch checked out."""
    shutil.copytree(GOOD, path, ignore=shutil.ignore_patterns("facts.json"))
    if policy_text is not None:
        (path / POLICY).write_text(policy_text)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "initial")
    git(path, "checkout", "-q", "-b", "feature")
    return path
