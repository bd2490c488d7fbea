"""Trust anchors: the files the policy names as keys and Sigstore trusted roots, read where the gate trusts them
(docs/security.md).

Not on a pull/merge request: from the working tree. On one: a path inside the repository is read from the
target branch's commit (`Context.inputs.anchors`, decided by mlops_gate.trust before anything is fetched),
never through a symbolic link and never from the working tree, so the request cannot add or replace a key;
a path outside the repository was put there by the environment and is read as it is.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mlops_gate.errors import FactError
from mlops_gate.providers import AnchorSource, Context, git, git_paths
from mlops_gate.target import Target


class AnchorError(FactError):
    """A trust anchor (a key file or trusted root the policy names) could not be read from where the gate trusts it."""


@dataclass(frozen=True)
class Anchor:
    """One trust anchor's bytes, where they were read from, and a note on them (e.g. the change has another copy)."""

    data: bytes
    source: str  # where it was read: `git origin/main:cosign.pub`, or a path
    note: str | None = None  # e.g. the change under review has another copy, which was not used


def read_anchor(
    root: Path, target: Target, anchors: AnchorSource | None, name: str, limit: int, kind: str = "key"
) -> Anchor:
    """A file the policy names as a trust anchor (`name` relative to the repository root `root`, or absolute),
    read as the module's docstring says; `anchors`: the target branch's commit on a pull/merge request;
    `kind` names it in messages ("key", "trusted root")."""
    path = Path(name) if Path(name).is_absolute() else root / name
    if target.event not in git.PR_EVENTS:
        return Anchor(_read(path, name, root, limit, kind), str(path))
    if anchors is None:
        raise AnchorError(
            f"{name}: on a pull/merge request trust anchors are read from the target branch, "
            "which this run did not resolve"
        )
    top, ref, commit = anchors.top, anchors.ref, anchors.commit
    where = git_paths.in_repo(top, path)
    if where is None:  # outside the repository: not part of the change
        return Anchor(_read(path, name, root, limit, kind), str(path))
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
            f"commit the {kind} as a regular file on the target branch",
        )
    if data is None:
        raise AnchorError(
            f"{name} is not on the target branch {ref} ({rel}): on a pull/merge request trust anchors are read "
            "from the target branch, so the request cannot add or replace one",
            f"merge the {kind} through a pull/merge request of its own first",
        )
    return Anchor(data, f"git {ref}:{rel}", _compare(path, rel, data, ref, limit))


def read_named(ctx: Context, name: str, limit: int, kind: str = "key") -> Anchor:
    """A trust anchor as the policy names it: relative to the policy file's folder (DESIGN.md's contract), else,
    as before that was honoured and for a built-in profile, to the repository root. Either is read as
    `read_anchor` says (on a pull/merge request: from the target branch)."""
    folder = _policy_folder(ctx)
    nearby: AnchorError | None = None
    if folder is not None and not Path(name).is_absolute():
        try:
            return read_anchor(ctx.root, ctx.target, ctx.inputs.anchors, str(folder / name), limit, kind)
        except AnchorError as exc:
            nearby = exc
    try:
        return read_anchor(ctx.root, ctx.target, ctx.inputs.anchors, name, limit, kind)
    except AnchorError as exc:
        if nearby is None:
            raise
        raise AnchorError(f"{exc.message}; nor next to the policy file: {nearby.message}", exc.hint) from None


def _policy_folder(ctx: Context) -> Path | None:
    """The folder of the policy file in use, when it is not the repository root (None for a built-in profile)."""
    files = ctx.inputs.policy.files
    if not files:
        return None
    folder = files[0].parent
    try:
        return None if folder.resolve() == ctx.root.resolve() else folder
    except OSError:
        return folder


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


def _read(path: Path, name: str, root: Path, limit: int, kind: str) -> bytes:
    """From the file system, at most `limit + 1` bytes of a regular file (never a device or a FIFO)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise AnchorError(f"cannot read {kind} file {name}: not a regular file")
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise AnchorError(f"cannot read {kind} file {name} (relative to {root}): {exc.strerror or exc}") from None


PUBLIC_GOOD = "public-good"  # in `trusted_roots`: the root shipped with sigstore-python
_STORE = ("_store", "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json")


def public_good_root(limit: int) -> Anchor:
    """The public-good Sigstore trusted root embedded in the installed sigstore-python package, read as a file
    (the package is not imported, and nothing is fetched or cached: it is as current as the installed
    release). AnchorError when sigstore is not installed."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("sigstore")
    if spec is None or not spec.submodule_search_locations:
        raise AnchorError(
            "the public-good trusted root ships with sigstore-python, which is not installed",
            "pip install 'mlops-gate[sigstore]'",
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_STORE)
    version = importlib.metadata.version("sigstore")
    return Anchor(_read(path, PUBLIC_GOOD, path.parent, limit, "trusted root"), f"sigstore {version} {path.name}")
