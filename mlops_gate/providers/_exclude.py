"""Files the repository's owners keep out of the gate: the policy's `exclude:` globs (vendored code, examples,
fixtures) and, when the repository is a git checkout, what git ignores (`.gitignore`, `.git/info/exclude`,
the global excludes file): untracked files git would never commit, such as build output or a local venv.

A tracked file is never left out by git's rules (only `--others --ignored` files are); the policy's globs
leave out any file. Every file left out is listed with why: each fact kind names those among its candidates
(RepoFiles.skipped), and the checks show them in their evidence.

Glob syntax: paths relative to the repository root, `*` and `?` within one folder, `**` across folders; a
pattern that matches a folder leaves out everything under it (`vendor`, `vendor/`, `examples/**`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mlops_gate.errors import GateError
from mlops_gate.providers import Context

Walked = tuple[list[str], frozenset[str], frozenset[str], frozenset[str]]  # as providers/_repo walks
MAX_IGNORED = 100_000  # entries of git's answer read; past it, the rest is judged (never silently dropped)
GIT_TIMEOUT = 20.0


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A policy `exclude:` glob as a regex over a path or any of its folders."""
    p = pattern.strip().removeprefix("./").strip("/")
    out, i = [], 0
    while i < len(p):
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def apply(ctx: Context, walked: Walked) -> Walked:
    """The walk less the files left out, which are recorded with why. Called once per run, by the walk, with
    `ctx.shared.lock` held."""
    paths, _, escaped, links = walked
    out: dict[str, str] = {}
    rules = [(g, glob_regex(g)) for g in ctx.inputs.exclude if g.strip()]
    for rel in paths:
        hit = next((g for g, rx in rules if rx.fullmatch(rel)), None)
        if hit is not None:
            out[rel] = f"excluded by the policy ({hit})"
    for rel in _ignored(ctx, [p for p in paths if p not in out]):
        out[rel] = "ignored by git (.gitignore), so never committed"
    ctx.shared.cache["excluded"] = out
    if not out:
        return walked
    kept = [p for p in paths if p not in out]
    return kept, frozenset(kept), escaped - out.keys(), links - out.keys()


def _ignored(ctx: Context, paths: list[str]) -> list[str]:
    """The untracked files git ignores, among `paths` (none when the root is not a git checkout)."""
    if not paths:
        return []
    from mlops_gate.providers import git

    try:
        top = git.toplevel(ctx.root).resolve()
        listed = git.git(
            ctx.root,
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
            "--",
            str(ctx.root.resolve()),
            timeout=GIT_TIMEOUT,
        )
    except GateError:
        return []  # not a git checkout (or git cannot say): nothing is ignored
    real = ctx.root.resolve()
    folders, files = [], set()
    for n, name in enumerate(filter(None, listed.split("\0"))):
        if n >= MAX_IGNORED:
            break
        full = top / name
        if not full.is_relative_to(real):
            continue
        rel = full.relative_to(real).as_posix()
        if name.endswith("/"):
            folders.append(rel.rstrip("/") + "/")
        else:
            files.add(rel)
    return [p for p in paths if p in files or any(p.startswith(f) for f in folders)]


def skipped(ctx: Context, wanted: Callable[[str], bool]) -> tuple[str, ...]:
    """`path: why` for each left-out file a fact kind would have taken as a candidate."""
    with ctx.shared.lock:
        cached = ctx.shared.cache.get("excluded")
    gone = cached if isinstance(cached, dict) else {}
    return tuple(f"{rel}: {why}" for rel, why in sorted(gone.items()) if wanted(rel))
