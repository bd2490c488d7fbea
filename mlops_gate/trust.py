"""The trust boundary: what the change under review cannot decide (docs/security.md).

Where the gate connects and what it trusts — the policy's `target:` block (API, Prometheus and Alertmanager
endpoints, the image, the model, the repository), every check's params (keys, builder ids, ...) and waivers —
come from the CI context, the flags, the environment, and a policy the change cannot edit. Not on a
pull/merge request, that is the policy as loaded (the working tree, --policy, --policy-ref). On one, it is
the target branch's copy of that policy, read with git at the commit the target branch points to, and the
files the policy names as trust anchors (public keys today) are read at that same commit, never through a
symbolic link. run.py decides this before anything is fetched; providers read anchors with read_anchor().
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_gate import policy as policies
from mlops_gate.errors import FactError, GateError, PolicyError
from mlops_gate.policy import DISCOVERED_NAMES, Policy
from mlops_gate.providers.git import PR_EVENTS
from mlops_gate.target import Target

ANCHORS_ENV = "_MLOPS_GATE_TRUST_ANCHORS"  # how run.py tells providers where trust anchors are read


class TrustError(GateError):
    """On a pull/merge request the policy the gate trusts could not be read: nothing is fetched (exit 3)."""

    exit_code = 3


class AnchorError(FactError):
    """A trust anchor (a key file the policy names) could not be read from where the gate trusts it."""


@dataclass(frozen=True)
class Trusted:
    """The policy the run judges with, and where it was read (ref and commit: on a pull/merge request)."""

    policy: Policy
    ref: str | None = None  # the target branch as found in the clone, e.g. origin/main
    commit: str | None = None
    top: Path | None = None  # the repository's top folder


@dataclass(frozen=True)
class Anchor:
    data: bytes
    source: str  # where it was read: `git origin/main:cosign.pub`, or a path
    note: str | None = None  # e.g. the change under review has another copy, which was not used


def is_pull_request(target: Target) -> bool:
    return target.event in PR_EVENTS


def resolve(
    mine: Policy,
    target: Target,
    repo: Path,
    env: Mapping[str, str],
    *,
    policy_arg: str | None,
    policy_ref: str | None,
    head_branch: str | None,
    fallback: str,
) -> Trusted:
    """Not a pull/merge request: `mine`. On one: the target branch's copy of the policy — the file the same
    command would read in the target branch's tree (the --policy or --policy-ref path, else the first
    discovered name), with everything it extends read at the same commit — whatever the request did to its
    own copy (edit, delete, rename, link, extend another file); the built-in `fallback` profile when the
    target branch has no policy file. TrustError (exit 3) when the target branch cannot be read."""
    if not is_pull_request(target):
        return Trusted(mine)
    if policy_arg and not policy_ref and all(c.startswith("builtin:") for c in mine.chain):
        return Trusted(mine)  # a built-in profile named by the flag: nothing in the repository decides
    from mlops_gate.providers import git

    branch = target.base_branch
    if not branch:
        raise TrustError(
            "a pull/merge request without a known target branch: the gate cannot read the policy it trusts "
            "(the target branch's copy)",
            "run in CI (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, SYSTEM_PULLREQUEST_TARGETBRANCH) "
            "or pass --base-branch",
        )
    why = "on a pull/merge request the gate reads its policy and trust anchors from the target branch"
    try:
        top = git.toplevel(repo)
        git.check_base_branch(top, branch, head_branch)
        base = git.base_ref(top, branch, fetch=True)
    except git.GitError as exc:
        raise TrustError(f"{why}: {exc.message}", exc.hint) from None
    if base is None:
        raise TrustError(
            f"the target branch {branch} is not in the clone (tried origin/{branch}, {branch}, and fetching it "
            f"from origin): {why}, never from the request",
            git.fetch_hint(branch, env) + f"; --policy-ref does not replace it (only {branch}'s copy is trusted)",
        )
    ref, commit = base
    trusted = _at(top, ref, commit, repo, policy_arg, policy_ref, fallback) or mine
    _outside_the_change(trusted, top, ref)
    return Trusted(trusted, ref, commit, top)


def _at(
    top: Path, ref: str, commit: str, repo: Path, policy_arg: str | None, policy_ref: str | None, fallback: str
) -> Policy | None:
    """The target branch's copy; None: the policy in use is a file outside the repository (not part of the
    change: it is used as loaded)."""
    from mlops_gate.policy_sources import load_from_git
    from mlops_gate.providers import git

    named_profile = None
    if policy_ref:  # --policy-ref reads PATH relative to the repository top: the same path, at the target branch
        wanted = [posixpath.normpath(policy_arg)] if policy_arg else list(DISCOVERED_NAMES)
    elif policy_arg:  # a path (relative to the working directory), or a built-in profile's name
        where = git.in_repo(top, Path(policy_arg))
        if where is None:
            return None
        wanted = [where[0]]
        named_profile = policies.profile_path(policy_arg) if "/" not in policy_arg else None
    else:
        wanted = [w[0] for name in DISCOVERED_NAMES if (w := git.in_repo(top, repo / name)) is not None]
    found = next((rel for rel in wanted if git.show(top, commit, rel) is not None), None)
    if found is not None:
        return load_from_git(top, commit, found, origin="the target branch", shown=ref)
    if policy_arg and named_profile is None:
        raise PolicyError(
            f"--policy {policy_arg}: the target branch {ref} has no {wanted[0]}: on a pull/merge request the "
            "target branch's copy of the policy judges, and a request cannot bring its own",
            "merge the policy file first, or pass a policy the target branch has",
        )
    return policies.load(named_profile or policies.PROFILES_DIR / f"{fallback}.yaml")


def _outside_the_change(trusted: Policy, top: Path, ref: str) -> None:
    """Every file of the trusted policy is read at the target branch, a built-in profile, or outside the
    repository — never a working-tree file of the change under review."""
    from mlops_gate.providers import git

    for name in trusted.chain:
        if name.startswith(("builtin:", f"{ref}:")):
            continue
        if git.in_repo(top, Path(name)) is not None:
            raise TrustError(
                f"the policy {trusted.source} reads {name} from the working tree, which the pull/merge request "
                "controls",
                "keep the policy and every file it extends in the repository (read from the target branch), "
                "or every one of them outside it",
            )


def anchors_env(trusted: Trusted) -> str:
    """The value of ANCHORS_ENV for the providers: where trust anchors are read ("" : the working tree)."""
    if trusted.commit is None or trusted.top is None:
        return ""
    return json.dumps({"top": str(trusted.top), "ref": trusted.ref, "commit": trusted.commit})


def read_anchor(root: Path, target: Target, env: Mapping[str, str], name: str, limit: int) -> Anchor:
    """A file the policy names as a trust anchor (`name` relative to the repository root `root`, or absolute).

    Not a pull/merge request: from the working tree. On one: a path inside the repository is read from the
    target branch's commit (never through a symbolic link, never from the working tree: the request cannot
    add or replace a key); a path outside the repository was put there by the environment and is read as is."""
    path = Path(name) if Path(name).is_absolute() else root / name
    if not is_pull_request(target):
        return Anchor(_read(path, name, root, limit), str(path))
    from mlops_gate.providers import git

    try:
        spec = json.loads(env.get(ANCHORS_ENV) or "null")
        top, ref, commit = Path(spec["top"]), str(spec["ref"]), str(spec["commit"])
    except (TypeError, KeyError, ValueError):
        raise AnchorError(
            f"{name}: on a pull/merge request trust anchors are read from the target branch, "
            "which this run did not resolve"
        ) from None
    where = git.in_repo(top, path)
    if where is None:  # outside the repository: not part of the change
        return Anchor(_read(path, name, root, limit), str(path))
    rel = where[0]
    try:
        links = git.links_at(top, commit, rel)
        data = None if links else git.blob(top, commit, rel, limit)
    except git.GitError as exc:
        raise AnchorError(f"{name}: cannot read it from the target branch {ref}: {exc.message}") from None
    if links:
        shown = ", ".join(f"{link} -> {to}" for link, to in links)
        raise AnchorError(
            f"{name} is or is below a symbolic link on {ref} ({shown}): a trust anchor is read as a regular file only",
            "commit the key as a regular file on the target branch",
        )
    if data is None:
        raise AnchorError(
            f"{name} is not on the target branch {ref} ({rel}): on a pull/merge request trust anchors are read "
            "from the target branch, so the request cannot add or replace one",
            "merge the key through a pull/merge request of its own first",
        )
    return Anchor(data, f"git {ref}:{rel}", _compare(path, rel, data, ref, limit))


def _compare(path: Path, rel: str, trusted: bytes, ref: str, limit: int) -> str | None:
    """A note when the change under review has another copy (never read through a link, nor past `limit`)."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            return f"{rel} is {what} in the change under review: the copy on {ref} is used"
        with open(path, "rb") as fh:
            same = fh.read(limit + 1) == trusted
    except OSError:
        return f"{rel} is missing from the change under review: the copy on {ref} is used"
    return None if same else f"{rel} differs in the change under review: the copy on {ref} is used"


def _read(path: Path, name: str, root: Path, limit: int) -> bytes:
    """From the file system, at most `limit + 1` bytes of a regular file (never a device or a FIFO)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise AnchorError(f"cannot read key file {name}: not a regular file")
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise AnchorError(f"cannot read key file {name} (relative to {root}): {exc.strerror or exc}") from None
