"""Small helpers the file checks share: subjects and locations."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from mlops_gate.facts.files import NOT_READ, RepoFiles, SourceFile
from mlops_gate.model import Location, Outcome, Violation
from mlops_gate.target import Target, subject_name


def repo_subject(target: Target, files: RepoFiles) -> str:
    """`repo:<owner/name or directory name>`: the subject of a repository-wide file check."""
    return f"repo:{subject_name(target, files.root)}"


def request_word(platform: str | None, paths: Iterable[str] = ()) -> str:
    """What the platform calls a change under review: a merge request on GitLab (the target's platform, else a
    repository whose only CI file is GitLab's), a pull request elsewhere."""
    names = [p.rsplit("/", 1)[-1] for p in paths]
    gitlab = platform == "gitlab" or (
        platform is None and bool(names) and all(n.startswith(".gitlab-ci") for n in names)
    )
    return "merge request" if gitlab else "pull request"


def file_subject(f: SourceFile) -> str:
    return f"file:{f.path}"


def matching(files: Iterable[SourceFile], globs: Iterable[str]) -> list[SourceFile]:
    """Files whose path matches any glob (all files when no glob is given)."""
    pats = list(globs)
    return [f for f in files if not pats or any(fnmatch.fnmatch(f.path, p) for p in pats)]


def glob_match(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def unread(f: SourceFile) -> Outcome | None:
    """The result for a file that was not read at all (too large, not UTF-8, a link out of the repository,
    ...): it fails, naming the file and the fix; None for a file that was read."""
    if not f.error or not f.error.startswith(NOT_READ):
        return None
    return Outcome(file_subject(f), f"cannot read {f.path}", (Violation(f.error, Location(f.path)),))


def skipped(files: RepoFiles) -> tuple[str, tuple[str, ...]]:
    """What discovery left out of a kind (Helm templates, excluded or git-ignored files): a note for the
    message and the evidence listing each."""
    if not files.skipped:
        return "", ()
    n = len(files.skipped)
    return f" ({n} file{'s' if n != 1 else ''} skipped: see evidence)", tuple(f"skipped {s}" for s in files.skipped)
