"""Which repositories a fleet run judges: the filters, then this shard's part.

Shards are picked by a hash of the repository's full name (case-folded), so a repository stays in its shard
when others are added or removed, every repository is in exactly one shard, and no shard needs to know what
the others listed.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlops_gate.errors import UsageError
from mlops_gate.fleet.platforms import Repo

MAX_LIST_BYTES = 4 << 20


@dataclass(frozen=True)
class Filters:
    """Which of the owner's repositories the fleet judges, from --include, --exclude, --topic, --language,
    --include-archived, --include-forks and --repos-file."""

    include: tuple[str, ...] = ()  # globs over the full name (or the last part of it)
    exclude: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # any of these topics (GitHub topics, GitLab topics)
    language: str | None = None
    archived: bool = False  # include archived (and disabled) repositories
    forks: bool = False
    listed: frozenset[str] | None = None  # --repos-file: only these full names (case-folded)


@dataclass(frozen=True)
class Shard:
    """The part of the fleet this run judges: shard `index` of `count` (--shard K/N)."""

    index: int  # 1-based
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n) or int(n) > 10_000:
        raise UsageError(f"--shard {text!r} is not K/N with 1 <= K <= N <= 10000", "e.g. --shard 2/8")
    return Shard(int(k), int(n))


def shard_of(name: str, count: int) -> int:
    digest = hashlib.sha256(name.casefold().encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(repos: Iterable[Repo], shard: Shard) -> list[Repo]:
    return [r for r in repos if shard_of(r.name, shard.count) == shard.index]


def read_list(path: str) -> frozenset[str]:
    """--repos-file: one full name a line; blank lines and `#` comments ignored."""
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--repos-file {path}: cannot read it: {exc}") from None
    if len(raw) > MAX_LIST_BYTES:
        raise UsageError(f"--repos-file {path}: larger than 4 MiB")
    lines = (line.split("#", 1)[0].strip() for line in raw.decode("utf-8", "replace").splitlines())
    return frozenset(line.casefold() for line in lines if line)


def _matches(repo: Repo, globs: tuple[str, ...]) -> bool:
    short = repo.name.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(repo.name, g) or fnmatch.fnmatchcase(short, g) for g in globs)


def why_excluded(repo: Repo, f: Filters) -> str | None:
    """The first filter that leaves the repository out (None: it is judged). Language is checked last, by
    the caller, where the platform needs a request to know it."""
    if f.listed is not None and repo.name.casefold() not in f.listed:
        return "not in --repos-file"
    if repo.archived and not f.archived:
        return "archived"
    if repo.fork and not f.forks:
        return "fork"
    if f.include and not _matches(repo, f.include):
        return "not matched by --include"
    if f.exclude and _matches(repo, f.exclude):
        return "matched by --exclude"
    if f.topics and not set(f.topics) & set(repo.topics):
        return "no --topic"
    return None


def language_excluded(language: str | None, f: Filters) -> bool:
    return f.language is not None and (language or "").casefold() != f.language.casefold()
