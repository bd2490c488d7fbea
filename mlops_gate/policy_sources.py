"""The policy from elsewhere than the working tree: as applied in an evidence bundle, and as it is at a git
ref (`--policy-ref`, and the target branch's copy that judges a pull request: see mlops_gate.trust)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mlops_gate import typed, yamlio
from mlops_gate.catalogue import catalogue
from mlops_gate.errors import PolicyError
from mlops_gate.model import Severity, Waiver
from mlops_gate.policies import DISCOVERED_NAMES
from mlops_gate.policy import CheckConfig, Confine, Policy, digest_of, load
from mlops_gate.target import Target
from mlops_gate.waivers import waiver_problem

GUARD_CHECK = "policy.unchanged"


def from_applied(data: Any, source: str, where: str = "policy") -> Policy:
    """Rebuild a Policy from `applied()` data (an evidence bundle). Checks the bundle does not name (added
    to mlops-gate since) are disabled, so that the replay judges what the original run judged."""
    known = catalogue().checks
    try:
        if not isinstance(data, dict) or not isinstance(data.get("checks"), dict):
            raise typed.DataError(where, "expected the policy as applied (fail_on, target, checks, waivers)")
        checks = {}
        for cid, spec in known.items():
            entry = data["checks"].get(cid)
            if entry is None:
                checks[cid] = CheckConfig(False, spec.severity, spec.params())
                continue
            path = f"{where}.checks.{cid}"
            if not isinstance(entry, dict):
                raise typed.DataError(path, "expected a mapping")
            checks[cid] = CheckConfig(
                typed.from_data(bool, entry.get("enabled"), f"{path}.enabled"),
                typed.from_data(Severity, entry.get("severity"), f"{path}.severity"),
                typed.from_data(spec.params, entry.get("params") or {}, f"{path}.params"),
            )
        unknown = sorted(set(data["checks"]) - set(known))
        if unknown:
            raise typed.DataError(f"{where}.checks", f"unknown check ids {', '.join(unknown)} (plugins not installed?)")
        policy = Policy(
            source=source,
            chain=(source,),
            fail_on=typed.from_data(Severity, data.get("fail_on"), f"{where}.fail_on"),
            target=typed.from_data(Target, data.get("target") or {}, f"{where}.target"),
            checks=checks,
            waivers=typed.from_data(tuple[Waiver, ...], data.get("waivers") or [], f"{where}.waivers"),
        )
        for i, w in enumerate(policy.waivers):  # as a policy file would have to write them
            problem = waiver_problem(w)
            if problem is not None:
                raise typed.DataError(f"{where}.waivers[{i}].{problem[0]}", problem[1])
    except typed.DataError as exc:
        raise PolicyError(f"{source}: {exc}") from None
    return dataclasses.replace(policy, digest=digest_of(policy))


def load_from_git(
    repo: Path,
    ref: str,
    path: str | None,
    origin: str = "--policy-ref",
    shown: str | None = None,
    outside: frozenset[str] | None = None,
) -> Policy:
    """Load the policy file as it is at a git ref (with every repository file it extends, read at the same
    ref), so that the working tree — a pull request — cannot change it. `path` is relative to the
    repository root; None: the first of DISCOVERED_NAMES present at the ref. `shown`: how the ref is named
    in labels and messages (default: `ref`; e.g. the branch name when `ref` is the commit it was resolved to).
    `outside`: the only files outside the repository it may extend (None: any, for a trusted ref)."""
    import posixpath
    import tempfile

    from mlops_gate.providers import git, git_branches

    top = git.toplevel(repo)
    shown = shown or ref
    if not git.ref_exists(top, ref):
        raise PolicyError(
            f"{origin} {shown}: no such ref in {top}", git_branches.fetch_hint(ref.removeprefix("origin/"), {})
        )
    same = git.same_name_refs(top, ref)
    if len(same) > 1:
        branch = next((n for n in same if n.startswith(("refs/heads/", "refs/remotes/"))), same[0])
        raise PolicyError(
            f"{origin} {shown} is ambiguous: {', '.join(same)} (git would take the first)",
            f"name the ref in full, e.g. {origin} {branch}",
        )
    names = [path] if path else list(DISCOVERED_NAMES)
    found = next(((n, t) for n in names if (t := git.show(top, ref, posixpath.normpath(n))) is not None), None)
    if found is None:
        raise PolicyError(
            f"{origin} {shown}: no policy file at that ref (looked for {', '.join(names)})",
            "commit the policy there, or name it with --policy PATH (relative to the repository)",
        )
    files = {posixpath.normpath(found[0]): found[1]}
    current = posixpath.normpath(found[0])
    _no_links(top, ref, current, origin, shown)
    while len(files) < 20:  # follow `extends` through repository files at the same ref
        try:
            docs = yamlio.load(files[current]).documents
        except yamlio.YamlSyntaxError:
            break  # load() below reports it with the line
        ext = docs[0].get("extends") if docs and isinstance(docs[0], dict) else None
        if not isinstance(ext, str):
            break
        nxt = posixpath.normpath(posixpath.join(posixpath.dirname(current), ext))
        if nxt in files or nxt.startswith("../") or posixpath.isabs(nxt):
            break  # outside the repository: load() reads it from the file system (where allowed)
        _no_links(top, ref, nxt, origin, shown)
        text = git.show(top, ref, nxt)
        if text is None:
            break  # a built-in profile, or a missing file that load() reports
        files[nxt], current = text, nxt
    with tempfile.TemporaryDirectory(prefix="mlops-gate-policy-") as tmp:
        for rel, text in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(text, encoding="utf-8")
        label = {str(Path(tmp) / rel): f"{shown}:{rel}" for rel in files}
        try:
            confine = None if outside is None else Confine(Path(tmp), outside)
            policy = load(Path(tmp) / posixpath.normpath(found[0]), origin=origin, confine=confine)
        except PolicyError as exc:
            message = exc.message
            for tmp_path, name in label.items():
                message = message.replace(tmp_path, name)
            raise PolicyError(message.replace(tmp, f"{shown}:"), exc.hint) from None
    chain = tuple(label.get(c, c) for c in policy.chain)
    return dataclasses.replace(policy, source=chain[0], chain=chain)


def _no_links(top: Path, ref: str, rel: str, origin: str, shown: str) -> None:
    """A policy file read at a ref is never a symbolic link (nor below one): git would give the link's text."""
    from mlops_gate.providers import git

    links = git.links_at(top, ref, rel)
    if links:
        names = ", ".join(f"{name} -> {target}" for name, target in links)
        raise PolicyError(
            f"{origin} {shown}: {rel} is or is below a symbolic link ({names})",
            "commit the policy (and every file it extends) as regular files",
        )
