"""Git, read with the `git` command (no API): tags, refs, files and symbolic links at a ref, where a path is in
the repository. The only network access is one bounded `git fetch` of a pull request's target branch from
`origin` when the clone does not have it (a shallow CI checkout). Used by the policy_file provider, the
trust boundary (mlops_gate.trust), --policy-ref and audit --release. The target branch of a pull/merge request
(and that one fetch) is in mlops_gate.providers.git_branches.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_gate.errors import FactError, UsageError
from mlops_gate.providers.git_paths import absolute, in_repo

PR_EVENTS = ("pull_request", "merge_request")
# Every git command: nothing a checkout can hold runs or steers git. The working tree (which a pull request
# controls) can hold a folder that looks like a git directory (HEAD, objects/, refs/, config) — an embedded
# bare repository, whose config (core.fsmonitor, hooks, ...) would run commands and whose refs would be
# taken for the target branch: refused (safe.bareRepository=explicit), and the repository is pinned to the
# checkout's own .git (see `checkout`). Hooks, fsmonitor, submodule recursion and automatic maintenance are
# off; no command here applies textconv, filters or an external diff (cat-file/ls-tree/rev-parse only).
# The system and global configuration (safe.directory, credentials, proxies) belong to the runner.
HARDENED = (
    "-c",
    "safe.bareRepository=explicit",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "submodule.recurse=false",
    "-c",
    "fetch.recurseSubmodules=false",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "protocol.ext.allow=never",
)
_DISCOVERY_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class GitError(FactError):
    """git could not answer (not installed, not a repository, unknown ref)."""


@dataclass(frozen=True)
class Checkout:
    """The repository a folder is in, as git answers for it: its top folder and its own git directory (the
    `.git` folder of the top, or what a `.git` file there names: a worktree, a submodule). `via_link`: the
    first symbolic link on the way from the top down to the folder as given, or the folder itself when it is
    not below the top as written — that folder is then reached through a link the checkout may control."""

    top: Path
    git_dir: Path
    via_link: str | None = None


_CHECKOUTS: dict[str, Checkout] = {}
_CHECKOUTS_LOCK = threading.Lock()


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DISCOVERY_VARS}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_PAGER="cat", GIT_NO_REPLACE_OBJECTS="1")
    env.update(extra or {})
    return env


def _run(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float, what: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", *HARDENED, *argv], cwd=cwd, capture_output=True, timeout=timeout, env=dict(env), check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed", "install git, or run where it is on PATH") from None
    except NotADirectoryError:
        raise GitError(f"{cwd} is not a directory") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {what} timed out in {cwd}") from None
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip()
        raise GitError(f"git {what} failed in {cwd}: {error or done.returncode}")
    return done.stdout


def checkout(repo: Path) -> Checkout:
    """The repository `repo` is in, found once per process and checked: never a bare repository nor a folder
    that only looks like a git directory (which a pull request can commit), and the git directory must be
    the top folder's own `.git`. GitError otherwise."""
    key = str(absolute(repo))
    with _CHECKOUTS_LOCK:
        hit = _CHECKOUTS.get(key)
    if hit is not None:
        return hit
    out = _run(["rev-parse", "--show-toplevel", "--absolute-git-dir"], repo, _env(), 60, "rev-parse").decode()
    lines = out.splitlines()
    if len(lines) != 2:
        raise GitError(f"git rev-parse gave no work tree for {repo}")
    top, git_dir = Path(lines[0]), Path(lines[1])
    own = _own_git_dir(top)
    if own is None or own.resolve() != git_dir.resolve():
        raise GitError(
            f"{repo}: git answers with the git directory {git_dir}, not the .git of the checkout {top}",
            "run the gate on the checkout itself: a folder of the change that looks like a git directory "
            "(HEAD, objects/, refs/, config) is never a repository the gate reads",
        )
    found = Checkout(top, git_dir, _link_on_the_way(top, repo))
    # the top folder is in the same checkout, as git would answer again from there (the run asks for it next)
    at_top = found if str(absolute(top)) == key else Checkout(top, git_dir, _link_on_the_way(top, top))
    with _CHECKOUTS_LOCK:
        _CHECKOUTS[key] = found
        _CHECKOUTS.setdefault(str(absolute(top)), at_top)
    return found


def _own_git_dir(top: Path) -> Path | None:
    """The git directory of the work tree at `top`: its `.git` folder, or the folder a `.git` file names."""
    dotgit = top / ".git"
    if dotgit.is_dir():
        return dotgit
    if not dotgit.is_file():
        return None
    try:
        first = dotgit.read_text(encoding="utf-8", errors="replace")[:4096].splitlines()[:1]
    except OSError:
        return None
    if not first or not first[0].startswith("gitdir: "):
        return None
    named = Path(first[0][len("gitdir: ") :].strip())
    return named if named.is_absolute() else top / named


def _link_on_the_way(top: Path, repo: Path) -> str | None:
    """The first symbolic link on the way to `repo` as written that a checkout could hold: below the top, or
    above it inside another work tree (a link out of a checkout to another repository); `repo` itself when
    it does not lie below the top as written. Links above the top outside any work tree are the runner's."""
    parts = absolute(repo).parts
    real_top = top.resolve()
    at = next(
        (
            n
            for n in range(len(parts), 0, -1)
            if (Path(*parts[:n]) / ".git").exists() and Path(*parts[:n]).resolve() == real_top
        ),
        None,
    )
    if at is None:
        return str(repo)
    for n in range(2, len(parts) + 1):
        step = Path(*parts[:n])
        below = n > at
        if (below and parts[n - 1] == "..") or (step.is_symlink() and (below or _in_work_tree(step.parent))):
            return str(step)
    return None


