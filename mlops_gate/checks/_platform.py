"""Helpers the platform checks share: which branches a check judges, subjects, and the rule that a
field the provider could not read (None) makes the result an error, never a pass."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from mlops_gate.facts import Facts
from mlops_gate.facts.platform import BranchProtection, BranchProtections
from mlops_gate.model import Outcome, Violation
from mlops_gate.target import Target

DEFAULT = "@default"  # in a scope: the repository's default branch


def branch_scope(branches: Iterable[str]) -> Mapping[str, Iterable[str]]:
    return {"branch_protection": tuple(branches) or (DEFAULT,)}


VCS_TARGET = ("platform", "repository")  # what the vcs checks need of the target


def branches_scope(params: Any, target: Target) -> Mapping[str, Any]:
    """The scope of a check with a `branches` param: the branch protection of those branches."""
    return branch_scope(params.branches)


def not_protected(b: BranchProtection) -> tuple[str, list[Violation], list[str]]:
    return f"{b.branch} is not protected", [Violation(f"branch {b.branch} has no protection in force")], []


def subject(platform: str, repository: str, ref: str) -> str:
    return f"{platform}:{repository}@{ref}"


def selected(facts: BranchProtections, patterns: Iterable[str]) -> tuple[list[BranchProtection], list[str]]:
    """The branches this check judges, and the requested names/globs that matched none."""
    wanted = [facts.default_branch or DEFAULT if p == DEFAULT else p for p in (tuple(patterns) or (DEFAULT,))]
    chosen = [b for b in facts.branches if any(fnmatch.fnmatchcase(b.branch, p) for p in wanted)]
    missing = [p for p in wanted if not any(fnmatch.fnmatchcase(b.branch, p) for b in facts.branches)]
    return chosen, missing


def for_branches(facts: Facts, patterns: tuple[str, ...], judge: Any) -> Iterable[Outcome]:
    """Run `judge(branch) -> (message, violations, unknown)` on every selected branch."""
    bp = facts.branch_protection
    chosen, missing = selected(bp, patterns)
    for pattern in missing:
        is_glob = any(c in pattern for c in "*?[")
        yield Outcome(
            subject(bp.platform, bp.repository, pattern),
            f"no branch matches {pattern}" if is_glob else f"branch {pattern} does not exist",
            violations=() if is_glob else (Violation(f"branch {pattern} not found in {bp.repository}"),),
            evidence=bp.notes,
        )
    for b in chosen:
        if b.protected is None:
            why = "; ".join(b.notes) or "the platform did not say"
            yield Outcome(
                subject(bp.platform, bp.repository, b.branch),
                f"{b.branch}: protection unknown",
                error=f"could not read whether {b.branch} is protected: {why}",
                evidence=b.notes,
            )
            continue
        message, violations, unknown = judge(b)
        yield outcome(subject(bp.platform, bp.repository, b.branch), b, message, violations, unknown)


def outcome(subj: str, b: BranchProtection, message: str, violations: list[Violation], unknown: list[str]) -> Outcome:
    """Definite violations fail; otherwise anything unread is an error naming what and why; else pass."""
    evidence = tuple(f"read from {s}" for s in b.sources) + ((b.url,) if b.url else ()) + b.notes
    if violations:
        return Outcome(subj, message, violations=tuple(violations), evidence=evidence)
    if unknown:
        why = "; ".join(b.notes) or "the platform did not report them"
        return Outcome(
            subj, message, evidence=evidence, error=f"could not read {', '.join(unknown)} for {b.branch}: {why}"
        )
    return Outcome(subj, message, evidence=evidence)


def target_ref(target: Target) -> str:
    return target.base_branch or DEFAULT
