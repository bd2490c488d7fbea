"""Fact types of the repository's files (read by mlops_gate.providers.files): each file parsed once, with
the line of every key for findings. A file that could not be read or parsed is kept, with `error` set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_READ = "not read: "  # how SourceFile.error starts when the file was not read at all (size, encoding, link, ...)


@dataclass(frozen=True)
class SourceFile:
    """One repository file as read: parsed documents (YAML/JSON) or text, with lines for findings."""

    path: str  # relative to the repository root, '/'-separated
    format: str  # yaml | json | python | dockerfile | text
    documents: tuple[Any, ...] = ()
    lines: dict[str, int] = field(default_factory=dict)  # key path "0/jobs/test" -> line
    text: str | None = None  # kept for formats judged line by line (Dockerfile, Python)
    error: str | None = None  # why it could not be parsed
    error_line: int | None = None


@dataclass(frozen=True)
class RepoFiles:
    """The files of one category found in the repository (`root` is where they were read)."""

    root: str
    files: tuple[SourceFile, ...] = ()
    skipped: tuple[str, ...] = ()  # candidates left out, each `path: why` (a Helm template, excluded, git-ignored)
