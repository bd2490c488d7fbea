"""Fact types read with git (filled in by mlops_gate.providers.git)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyChange:
    """One changed block of the policy file: where it is in the pull request's copy."""

    line: int  # 1-based, in the pull request's copy
    added: int
    removed: int


@dataclass(frozen=True)
class PolicyLink:
    """A symbolic link on the way to a policy file: the file itself, or a folder above it."""

    path: str  # relative to the repository root, '/'-separated, as written (never resolved)
    where: str  # "working tree", or the ref of the target branch that has it (e.g. origin/main)
    target: str  # what it points to


@dataclass(frozen=True)
class PolicyCopy:
    """One policy file of the run (the policy and every repository file it extends)."""

    path: str  # relative to the repository root, '/'-separated
    base_ref: str  # the ref it was compared with, e.g. origin/main
    in_base: bool  # the target branch has this file
    identical: bool
    changes: tuple[PolicyChange, ...] = ()
    # symbolic links on the way to it, in the working tree or on the target branch: the copies are not compared
    links: tuple[PolicyLink, ...] = ()


@dataclass(frozen=True)
class PolicyFiles:
    """The policy in use, and on a pull/merge request how it compares with the target branch's copy."""

    source: str  # as the run loaded it: a path, `builtin:NAME`, or `REF:PATH` (--policy-ref)
    pull_request: bool
    base_branch: str | None = None
    policy_ref: str | None = None  # the policy was loaded from this git ref (--policy-ref)
    base_ref: str | None = None
    files: tuple[PolicyCopy, ...] = ()
    # policy files the target branch has but the pull request's tree no longer has (deleted or renamed away)
    deleted: tuple[str, ...] = ()
    # --policy-ref on a pull/merge request: the commit the ref resolves to, and the target branch's commit
    policy_ref_commit: str | None = None
    base_commit: str | None = None
