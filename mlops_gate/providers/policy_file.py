"""The `policy_file` fact kind: the policy file in use compared with the copy on the branch a pull/merge request
targets (policy.unchanged), read with git (mlops_gate.providers.git)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_gate.providers import Context, Meter
from mlops_gate.providers.git import (
    PR_EVENTS,
    GitError,
    commit_of,
    links_at,
    show,
    toplevel,
)
from mlops_gate.providers.git_branches import fetch_hint, target_branch
from mlops_gate.providers.git_paths import in_repo

# the fact types are imported where they are built: only a run of policy.unchanged reads the policy_file kind
if TYPE_CHECKING:
    from mlops_gate.facts.policy_file import PolicyCopy, PolicyFiles


def deleted_policies(
    top: Path,
    ref: str,
    candidates: list[Path],
    in_use: tuple[str, ...] = (),
    meter: Meter | None = None,
    shown: str | None = None,
) -> list[str]:
    """The policy files the target branch `ref` has that the pull request's tree does not (deleted, renamed
    away, or replaced by a dangling link): the `candidates` (working-tree paths the policy would be read from)
    not in use (`in_use`: paths relative to the top) and not a file here, relative to the repository top."""
    deleted: list[str] = []
    for path in candidates:
        where = in_repo(top, path)
        if where is None or where[0] in in_use or where[0] in deleted or path.is_file():
            continue  # outside the repository: no copy on the target branch
        if meter is not None:
            meter.read(f"git:{shown or ref}:{where[0]}")
        if show(top, ref, where[0]) is not None:
            deleted.append(where[0])
    return deleted


def policy_file(ctx: Context) -> PolicyFiles:
    from mlops_gate.facts.policy_file import PolicyCopy, PolicyFiles, PolicyLink

    tgt = ctx.target
    given = ctx.inputs.policy
    source, ref = given.source, given.ref
    candidates = list(given.candidates)
    is_pr = tgt.event in PR_EVENTS
    nothing = PolicyFiles(source=source, pull_request=is_pr, base_branch=tgt.base_branch, policy_ref=ref)
    if not is_pr or (ref is None and not given.files and not candidates):
        return nothing
    if not tgt.base_branch:
        raise GitError(
            "a pull/merge request without a known target branch: cannot compare the policy with it",
            "run in CI (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, SYSTEM_PULLREQUEST_TARGETBRANCH) "
            "or pass --base-branch",
        )
    top = toplevel(ctx.root)
    base = target_branch(top, tgt.base_branch, given.head_branch, given.base_from_ci, fetch=False)
    if base is None:
        base = target_branch(top, tgt.base_branch, given.head_branch, given.base_from_ci, fetch=True)
        ctx.meter.read(f"git fetch origin {tgt.base_branch}", requests=1)
    if base is None:
        raise GitError(
            f"the target branch {tgt.base_branch} is not in the clone (tried origin/{tgt.base_branch}, "
            f"{tgt.base_branch}, and fetching it from origin): cannot compare the policy with it",
            fetch_hint(tgt.base_branch, ctx.env),
        )
    found, at = base  # as named in reports; the commit every read is made at
    if ref is not None:  # --policy-ref: only the target branch itself is out of the pull request's reach
        ctx.meter.read(f"git:{ref}")
        try:
            ref_commit = commit_of(top, ref)
        except GitError:
            raise GitError(f"--policy-ref {ref}: no such ref in {top}") from None
        return PolicyFiles(source, True, tgt.base_branch, ref, found, policy_ref_commit=ref_commit, base_commit=at)
    copies: dict[str, PolicyCopy] = {}
    for path in given.files:
        where = in_repo(top, path)
        if where is None:
            raise GitError(
                f"the policy file {path} is outside the repository {top}: a pull request's own copy cannot be "
                "compared with the target branch",
                "keep the policy in the repository, or load it with --policy-ref",
            )
        rel, mine = where
        if rel in copies:
            continue
        ctx.meter.read(f"git:{found}:{rel}")
        links = tuple(PolicyLink(link, "working tree", _readlink(top, link)) for link in mine)
        links += tuple(PolicyLink(link, found, target) for link, target in links_at(top, at, rel))
        if links:  # never read through a link: the copy compared would not be the file the path names
            copies[rel] = PolicyCopy(rel, found, in_base=False, identical=False, links=links)
            continue
        copies[rel] = _compare(rel, path.read_text(encoding="utf-8"), show(top, at, rel), found)
    deleted = deleted_policies(top, at, candidates, tuple(copies), ctx.meter, found)
    return PolicyFiles(source, True, tgt.base_branch, None, found, tuple(copies.values()), tuple(deleted))


def _readlink(top: Path, rel: str) -> str:
    try:
        return os.readlink(top / rel)
    except OSError:
        return "?"


def _compare(rel: str, mine: str, theirs: str | None, ref: str) -> PolicyCopy:
    from mlops_gate.facts.policy_file import PolicyChange, PolicyCopy

    if theirs is None:
        return PolicyCopy(rel, ref, in_base=False, identical=False)
    if theirs == mine:
        return PolicyCopy(rel, ref, in_base=True, identical=True)
    changes = []
    import difflib

    matcher = difflib.SequenceMatcher(a=theirs.splitlines(), b=mine.splitlines(), autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            changes.append(PolicyChange(line=b1 + 1, added=b2 - b1, removed=a2 - a1))
    return PolicyCopy(rel, ref, in_base=True, identical=False, changes=tuple(changes))
