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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_gate import policies, policy
from mlops_gate.errors import GateError, PolicyError
from mlops_gate.policies import DISCOVERED_NAMES
from mlops_gate.policy import Confine, Policy
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
    load_mine: Callable[[Confine | None], Policy],
    target: Target,
    repo: Path,
    env: Mapping[str, str],
    *,
    policy_arg: str | None,
    policy_ref: str | None,
    head_branch: str | None,
    fallback: str,
    base_from_ci: bool = True,
) -> tuple[Trusted, Policy]:
    """The policy the run judges with, and the policy the run was asked to load (`load_mine`, called once:
    the working tree's, --policy-ref's, or a replayed bundle's).

    Not a pull/merge request: that policy, trusted. On one: the target branch's copy — the file the same
    command would read in the target branch's tree (the --policy or --policy-ref path, else the first
    discovered name), with everything it extends read at the same commit — whatever the request did to its
    own copy (edit, delete, rename, link, extend another file); the built-in `fallback` profile when the
    target branch has no policy file. It is read first: the request's own policy is then read only inside the
    repository (and outside it only what the trusted policy reads too), to be compared with it. TrustError
    (exit 3) when the target branch cannot be read; `base_from_ci`: the target branch is the one CI names
    (not --base-branch), which a job may have checked out (`pull_request_target`)."""
    if not is_pull_request(target) or (policy_arg and not policy_ref and _names_profile(policy_arg)):
        as_loaded = load_mine(None)  # not a pull request, or a built-in profile named by the flag
        return Trusted(as_loaded), as_loaded
    from mlops_gate.providers import git, git_branches

    branch = target.base_branch
    if not branch:
        raise TrustError(
            "a pull/merge request without a known target branch: the gate cannot read the policy it trusts "
            "(the target branch's copy)",
            "run in CI (GITHUB_BASE_REF or the event payload, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, "
            "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME, SYSTEM_PULLREQUEST_TARGETBRANCH) or pass --base-branch",
        )
    why = "on a pull/merge request the gate reads its policy and trust anchors from the target branch"
    try:
        top = _checkout(repo)
        base = git_branches.target_branch(top, branch, head_branch, base_from_ci, fetch=True)
    except git.GitError as exc:
        raise TrustError(f"{why}: {exc.message}", exc.hint) from None
    if base is None:
        raise TrustError(
            f"the target branch {branch} is not in the clone (tried origin/{branch}, {branch}, and fetching it "
            f"from origin): {why}, never from the request",
            git_branches.fetch_hint(branch, env)
            + f"; --policy-ref does not replace it (only {branch}'s copy is trusted)",
        )
    ref, commit = base
    trusted = _at(top, ref, commit, repo, policy_arg, policy_ref, fallback)
    mine: Policy | None = None
    if trusted is None:  # a policy file outside the repository, named by the flag: the runner's, used as loaded
        trusted = mine = load_mine(None)
    _outside_the_change(trusted, top, ref)
    if mine is None:
        mine = load_mine(Confine(top, frozenset(_outside_files(trusted, top, ref))))
    return Trusted(trusted, ref, commit, top), mine


def _names_profile(policy_arg: str) -> bool:
    """--policy names a built-in profile (as policy.load reads it: a file of that name comes first)."""
    return (
        "/" not in policy_arg
        and not policy_arg.endswith((".yml", ".yaml"))
        and policies.profile_path(policy_arg) is not None
        and not Path(policy_arg).is_file()
    )


def _checkout(repo: Path) -> Path:
    """The top of the checkout `repo` is in, when it can be trusted to be the one CI checked out: git's own
    repository (mlops_gate.providers.git.checkout), reached without a link the change could hold, and not a
    submodule (whose commit, history and origin the superproject's change names)."""
    from mlops_gate.providers import git

    try:
        co = git.checkout(repo)
    except git.GitError as exc:
        raise git.GitError(
            f"{repo} is not a git repository the gate can trust ({exc.message})",
            exc.hint or "run the gate inside the checked-out repository",
        ) from None
    if co.via_link is not None:
        raise git.GitError(
            f"--repo {repo} is reached through the symbolic link {co.via_link}, which the change under review "
            "can hold: the gate would judge whatever repository it points to",
            "pass the checked-out folder itself as --repo (the Action's working-directory, the component's repo)",
        )
    parent = git.superproject(co.top)
    if parent is not None:
        raise git.GitError(
            f"{co.top} is a submodule of {parent}: on a pull/merge request of {parent} its commit, history and "
            "origin come from the change under review",
            "run the gate on the superproject's checkout, or in the submodule's own pipeline",
        )
    return co.top


def _outside_files(trusted: Policy, top: Path, ref: str) -> list[str]:
    """The files of the trusted policy outside the repository (the runner's): the request may extend them too."""
    from mlops_gate.providers import git_paths

    return [
        str(Path(name).resolve())
        for name in trusted.chain
        if not name.startswith(("builtin:", f"{ref}:")) and git_paths.in_repo(top, Path(name)) is None
    ]


def _at(
    top: Path, ref: str, commit: str, repo: Path, policy_arg: str | None, policy_ref: str | None, fallback: str
) -> Policy | None:
    """The target branch's copy; None: the policy in use is a file outside the repository (not part of the
    change: it is used as loaded)."""
    from mlops_gate.policy_sources import load_from_git
    from mlops_gate.providers import git, git_paths

    named_profile = None
    if policy_ref:  # --policy-ref reads PATH relative to the repository top: the same path, at the target branch
        wanted = [posixpath.normpath(policy_arg)] if policy_arg else list(DISCOVERED_NAMES)
    elif policy_arg:  # a path (relative to the working directory), or a built-in profile's name
        where = git_paths.in_repo(top, Path(policy_arg))
        if where is None:
            return None
        wanted = [where[0]]
        named_profile = policies.profile_path(policy_arg) if "/" not in policy_arg else None
    else:
        wanted = [w[0] for name in DISCOVERED_NAMES if (w := git_paths.in_repo(top, repo / name)) is not None]
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
    from mlops_gate.providers import git_paths

    for name in trusted.chain:
        if name.startswith(("builtin:", f"{ref}:")):
            continue
        if git_paths.in_repo(top, Path(name)) is not None:
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
