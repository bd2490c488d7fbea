"""Where things are in a parsed repository file: the line of a key path, of a parse error, and why a file
could not be judged."""

from __future__ import annotations

from typing import Any

from mlops_gate import yamlio
from mlops_gate.facts.files import NOT_READ, SourceFile
from mlops_gate.model import Location


def loc(f: SourceFile, *path: object, doc: int = 0) -> Location:
    """The file, at the line of the deepest known prefix of the key path."""
    return Location(f.path, yamlio.line_of(f.lines, *path, doc=doc) if path or f.lines else None)


def error_loc(f: SourceFile) -> Location:
    return Location(f.path, f.error_line)


def problem(f: SourceFile) -> str:
    """Why a file could not be judged, for a violation: `not read: ...` or `cannot parse: ...`."""
    error = f.error or ""
    return error if error.startswith(NOT_READ) else f"cannot parse: {error}"


def first_mapping(f: SourceFile) -> dict[str, Any]:
    """The first document of a file when it is a mapping, else an empty one."""
    doc = f.documents[0] if f.documents else None
    return doc if isinstance(doc, dict) else {}
