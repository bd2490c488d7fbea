"""Git facts, read with the `git` command (no API, no network): tags, refs, files at a ref.

Also the provider of the `policy_file` fact kind: the policy file in use compared with the copy on
the branch a pull/merge request targets (`policy.unchanged`).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from mlops_gate.errors import FactError, UsageError
from mlops_gate.facts_git import PolicyChange, PolicyCopy, PolicyFiles
from mlops_gate.providers import Context

# How the run tells this provider which policy it loaded (the engine hands providers only the env).
POLICY_ENV = "_MLOPS_GATE_POLICY_IN_USE"
PR_EVENTS = ("pull_request", "merge_request")


class GitError(FactError):
    """git could not answer (not installed, not a repository, unknown ref)."""


def git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise GitError("git is not installed", "install git, or run where it is on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} timed out in {repo}") from None
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def toplevel(repo: Path) -> Path:
    try:
        return Path(git(repo, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        raise GitError(
            f"{repo} is not a git repository ({exc.message})", "run the gate inside the checked-out repository"
        ) from None


def ref_exists(repo: Path, ref: str) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def resolve_tag(repo: Path, tag: str) -> str:
    """The commit a tag (annotated or lightweight) points to; UsageError when there is no such tag."""
    if tag.startswith("-") or not tag.strip():
        raise UsageError(f"--release {tag!r}: not a tag name")
    try:
        toplevel(repo)
    except GitError as exc:
        raise UsageError(f"--release {tag}: {exc.message}", exc.hint) from None
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}").strip()
    except GitError:
        raise UsageError(
            f"--release {tag}: no such tag in {repo}",
            "list the tags with `git tag`; in CI fetch them (`git fetch --tags`, or `fetch-depth: 0`)",
        ) from None


def show(repo: Path, ref: str, path: str) -> str | None:
    """The file at `ref:path` (path relative to the repository root), or None when it is not there."""
    try:
        git(repo, "cat-file", "-e", f"{ref}:{path}")
    except GitError:
        return None
    return git(repo, "show", f"{ref}:{path}")


def base_ref(repo: Path, branch: str) -> str | None:
    """The ref holding the target branch: the remote-tracking branch first (CI clones), else a local one."""
    for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}", branch):
        if ref_exists(repo, ref):
            return ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")
    return None


def fetch_hint(branch: str, env: Mapping[str, str]) -> str:
    if env.get("GITHUB_ACTIONS") == "true":
        return f"check out with `actions/checkout` and `fetch-depth: 0`, or run `git fetch origin {branch}` first"
    return f"run `git fetch origin {branch}` before the gate (shallow CI clones do not have it)"


def policy_in_use(files: list[Path], source: str, ref: str | None) -> str:
    """What run.py passes to the provider through POLICY_ENV."""
    return json.dumps({"files": [str(f.resolve()) for f in files], "source": source, "ref": ref or ""})


def policy_file(ctx: Context) -> PolicyFiles:
    tgt = ctx.target
    raw = json.loads(ctx.env.get(POLICY_ENV) or '{"files": [], "source": "", "ref": ""}')
    source, ref = str(raw["source"]), str(raw["ref"]) or None
    is_pr = tgt.event in PR_EVENTS
    base = PolicyFiles(source=source, pull_request=is_pr, base_branch=tgt.base_branch, policy_ref=ref)
    if not is_pr or ref is not None or not raw["files"]:
        return base
    if not tgt.base_branch:
        raise GitError(
            "a pull/merge request without a known target branch: cannot compare the policy with it",
            "run in CI (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, SYSTEM_PULLREQUEST_TARGETBRANCH) "
            "or pass --base-branch",
        )
    top = toplevel(ctx.root)
    found = base_ref(top, tgt.base_branch)
    if found is None:
        raise GitError(
            f"the target branch {tgt.base_branch} is not in the clone (tried origin/{tgt.base_branch}, "
            f"{tgt.base_branch}): cannot compare the policy with it",
            fetch_hint(tgt.base_branch, ctx.env),
        )
    copies = []
    for name in raw["files"]:
        path = Path(name)
        try:
            rel = path.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            raise GitError(
                f"the policy file {path} is outside the repository {top}: a pull request's own copy cannot be "
                "compared with the target branch",
                "keep the policy in the repository, or load it with --policy-ref",
            ) from None
        ctx.meter.read(f"git:{found}:{rel}")
        copies.append(_compare(rel, path.read_text(encoding="utf-8"), show(top, found, rel), found))
    return PolicyFiles(source, True, tgt.base_branch, None, found, tuple(copies))


def _compare(rel: str, mine: str, theirs: str | None, ref: str) -> PolicyCopy:
    if theirs is None:
        return PolicyCopy(rel, ref, in_base=False, identical=False)
    if theirs == mine:
        return PolicyCopy(rel, ref, in_base=True, identical=True)
    changes = []
    matcher = difflib.SequenceMatcher(a=theirs.splitlines(), b=mine.splitlines(), autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            changes.append(PolicyChange(line=b1 + 1, added=b2 - b1, removed=a2 - a1))
    return PolicyCopy(rel, ref, in_base=True, identical=False, changes=tuple(changes))
