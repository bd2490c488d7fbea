"""policy checks: a pull request cannot weaken the gate that judges it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from mlops_gate.checks._common import request_word
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.policy_file import PolicyCopy, PolicyFiles
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

MAX_CHANGES = 20


@check(
    "policy.unchanged",
    title="The policy file is the target branch's copy",
    severity=Severity.CRITICAL,
    needs=("policy_file",),
)
def policy_unchanged(facts: Facts, params: Any, target: Target) -> Iterator[Outcome]:
    """On a pull/merge request, the policy file in use — and every repository file it `extends` — must
    be identical to the copy on the branch the request targets. A pull request could edit the policy it is
    judged by (lower a severity, disable a check, add a waiver, point `target:` at its own hosts); the gate
    therefore judges every pull/merge request with the target branch's copy (docs/security.md), and this
    check reports the edit, which blocks until it has been merged through the target branch's own gate.

    - not a pull/merge request: passes ("not a pull request");
    - `--policy-ref REF`: passes when REF is the target branch's commit; any other ref (`HEAD`, the
      request's own branch, ...) fails — the request could have changed the policy there;
    - the target branch has a policy file (a discovered name, or the `--policy` path) that the request's
      tree no longer has: fails — deleting the policy would fall back to a built-in profile;
    - a built-in profile (`default`, `strict`) and nothing deleted: passes — nothing in the repository to edit;
    - the target branch has no copy (the request adds the policy): fails;
    - the copies differ: fails, with one violation per changed block;
    - the policy file, a file it extends, or a folder above one is a symbolic link in the working tree or on
      the target branch: fails — the file is compared by the path written in the repository, never through a
      link (which could point the run at another, lenient file that the target branch has unchanged).

    The comparison uses git only (no API): the target branch must be in the clone. When it is not (a
    shallow checkout), it is fetched once from `origin` (`git fetch --depth=1`, 30 s at most); if that fails
    too — with `actions/checkout` use `fetch-depth: 0`, elsewhere `git fetch origin <branch>` — the check
    ends in error. On a pull/merge request the check's `enabled`, `severity` and waivers come from the
    target branch's policy only: the request's own policy cannot switch it off or waive it.
    """
    pf = facts.policy_file
    # the file's name, not the machine's absolute path: a stable subject for waivers and reports
    where = f"policy:{pf.source if pf.source.startswith('builtin:') else PurePath(pf.source).name}"
    word = request_word(target.platform)
    if not pf.pull_request:
        yield Outcome(where, f"not a {word}: nothing to compare")
        return
    branch = pf.base_branch or "?"
    if pf.policy_ref:
        yield _judge_ref(where, pf, branch, word)
        return
    for rel in pf.deleted:
        using = where.removeprefix("policy:").removeprefix("builtin:")
        msg = (
            f"{rel} is on {branch} but the {word} deletes it: the run falls back to {using}; "
            f"policy changes must be merged before they can judge a {word}"
        )
        yield Outcome(f"file:{rel}", msg, (Violation(msg),), (f"git {pf.base_ref}:{rel} exists",))
    if not pf.files:
        if pf.deleted:
            return
        yield Outcome(
            where, f"built-in profile {pf.source.removeprefix('builtin:')}: no policy file in the repository to change"
        )
        return
    for copy in pf.files:
        yield _judge(copy, branch, word)


def _judge_ref(where: str, pf: PolicyFiles, branch: str, word: str) -> Outcome:
    ref, base = pf.policy_ref, pf.base_ref or branch
    evidence = (f"git {ref} = {pf.policy_ref_commit or '?'}", f"git {base} = {pf.base_commit or '?'}")
    if pf.policy_ref_commit and pf.policy_ref_commit == pf.base_commit:
        return Outcome(
            where,
            f"policy loaded from the git ref {ref} (--policy-ref), the target branch {branch}'s "
            f"commit: the {word} cannot have changed it",
            evidence=evidence,
        )
    msg = (
        f"the policy was read from the git ref {ref} (--policy-ref, commit {(pf.policy_ref_commit or '?')[:12]}), "
        f"which is not the target branch {branch} ({base} is at {(pf.base_commit or '?')[:12]}): the {word} "
        f"may have changed it; use --policy-ref {base}"
    )
    return Outcome(where, msg, (Violation(msg),), evidence)


def _judge(copy: PolicyCopy, branch: str, word: str) -> Outcome:
    subject = f"file:{copy.path}"
    evidence = (f"compared with git {copy.base_ref}:{copy.path}",)
    if copy.links:
        return _judge_links(subject, copy, branch)
    if not copy.in_base:
        msg = f"{copy.path} is not on {branch}: the {word} adds the policy it is judged by"
        return Outcome(subject, msg, (Violation(msg, Location(copy.path, 1)),), evidence)
    if copy.identical:
        return Outcome(subject, f"identical to {copy.base_ref}", evidence=evidence)
    added = sum(c.added for c in copy.changes)
    removed = sum(c.removed for c in copy.changes)
    violations = tuple(
        Violation(f"changed from {copy.base_ref}: +{c.added} -{c.removed} lines", Location(copy.path, max(c.line, 1)))
        for c in copy.changes[:MAX_CHANGES]
    )
    if len(copy.changes) > MAX_CHANGES:
        violations += (Violation(f"... and {len(copy.changes) - MAX_CHANGES} more changed blocks"),)
    if not violations:  # only line endings or a trailing newline differ
        violations = (Violation(f"differs from {copy.base_ref} (whitespace only)", Location(copy.path, 1)),)
    return Outcome(
        subject,
        f"{copy.path} differs from {copy.base_ref}: {len(copy.changes)} changed blocks, +{added} -{removed} lines; "
        f"policy changes must be merged before they can judge a {word}",
        violations,
        evidence,
    )


def _judge_links(subject: str, copy: PolicyCopy, branch: str) -> Outcome:
    violations = tuple(
        Violation(
            f"{link.path} is a symbolic link "
            f"{'in the working tree' if link.where == 'working tree' else 'on ' + link.where} "
            f"(-> {link.target})",
            Location(copy.path, 1),
        )
        for link in copy.links
    )
    names = ", ".join(dict.fromkeys(link.path for link in copy.links))
    what = "is a symbolic link" if names == copy.path else f"is or is below a symbolic link ({names})"
    msg = (
        f"{copy.path} {what}: the policy file, every file it extends and the folders above them must be regular "
        f"files and folders, compared by path with {branch} (a link can make the run read another file)"
    )
    evidence = tuple(f"{link.where}: {link.path} -> {link.target}" for link in copy.links)
    return Outcome(subject, msg, violations, evidence)