def _in_work_tree(folder: Path) -> bool:
    return any((p / ".git").exists() for p in (folder, *folder.parents))


def git(repo: Path, *args: str, timeout: float = 60) -> str:
    """`git ARGS` in the checkout `repo` is in (see `checkout`), with its git directory and top pinned."""
    return _git_bytes(repo, *args, timeout=timeout).decode(errors="surrogateescape")


def _git_bytes(repo: Path, *args: str, timeout: float = 60) -> bytes:
    try:
        co = checkout(repo)
    except GitError as exc:
        raise GitError(f"git {' '.join(args)}: {exc.message}", exc.hint) from None
    env = _env({"GIT_DIR": str(co.git_dir), "GIT_WORK_TREE": str(co.top)})
    return _run(list(args), co.top, env, timeout, " ".join(args))


def toplevel(repo: Path) -> Path:
    try:
        return checkout(repo).top
    except GitError as exc:
        raise GitError(
            f"{repo} is not a git repository ({exc.message})",
            exc.hint or "run the gate inside the checked-out repository",
        ) from None


def tracked(repo: Path, path: Path) -> bool | None:
    """Whether `path` is a file of the commit checked out in `repo` (HEAD); None when `repo` is not a git
    repository the gate can read (see `checkout`)."""
    try:
        top = checkout(repo).top
    except GitError:
        return None
    where = in_repo(top, path)
    if where is None:
        return False
    try:
        git(top, "cat-file", "-e", f"HEAD:{where[0]}")
    except GitError:
        return False
    return True


def superproject(repo: Path) -> str | None:
    """The repository `repo`'s checkout is a submodule of, or None: a submodule's content, history and
    `origin` come from the superproject's `.gitmodules` and commit — on a pull request, from the request."""
    return git(repo, "rev-parse", "--show-superproject-working-tree").strip() or None


def ref_exists(repo: Path, ref: str) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def resolve_tag(repo: Path, tag: str) -> str:
    """The commit a tag (annotated or lightweight) points to; UsageError when there is no such tag."""
    if tag.startswith("-") or not tag.strip():
        raise UsageError(f"--release {tag!r}: not a tag name")
    try:
        toplevel(repo)
    except GitError as exc:
        raise UsageError(f"--release {tag}: {exc.message}", exc.hint) from None
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}").strip()
    except GitError:
        raise UsageError(
            f"--release {tag}: no such tag in {repo}",
            "list the tags with `git tag`; in CI fetch them (`git fetch --tags`, or `fetch-depth: 0`)",
        ) from None


def show(repo: Path, ref: str, path: str) -> str | None:
    """The file at `ref:path` (path relative to the repository root), or None when it is not there (read as
    stored: no textconv, no filters)."""
    try:
        if git(repo, "cat-file", "-t", f"{ref}:{path}").strip() != "blob":
            return None
    except GitError:
        return None
    return git(repo, "cat-file", "blob", f"{ref}:{path}")


def blob(repo: Path, ref: str, path: str, limit: int) -> bytes | None:
    """The bytes of the regular file `ref:path` (None when there is none); GitError when it is larger than
    `limit`. The caller refuses symbolic links first (links_at): git would give the link's text."""
    try:
        if git(repo, "cat-file", "-t", f"{ref}:{path}").strip() != "blob":
            return None
        size = int(git(repo, "cat-file", "-s", f"{ref}:{path}"))
    except (GitError, ValueError):
        return None
    if size > limit:
        raise GitError(f"{ref}:{path} is {size} bytes, more than the {limit} allowed")
    return _git_bytes(repo, "cat-file", "blob", f"{ref}:{path}")[: limit + 1]


def same_name_refs(repo: Path, ref: str) -> list[str]:
    """Every ref a short name can mean (git takes a tag before a branch, and a branch before a remote-tracking
    branch): a pushed tag `main` would shadow the branch `main`. More than one: ambiguous."""
    if ref.startswith("refs/"):
        return [ref]
    wanted = [f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}", f"refs/remotes/{ref}", f"refs/remotes/{ref}/HEAD"]
    try:
        out = git(repo, "for-each-ref", "--format=%(refname)", *wanted)
    except GitError:
        return []
    found = set(out.splitlines())
    return [name for name in wanted if name in found]  # in git's order of precedence


def commit_of(repo: Path, ref: str) -> str:
    """The commit a ref resolves to (GitError when it does not)."""
    return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()


def links_at(repo: Path, ref: str, rel: str) -> tuple[tuple[str, str], ...]:
    """The symbolic links (mode 120000) at `ref` on the way to `rel` — the file itself or a folder above it —
    each with what it points to."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    out = git(repo, "--literal-pathspecs", "ls-tree", "-t", "-z", ref, "--", *prefixes)
    links = []
    for entry in filter(None, out.split("\0")):
        meta, _, name = entry.partition("\t")
        if meta.split()[0] == "120000" and name in prefixes:
            links.append((name, git(repo, "cat-file", "blob", meta.split()[2])))
    return tuple(links)
