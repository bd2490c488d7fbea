"""The target branch of a pull/merge request in the clone: a branch name only (never another revision), not
the branch being checked, looked up as the remote-tracking branch first, and fetched from `origin` once, bounded,
when a shallow CI checkout does not have it. Split from mlops_gate.providers.git, whose commands it uses."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from mlops_gate.providers.git import GitError, commit_of, git, ref_exists

FETCH_TIMEOUT = 30  # seconds: the one fetch of a missing target branch
_FETCHED: set[tuple[str, str]] = set()  # (repository, branch) fetches already tried by this process
_FETCH_LOCK = threading.Lock()


def base_ref(repo: Path, branch: str, fetch: bool = False, local: bool = True) -> tuple[str, str] | None:
    """The target branch in the clone: the remote-tracking branch first (CI clones), else a local one (unless
    `local` is False) — a branch only, never another revision (`HEAD`, `HEAD~0`, a commit, a tag). Returns how
    it is named (`origin/main`, `main`) and the commit it points to, resolved through its full ref name: a tag
    or any other ref with the same short name (a pushed tag `main` or `origin/main`) cannot stand in for it.
    `fetch`: when the clone has neither (a shallow CI checkout), fetch the branch from `origin` once first."""
    found = _lookup_branch(repo, branch, local)
    if found is None and fetch and fetch_branch(repo, branch):
        found = _lookup_branch(repo, branch, local)
    if found is None:
        return None
    return found.removeprefix("refs/remotes/").removeprefix("refs/heads/"), commit_of(repo, found)


def _lookup_branch(repo: Path, branch: str, local: bool = True) -> str | None:
    if not is_branch_name(repo, branch):
        return None
    refs = (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}") if local else (f"refs/remotes/origin/{branch}",)
    return next((ref for ref in refs if ref_exists(repo, ref)), None)


def target_branch(
    top: Path, branch: str, head_branch: str | None, from_ci: bool, fetch: bool
) -> tuple[str, str] | None:
    """The target branch of a pull/merge request checked out at `top` (see check_base_branch and base_ref). A
    target branch CI names may be the checked-out branch (a `pull_request_target` job checks out the base):
    it is then read from `origin` only, never from the local branch the job checked out."""
    checked_out = current_branch(top) == branch
    check_base_branch(top, branch, head_branch, checked_out_ok=from_ci)
    return base_ref(top, branch, fetch=fetch, local=not checked_out)


def is_branch_name(repo: Path, branch: str) -> bool:
    """`git check-ref-format --branch`, taken literally: `HEAD`, `@{-1}`, `main~1`, `-x` are not branch names."""
    if not branch or branch.startswith("-"):
        return False
    try:
        return git(repo, "check-ref-format", "--branch", branch).strip() == branch
    except GitError:
        return False


def current_branch(repo: Path) -> str | None:
    """The checked-out branch (`git symbolic-ref --short HEAD`); None on a detached HEAD."""
    try:
        return git(repo, "symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
    except GitError:
        return None


def check_base_branch(repo: Path, branch: str, head_branch: str | None = None, *, checked_out_ok: bool = False) -> None:
    """GitError unless `branch` can be the target branch of a pull/merge request checked out in `repo`: a
    branch name (not any revision), and not the branch being checked — the checked-out branch (unless
    `checked_out_ok`), or `head_branch` (the request's own branch) — which would compare the request with
    itself."""
    if not is_branch_name(repo, branch):
        raise GitError(
            f"the target branch {branch!r} is not a branch name: the policy is compared with a branch only",
            "pass the name of the branch the pull/merge request targets, e.g. --base-branch main",
        )
    if branch == head_branch or (not checked_out_ok and branch == current_branch(repo)):
        raise GitError(
            f"the target branch is the branch being checked ({branch}): the pull request would be compared with itself",
            "pass the branch the pull/merge request targets with --base-branch (or let CI detect it)",
        )


def fetch_branch(repo: Path, branch: str) -> bool:
    """One bounded `git fetch` of `branch` from the remote `origin` into refs/remotes/origin/<branch> (with
    --depth=1 in a shallow clone, so that a complete clone is not made shallow). False when there is no
    `origin`, the name is not a plain branch name, or the fetch fails or times out: the caller then reports
    the branch as missing."""
    if not branch or branch.startswith(("-", "+")) or ":" in branch:
        return False
    key = (str(repo.resolve()), branch)
    with _FETCH_LOCK:
        if key in _FETCHED:  # once per run: a failed fetch is not retried
            return False
        _FETCHED.add(key)
    try:
        git(repo, "check-ref-format", f"refs/heads/{branch}")
        if "origin" not in git(repo, "remote").split():
            return False
        shallow = git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"
        git(
            repo,
            "fetch",
            "--no-tags",
            "--no-recurse-submodules",
            *(["--depth=1"] if shallow else []),
            "origin",
            f"refs/heads/{branch}:refs/remotes/origin/{branch}",
            timeout=FETCH_TIMEOUT,
        )
    except GitError:
        return False
    return True


def fetch_hint(branch: str, env: Mapping[str, str]) -> str:
    if env.get("GITHUB_ACTIONS") == "true":
        return f"check out with `actions/checkout` and `fetch-depth: 0`, or run `git fetch origin {branch}` first"
    return f"run `git fetch origin {branch}` before the gate (shallow CI clones do not have it)"
