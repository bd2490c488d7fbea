"""The trust boundary: what the change under review cannot decide (docs/security.md).

Where the gate connects and what it trusts — the policy's `target:` block (API, Prometheus and Alertmanager
endpoints, the image, the model, the repository), every check's params (keys, builder ids, ...) and waivers —
come from the CI context, the flags, the environment, and a policy the change cannot edit. Not on a
pull/merge request, that is the policy as loaded (the working tree, --policy, --policy-ref). On one, it is
the target branch's copy of that policy, read with git at the commit the target branch points to, and the
files the policy names as trust anchors (public keys today) are read at that same commit, never through a
symbolic link. run.py decides this before anything is fetched and hands it to the providers
(`Context.inputs.anchors`), which read anchors with mlops_gate.providers.anchors.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_gate import policies, policy
from mlops_gate.errors import GateError, PolicyError
from mlops_gate.policies import DISCOVERED_NAMES
from mlops_gate.policy import Policy
from mlops_gate.providers import AnchorSource
from mlops_gate.providers.git import PR_EVENTS
from mlops_gate.target import Target


class TrustError(GateError):
    """On a pull/merge request the policy the gate trusts could not be read: nothing is fetched (exit 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Trusted:
    """The policy the run judges with, and where it was read (ref and commit: on a pull/merge request)."""

    policy: Policy
    ref: str | None = None  # the target branch as found in the clone, e.g. origin/main
    commit: str | None = None
    top: Path | None = None  # the repository's top folder


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
    return policy.load(named_profile or policies.PROFILES_DIR / f"{fallback}.yaml")


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


def anchors(trusted: Trusted) -> AnchorSource | None:
    """Where the providers read trust anchors (mlops_gate.providers.anchors): the target branch's commit on a
    pull/merge request, else None (the working tree)."""
    if trusted.commit is None or trusted.top is None or trusted.ref is None:
        return None
    return AnchorSource(trusted.top, trusted.ref, trusted.commit)
